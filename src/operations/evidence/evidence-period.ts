import { EvidenceError } from './evidence-errors.js';

/** A period of calendar days, UTC, both ends included. */
export interface EvidencePeriod {
  /** `YYYY-MM-DD`. */
  readonly from: string;
  /** `YYYY-MM-DD`, included. */
  readonly to: string;
  /** The first instant of `from`, ISO 8601. */
  readonly start: string;
  /** The first instant after `to` (exclusive), ISO 8601. */
  readonly end: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DAY_MS = 86_400_000;
/** A pack covers at most about three audit years: longer periods are several packs. */
export const MAX_EVIDENCE_DAYS = 3 * 366;

/**
 * Parses the period an auditor asks about. Both ends are calendar dates (UTC) and both are
 * included: `--from 2026-01-01 --to 2026-06-30` is the first half of 2026.
 *
 * @example
 * parseEvidencePeriod('2026-01-01', '2026-06-30').end; // '2026-07-01T00:00:00.000Z'
 */
export function parseEvidencePeriod(from: unknown, to: unknown): EvidencePeriod {
  const start = dateOf('from', from);
  const last = dateOf('to', to);
  if (start > last) {
    throw new EvidenceError('INVALID_EVIDENCE_PERIOD', `from (${from}) is after to (${to})`);
  }
  const days = (last - start) / DAY_MS + 1;
  if (days > MAX_EVIDENCE_DAYS) {
    throw new EvidenceError(
      'INVALID_EVIDENCE_PERIOD',
      `the period is ${days} days; a pack covers at most ${MAX_EVIDENCE_DAYS}: ask for several`,
    );
  }
  return {
    from: from as string,
    to: to as string,
    start: new Date(start).toISOString(),
    end: new Date(last + DAY_MS).toISOString(),
  };
}

/** Whether an ISO 8601 instant (or a `YYYY-MM-DD` date) falls within the period. */
export function inPeriod(period: EvidencePeriod, instant: string | null | undefined): boolean {
  if (typeof instant !== 'string' || instant === '') return false;
  const at = instant.length === 10 ? `${instant}T00:00:00.000Z` : instant;
  const ms = Date.parse(at);
  return Number.isFinite(ms) && ms >= Date.parse(period.start) && ms < Date.parse(period.end);
}

function dateOf(name: string, value: unknown): number {
  if (typeof value !== 'string' || !DATE.test(value)) {
    throw new EvidenceError('INVALID_EVIDENCE_PERIOD', `${name} must be a date, YYYY-MM-DD (UTC)`);
  }
  const ms = Date.parse(`${value}T00:00:00.000Z`);
  // Date.parse rolls 2026-02-30 over to March: a real date prints back as itself.
  if (!Number.isFinite(ms) || new Date(ms).toISOString().slice(0, 10) !== value) {
    throw new EvidenceError('INVALID_EVIDENCE_PERIOD', `${name} is not a calendar date: ${value}`);
  }
  return ms;
}
