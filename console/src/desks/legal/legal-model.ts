/**
 * The legal desk's vocabulary as the API speaks it (docs/legal.md): the request view, its
 * history, and the state machine's table, so that a page offers only the actions the
 * current state accepts. The server checks every action again; this only decides what to show.
 */

export const LEGAL_STATES = [
  'received',
  'in_verification',
  'verified',
  'rejected',
  'fulfilled',
  'partially_fulfilled',
  'withdrawn',
] as const;
export type LegalState = (typeof LEGAL_STATES)[number];

export const OPEN_STATES: readonly LegalState[] = ['received', 'in_verification', 'verified'];

export type LegalAction =
  | 'start_verification'
  | 'propose_verification'
  | 'confirm_verification'
  | 'reject'
  | 'fulfil'
  | 'withdraw';

export const AUTHORITY_KINDS = ['law_enforcement', 'government', 'court', 'other'] as const;
export const LEGAL_CATEGORIES = ['user_data', 'technical_expertise'] as const;
export const REJECTION_REASONS = ['legal_requirements_not_met', 'no_data', 'out_of_scope'] as const;

/** The states each action may start from (src/control/legal/legal-state-machine.ts). */
const ACTION_FROM: Readonly<Record<LegalAction, readonly LegalState[]>> = {
  start_verification: ['received'],
  propose_verification: ['in_verification'],
  confirm_verification: ['in_verification'],
  reject: ['received', 'in_verification', 'verified'],
  fulfil: ['verified'],
  withdraw: ['received', 'in_verification', 'verified'],
};

export function allows(state: LegalState, action: LegalAction): boolean {
  return ACTION_FROM[action].includes(state);
}

export const STATE_LABELS: Readonly<Record<LegalState, string>> = {
  received: 'Received',
  in_verification: 'In verification',
  verified: 'Verified',
  rejected: 'Rejected',
  fulfilled: 'Fulfilled',
  partially_fulfilled: 'Partially fulfilled',
  withdrawn: 'Withdrawn',
};

export const ACTION_LABELS: Readonly<Record<HistoryItem['action'], string>> = {
  received: 'Registered',
  imported: 'Imported from history',
  start_verification: 'Verification started',
  propose_verification: 'Verification proposed',
  confirm_verification: 'Verification confirmed',
  reject: 'Rejected',
  fulfil: 'Fulfilled',
  withdraw: 'Withdrawn',
  package_downloaded: 'Package downloaded',
};

/** `law_enforcement` → `law enforcement`: the API's words, readable. */
export function words(value: string | null | undefined): string {
  return value === null || value === undefined || value === '' ? '—' : value.replaceAll('_', ' ');
}

export function stateBadgeClass(state: LegalState): string {
  if (state === 'fulfilled' || state === 'verified') return 'badge badge-ok';
  if (state === 'rejected' || state === 'withdrawn') return 'badge badge-danger';
  if (state === 'partially_fulfilled') return 'badge badge-warn';
  return 'badge';
}

export interface LegalScope {
  readonly installations: readonly string[];
  readonly hashes: readonly string[];
  readonly threats: readonly string[];
  readonly from: string | null;
  readonly to: string | null;
  readonly text: string;
}

export interface Verification {
  readonly valid: boolean;
  readonly jurisdictions: readonly string[];
  readonly note: string;
  /** Token ids: the console compares them with the session's own. */
  readonly proposedBy: string;
  readonly proposedAt: string;
  readonly confirmedBy: string | null;
  readonly confirmedAt: string | null;
}

export interface PackageInfo {
  readonly sha256: string;
  readonly bytes: number;
  readonly createdAt?: string;
  readonly files: readonly string[];
  /** Only in the answer to `fulfil`, once. */
  readonly password?: string;
}

export interface HistoryItem {
  readonly at: string;
  readonly action: LegalAction | 'received' | 'imported' | 'package_downloaded';
  readonly actor: { readonly role: string; readonly token: string };
  readonly state: LegalState;
  readonly reason: string | null;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface LegalRequest {
  readonly id: string;
  readonly state: LegalState;
  readonly reason: string | null;
  readonly receivedAt: string;
  readonly requesterCountry: string;
  readonly authorityKind: string;
  readonly authority: string;
  readonly legalBasis: string;
  readonly reference: string;
  readonly category: string;
  readonly scope: LegalScope;
  readonly dueAt: string | null;
  readonly closedAt: string | null;
  readonly officers: readonly string[];
  readonly verification: Verification | null;
  readonly package: PackageInfo | null;
  readonly historical: boolean;
  readonly createdAt: string;
  readonly history?: readonly HistoryItem[];
}

export interface RequestPage {
  readonly requests: readonly LegalRequest[];
  readonly next: string | null;
}

/** What a list shows as a request's name: its reference, else (imported history) its id. */
export function titleOf(request: LegalRequest): string {
  return request.reference === '' ? `Request ${request.id.slice(0, 8)}` : request.reference;
}

export const requestKey = (id: string) => ['legal', 'request', id] as const;
export const LEGAL_KEY = ['legal'] as const;
