import { decodeVerdictHash } from '../lookup/verdict.js';
import { isCountryCode } from '../residency/countries.js';
import { parseRange } from '../telemetry/stats-query.js';
import { LegalError } from './legal-errors.js';
import {
  AUTHORITY_KINDS,
  type AuthorityKind,
  isMember,
  LEGAL_CATEGORIES,
  type LegalCategory,
  type LegalScope,
  type NewLegalRequest,
} from './legal-request.js';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const MAX_SCOPE_ITEMS = 10_000;

/** A calendar date `YYYY-MM-DD` that exists (no 2021-02-30). */
export function isCalendarDate(text: unknown): text is string {
  if (typeof text !== 'string') return false;
  const match = DATE.exec(text);
  if (match === null) return false;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export function invalidRequest(field: string, message: string): LegalError {
  return new LegalError('INVALID_LEGAL_REQUEST', message, { details: { field } });
}

/**
 * Checks a new request beyond its JSON shape, and returns it normalised (hashes in lower
 * case, lists without repeats).
 */
export function validateNewRequest(input: NewLegalRequest, today: string): NewLegalRequest {
  if (!isCalendarDate(input.receivedAt))
    throw invalidRequest('receivedAt', 'receivedAt is a date, YYYY-MM-DD');
  if (input.receivedAt > today) throw invalidRequest('receivedAt', 'receivedAt is in the future');
  if (!isCountryCode(input.requesterCountry)) {
    throw invalidRequest('requesterCountry', 'requesterCountry is an ISO 3166-1 alpha-2 code, e.g. DE');
  }
  if (!isMember<AuthorityKind>(AUTHORITY_KINDS, input.authorityKind)) {
    throw invalidRequest('authorityKind', `authorityKind is one of ${AUTHORITY_KINDS.join(', ')}`);
  }
  if (!isMember<LegalCategory>(LEGAL_CATEGORIES, input.category)) {
    throw invalidRequest('category', `category is one of ${LEGAL_CATEGORIES.join(', ')}`);
  }
  if (input.dueAt !== null) {
    if (!isCalendarDate(input.dueAt)) throw invalidRequest('dueAt', 'dueAt is a date, YYYY-MM-DD');
    if (input.dueAt < input.receivedAt) throw invalidRequest('dueAt', 'dueAt is before receivedAt');
  }
  return { ...input, scope: validateScope(input.scope) };
}

function validateScope(scope: LegalScope): LegalScope {
  const installations = unique(scope.installations);
  for (const id of installations) {
    if (!UUID.test(id)) throw invalidRequest('scope.installations', 'an installation id is a UUID');
  }
  const hashes = unique(scope.hashes.map((h) => h.toLowerCase()));
  for (const hash of hashes) {
    if (decodeVerdictHash(hash) === undefined) {
      throw invalidRequest('scope.hashes', 'a hash is an MD5, SHA-1 or SHA-256 in hex');
    }
  }
  const threats = unique(scope.threats.map((t) => t.trim()).filter((t) => t !== ''));
  for (const [field, list] of [
    ['installations', installations],
    ['hashes', hashes],
    ['threats', threats],
  ] as const) {
    if (list.length > MAX_SCOPE_ITEMS) {
      throw invalidRequest(`scope.${field}`, `a scope names at most ${MAX_SCOPE_ITEMS} ${field}`);
    }
  }
  try {
    parseRange(scope.from ?? undefined, scope.to ?? undefined);
  } catch (cause) {
    throw new LegalError('INVALID_LEGAL_REQUEST', (cause as Error).message, {
      cause,
      details: { field: 'scope.from' },
    });
  }
  return { installations, hashes, threats, from: scope.from, to: scope.to, text: scope.text };
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}

/** The scope's time range as the sites take it. */
export function scopeRange(scope: LegalScope): { from?: Date; to?: Date } {
  return parseRange(scope.from ?? undefined, scope.to ?? undefined);
}
