import { ReportError } from './report-errors.js';

/** A reporting period: a calendar year (`2021`) or a half-year (`2021-H2`), in UTC. */
export type Period =
  | { readonly kind: 'year'; readonly year: number }
  | { readonly kind: 'half'; readonly year: number; readonly half: 1 | 2 };

export const PERIOD_PATTERN = '^[0-9]{4}(-H[12])?$';
const PERIOD = new RegExp(PERIOD_PATTERN);

/**
 * Parses `YYYY` or `YYYY-H1|H2`.
 *
 * @example
 * parsePeriod('2021-H2'); // { kind: 'half', year: 2021, half: 2 }
 */
export function parsePeriod(text: string): Period {
  if (!PERIOD.test(text)) {
    throw new ReportError(
      'INVALID_PERIOD',
      `"${text}" is not a period: write a year (2021) or a half (2021-H2)`,
    );
  }
  const year = Number(text.slice(0, 4));
  if (year < 1970) throw new ReportError('INVALID_PERIOD', 'periods start in 1970 or later');
  return text.length === 4
    ? { kind: 'year', year }
    : { kind: 'half', year, half: text.endsWith('1') ? 1 : 2 };
}

export function formatPeriod(period: Period): string {
  return period.kind === 'year' ? String(period.year) : `${period.year}-H${period.half}`;
}

/** First and last calendar dates of the period, `YYYY-MM-DD`, both inclusive. */
export function periodBounds(period: Period): { readonly first: string; readonly last: string } {
  const y = String(period.year).padStart(4, '0');
  if (period.kind === 'year') return { first: `${y}-01-01`, last: `${y}-12-31` };
  return period.half === 1
    ? { first: `${y}-01-01`, last: `${y}-06-30` }
    : { first: `${y}-07-01`, last: `${y}-12-31` };
}

/** Whether a `YYYY-MM-DD` date falls in the period (dates compare as strings). */
export function inPeriod(date: string, period: Period): boolean {
  const { first, last } = periodBounds(period);
  return date >= first && date <= last;
}

/** The period of the same length just before: 2021-H1 for 2021-H2, 2020-H2 for 2021-H1, 2020 for 2021. */
export function previousPeriod(period: Period): Period {
  if (period.kind === 'year') return { kind: 'year', year: period.year - 1 };
  return period.half === 2 ? { ...period, half: 1 } : { kind: 'half', year: period.year - 1, half: 2 };
}

/** The halves of a year, for the year's counting rule (counts add up, countries do not). */
export function halvesOf(period: Period): readonly Period[] {
  if (period.kind === 'half') return [];
  return [
    { kind: 'half', year: period.year, half: 1 },
    { kind: 'half', year: period.year, half: 2 },
  ];
}
