/**
 * The legal and privacy desks' log entries (docs/log.md, "The desks' entries"), as the
 * reports read them. Every entry carries a request's whole published state after the
 * event, so the last entry of a request up to a checkpoint is its state at that checkpoint.
 */

// The vocabulary is the desks' own: a word added there is counted here.
import {
  AUTHORITY_KINDS,
  type AuthorityKind,
  LEGAL_CATEGORIES,
  LEGAL_STATES,
  type LegalCategory,
  type LegalRequestState,
  type LegalState,
  REJECTION_REASONS,
  type RejectionReason,
} from '../legal/legal-request.js';
import { REQUEST_TYPES as PRIVACY_TYPES } from '../privacy/privacy-request.js';

export type { AuthorityKind, LegalCategory, LegalRequestState, LegalState, RejectionReason };
export { AUTHORITY_KINDS, LEGAL_CATEGORIES, LEGAL_STATES, PRIVACY_TYPES, REJECTION_REASONS };
/** How a user's request ended, as the log records it (`outcome`). */
export const PRIVACY_OUTCOMES = ['completed', 'rejected'] as const;
export type PrivacyType = (typeof PRIVACY_TYPES)[number];
export type PrivacyOutcome = (typeof PRIVACY_OUTCOMES)[number];

/** The published state of a user's request about their own data. */
export interface PrivacyRequestState {
  readonly request: string;
  readonly receivedAt: string;
  readonly requestType: PrivacyType;
  readonly outcome: PrivacyOutcome | null;
  readonly closedAt: string | null;
}

/** Every request's last state in a log prefix, and how many desk entries were unreadable. */
export interface DeskStates {
  readonly legal: ReadonlyMap<string, LegalRequestState>;
  readonly privacy: ReadonlyMap<string, PrivacyRequestState>;
  /** `legal.request`/`privacy.request` entries that break the contract: not counted. */
  readonly malformed: number;
}

// Not Buffer: the page's Verify button folds the entries in the browser.
const UTF8 = new TextDecoder();
const DATE = /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$/;
const COUNTRY = /^[A-Z]{2}$/;

/**
 * Folds log entries (canonical JSON bytes, in log order) into each request's last state.
 * Entries of other types are skipped; desk entries that break the contract are counted as
 * malformed and skipped, so that one bad entry cannot hide the others.
 *
 * @example
 * const states = deskStates(await log.readEntries(0, size));
 */
export function deskStates(entries: Iterable<Uint8Array | string>): DeskStates {
  const folder = new DeskStateFolder();
  folder.add(entries);
  return folder.states();
}

/**
 * `deskStates` a chunk at a time, so that reading a long log holds one chunk of entries and
 * the requests' states, never the whole log.
 *
 * @example
 * const folder = new DeskStateFolder();
 * for (let from = 0; from < size; from += 4096) folder.add(await log.readEntries(from, Math.min(size, from + 4096)));
 */
export class DeskStateFolder {
  readonly #legal = new Map<string, LegalRequestState>();
  readonly #privacy = new Map<string, PrivacyRequestState>();
  #malformed = 0;

  add(entries: Iterable<Uint8Array | string>): void {
    for (const bytes of entries) {
      const entry = parseEntry(bytes);
      if (entry === undefined) continue;
      if (entry.type === 'legal.request') {
        const state = legalState(entry);
        if (state === undefined) this.#malformed += 1;
        else this.#legal.set(state.request, state);
      } else if (entry.type === 'privacy.request') {
        const state = privacyState(entry);
        if (state === undefined) this.#malformed += 1;
        else this.#privacy.set(state.request, state);
      }
    }
  }

  states(): DeskStates {
    return { legal: this.#legal, privacy: this.#privacy, malformed: this.#malformed };
  }
}

type Fields = Readonly<Record<string, unknown>>;

function parseEntry(bytes: Uint8Array | string): Fields | undefined {
  const text = typeof bytes === 'string' ? bytes : UTF8.decode(bytes);
  // Cheap pre-filter: most of the control log is tokens, policy and verdicts.
  if (!text.includes('.request"')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Fields)
      : undefined;
  } catch {
    return undefined;
  }
}

function legalState(e: Fields): LegalRequestState | undefined {
  const { request, receivedAt, requesterCountry, authorityKind, category, state, reason, closedAt } = e;
  if (!(isId(request) && isDate(receivedAt) && typeof requesterCountry === 'string')) return undefined;
  if (!COUNTRY.test(requesterCountry)) return undefined;
  if (
    !(
      oneOf(AUTHORITY_KINDS, authorityKind) &&
      oneOf(LEGAL_CATEGORIES, category) &&
      oneOf(LEGAL_STATES, state)
    )
  )
    return undefined;
  const rejected = state === 'rejected';
  if (rejected ? !oneOf(REJECTION_REASONS, reason) : reason !== null) return undefined;
  if (!(closedAt === null || isDate(closedAt))) return undefined;
  return {
    request,
    receivedAt,
    requesterCountry,
    authorityKind,
    category,
    state,
    reason: reason as RejectionReason | null,
    closedAt,
  };
}

function privacyState(e: Fields): PrivacyRequestState | undefined {
  const { request, receivedAt, requestType, outcome, closedAt } = e;
  if (!(isId(request) && isDate(receivedAt) && oneOf(PRIVACY_TYPES, requestType))) return undefined;
  if (!(outcome === null || oneOf(PRIVACY_OUTCOMES, outcome))) return undefined;
  if (!(closedAt === null || isDate(closedAt))) return undefined;
  return { request, receivedAt, requestType, outcome, closedAt };
}

function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= 128;
}

function isDate(value: unknown): value is string {
  return typeof value === 'string' && DATE.test(value);
}

function oneOf<T extends string>(values: readonly T[], value: unknown): value is T {
  return typeof value === 'string' && (values as readonly string[]).includes(value);
}
