/** The kinds of request a user may make about their own data. */
export const REQUEST_TYPES = ['inventory', 'export', 'erasure'] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export const REQUEST_STATES = ['received', 'verified', 'in_progress', 'completed', 'rejected'] as const;
export type RequestState = (typeof REQUEST_STATES)[number];

/** Closed rejection reasons, after the Data Rights Protocol (`DRP` 0.9, "denied" reasons). */
export const REJECTION_REASONS = [
  'insufficient_verification',
  'no_match',
  'claim_not_covered',
  'outside_jurisdiction',
  'too_many_requests',
  'suspected_fraud',
  'other',
] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** The statutory answer period (GDPR art. 12(3): one month; we count 30 days). */
export const DUE_DAYS = 30;

export interface Extension {
  readonly days: number;
  readonly reason: string;
  readonly at: string;
}

/** A request as the desk shows it; `installation` only while the request still names one. */
export interface PrivacyRequest {
  readonly id: string;
  readonly type: RequestType;
  readonly state: RequestState;
  readonly filedBy: 'user' | 'officer' | 'import';
  readonly installation: string | null;
  readonly receivedAt: string;
  readonly dueAt: string;
  readonly overdue: boolean;
  readonly extensions: Extension[];
  readonly closedAt: string | null;
  readonly reason: RejectionReason | null;
  readonly note: string | null;
  readonly verificationNote: string | null;
  /** Steps of the background job done so far, for progress. */
  readonly progress: string[];
  /** The sites the job waits for (unavailable) before its next step; empty otherwise. */
  readonly waitingFor: string[];
  /** The inventory, the export summary or the erasure receipt, once completed. */
  readonly answer: unknown;
}

export function isOpen(state: RequestState): boolean {
  return state !== 'completed' && state !== 'rejected';
}

export function isRequestType(value: string): value is RequestType {
  return (REQUEST_TYPES as readonly string[]).includes(value);
}
