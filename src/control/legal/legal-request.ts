/** The vocabulary of the legal desk: what authorities ask, and where a request stands. */

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

/** States a request never leaves; reaching one sets `closedAt`. */
export const FINAL_STATES: readonly LegalState[] = [
  'rejected',
  'fulfilled',
  'partially_fulfilled',
  'withdrawn',
];

export const LEGAL_ACTIONS = [
  'start_verification',
  'propose_verification',
  'confirm_verification',
  'reject',
  'fulfil',
  'withdraw',
] as const;
export type LegalAction = (typeof LEGAL_ACTIONS)[number];

export const AUTHORITY_KINDS = ['law_enforcement', 'government', 'court', 'other'] as const;
export type AuthorityKind = (typeof AUTHORITY_KINDS)[number];

export const LEGAL_CATEGORIES = ['user_data', 'technical_expertise'] as const;
export type LegalCategory = (typeof LEGAL_CATEGORIES)[number];

export const REJECTION_REASONS = ['legal_requirements_not_met', 'no_data', 'out_of_scope'] as const;
export type RejectionReason = (typeof REJECTION_REASONS)[number];

/** What a request asks about. Installation ids and free text are personal or confidential. */
export interface LegalScope {
  readonly installations: readonly string[];
  /** MD5, SHA-1 or SHA-256 in lowercase hex. */
  readonly hashes: readonly string[];
  /** Threat (family) names as the verdict database spells them. */
  readonly threats: readonly string[];
  /** Inclusive, `YYYY-MM-DD` or RFC 3339; `null` when open. */
  readonly from: string | null;
  /** Exclusive. */
  readonly to: string | null;
  readonly text: string;
}

export interface NewLegalRequest {
  readonly receivedAt: string;
  readonly requesterCountry: string;
  readonly authorityKind: AuthorityKind;
  readonly authority: string;
  readonly legalBasis: string;
  readonly reference: string;
  readonly category: LegalCategory;
  readonly scope: LegalScope;
  readonly dueAt: string | null;
}

/** The two halves of a four-eyes verification. */
export interface Verification {
  readonly valid: boolean;
  /** ISO 3166-1 alpha-2 codes under whose law the request is valid. */
  readonly jurisdictions: readonly string[];
  readonly note: string;
  /** Token ids. */
  readonly proposedBy: string;
  readonly proposedAt: string;
  readonly confirmedBy: string | null;
  readonly confirmedAt: string | null;
  /**
   * The people behind those tokens, as their commitments (see control/auth/people.ts): four eyes
   * compares these. Absent on proposals made before tokens named people.
   */
  readonly proposedByPerson?: string;
  readonly confirmedByPerson?: string | null;
}

export interface PackageInfo {
  readonly sha256: string;
  readonly bytes: number;
  readonly createdAt: string;
  readonly files: readonly string[];
}

export interface HistoryItem {
  readonly at: string;
  readonly action: LegalAction | 'received' | 'imported' | 'package_downloaded';
  /** The log's actor: role, token id and, for a person's token, the person's commitment. */
  readonly actor: { readonly role: string; readonly token: string; readonly person?: string };
  readonly state: LegalState;
  readonly reason: RejectionReason | null;
  readonly data: Readonly<Record<string, unknown>>;
}

export interface LegalRequest extends NewLegalRequest {
  readonly id: string;
  readonly state: LegalState;
  readonly reason: RejectionReason | null;
  readonly closedAt: string | null;
  /** Token ids of the officers who acted on it. */
  readonly officers: readonly string[];
  readonly verification: Verification | null;
  readonly package: PackageInfo | null;
  /** Loaded from an organisation's past records rather than handled here. */
  readonly historical: boolean;
  readonly createdAt: string;
}

export function isFinal(state: LegalState): boolean {
  return FINAL_STATES.includes(state);
}

/** `YYYY-MM-DD` of an instant, in UTC: the dates of the log and the reports. */
export function utcDate(instant: Date): string {
  return instant.toISOString().slice(0, 10);
}

export function isMember<T extends string>(list: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (list as readonly string[]).includes(value);
}

/** A request's published state as the log carries it: exactly what the reports count. */
export interface LegalRequestState {
  readonly request: string;
  readonly receivedAt: string;
  readonly requesterCountry: string;
  readonly authorityKind: AuthorityKind;
  readonly category: LegalCategory;
  readonly state: LegalState;
  readonly reason: RejectionReason | null;
  readonly closedAt: string | null;
}
