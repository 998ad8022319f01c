/** The privacy desk's API shapes, as `GET /v1/privacy-requests/{id}` answers them. */

import type { ReceiptLog } from './verify-receipt';

export const REQUEST_TYPES = ['inventory', 'export', 'erasure'] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export const REQUEST_STATES = ['received', 'verified', 'in_progress', 'completed', 'rejected'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** The reasons the API accepts for a rejection: the Data Rights Protocol's. */
export const REJECTION_REASONS = [
  { code: 'insufficient_verification', label: 'Insufficient verification' },
  { code: 'no_match', label: 'No match' },
  { code: 'claim_not_covered', label: 'Claim not covered' },
  { code: 'outside_jurisdiction', label: 'Outside jurisdiction' },
  { code: 'too_many_requests', label: 'Too many requests' },
  { code: 'suspected_fraud', label: 'Suspected fraud' },
  { code: 'other', label: 'Other' },
] as const;

export const STATE_LABELS: Record<RequestState, string> = {
  received: 'Received',
  verified: 'Verified',
  in_progress: 'In progress',
  completed: 'Completed',
  rejected: 'Rejected',
};

export interface PrivacyRequest {
  readonly id: string;
  readonly type: RequestType;
  readonly state: RequestState;
  readonly filedBy: string;
  readonly installation: string | null;
  readonly receivedAt: string;
  readonly dueAt: string;
  readonly overdue: boolean;
  readonly extensions: readonly { readonly days: number; readonly reason: string; readonly at: string }[];
  readonly closedAt: string | null;
  readonly reason: string | null;
  readonly note: string | null;
  readonly verificationNote: string | null;
  readonly progress: readonly string[];
  readonly waitingFor: readonly string[];
  readonly answer: unknown;
  readonly receiptToken?: string;
}

export interface RequestPage {
  readonly requests: readonly PrivacyRequest[];
  readonly next: string | null;
}

export interface InventoryCategory {
  readonly category: string;
  readonly records: number;
  readonly since: string | null;
  readonly retention: string;
}

export interface Inventory {
  readonly country: string;
  readonly product: string;
  readonly registeredAt: string;
  readonly policy: { readonly version: number; readonly effectiveFrom: string | null };
  readonly control: readonly InventoryCategory[];
  readonly sites: readonly {
    readonly site: string;
    readonly jurisdiction: string;
    readonly since: string;
    readonly categories: readonly InventoryCategory[];
  }[];
}

export interface ExportSummary {
  readonly download: string;
  readonly preparedOn: string;
  readonly sites: readonly {
    readonly site: string;
    readonly submissions: number;
    readonly samples: number;
    readonly events: number;
  }[];
}

export interface SiteReceipt {
  readonly site: string;
  readonly jurisdiction: string;
  readonly removed: readonly { readonly store: string; readonly what: string; readonly records: number }[];
  readonly retained: readonly { readonly store: string; readonly what: string; readonly why: string }[];
}

export interface ErasureReceipt {
  readonly request: string;
  readonly sites: readonly SiteReceipt[];
  readonly control: SiteReceipt;
  readonly log: ReceiptLog;
}

export function isFinal(state: RequestState): boolean {
  return state === 'completed' || state === 'rejected';
}

export function requestPath(id: string): string {
  return `/v1/privacy-requests/${encodeURIComponent(id)}`;
}

export function typeLabel(type: RequestType): string {
  return type === 'inventory' ? 'Inventory' : type === 'export' ? 'Export' : 'Erasure';
}

export function reasonLabel(code: string | null): string {
  return REJECTION_REASONS.find((r) => r.code === code)?.label ?? code ?? '';
}
