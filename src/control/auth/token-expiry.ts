import { AuthError } from './auth-errors.js';

const UNIT_MS = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 } as const;
const DURATION = /^([1-9][0-9]{0,4})([hdw])$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

/**
 * When a token made now expires: a duration (`12h`, `90d`, `26w`) from `now`, a date
 * (`2027-03-01`: the start of that day, UTC) or an ISO 8601 date and time with its offset.
 * It must lie in the future.
 *
 * @example
 * parseExpiry('90d', new Date('2026-01-01T00:00:00Z')); // 2026-04-01T00:00:00.000Z
 */
export function parseExpiry(text: string, now: Date): Date {
  const duration = DURATION.exec(text);
  const expires = duration
    ? new Date(now.getTime() + Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS])
    : DATE.test(text)
      ? exactDate(`${text}T00:00:00Z`, text)
      : DATE_TIME.test(text)
        ? new Date(text)
        : undefined;
  if (expires === undefined || Number.isNaN(expires.getTime())) {
    throw invalid(`"${text}" is neither a duration (90d, 12h, 26w) nor an ISO 8601 date`);
  }
  if (expires.getTime() <= now.getTime()) {
    throw invalid(`${expires.toISOString()} is not in the future`);
  }
  return expires;
}

/** `Date` rolls 2027-02-30 over to March; a day that does not exist is refused instead. */
function exactDate(iso: string, day: string): Date | undefined {
  const date = new Date(iso);
  return !Number.isNaN(date.getTime()) && date.toISOString().slice(0, 10) === day ? date : undefined;
}

function invalid(message: string): AuthError {
  return new AuthError('INVALID_TOKEN_REQUEST', `--expires: ${message}`, { details: { field: 'expires' } });
}
