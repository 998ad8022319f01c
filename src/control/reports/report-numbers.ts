import { countryName } from '../residency/countries.js';
import {
  AUTHORITY_KINDS,
  type AuthorityKind,
  type DeskStates,
  LEGAL_CATEGORIES,
  type LegalCategory,
  type LegalRequestState,
  PRIVACY_TYPES,
  type PrivacyRequestState,
  type PrivacyType,
  REJECTION_REASONS,
  type RejectionReason,
} from './desk-entries.js';
import { formatPeriod, halvesOf, inPeriod, type Period, periodBounds, previousPeriod } from './period.js';

/** An exclusive partition of requests by outcome: its members sum to the requests counted. */
export interface LegalOutcomes {
  readonly fulfilled: number;
  readonly partially_fulfilled: number;
  readonly rejected: Readonly<Record<RejectionReason, number>>;
  readonly withdrawn: number;
  readonly open: number;
}

export interface Share {
  /** Whole percent, rounded down (so "at least" stays true). */
  readonly value: number;
  /** True while any request of the period is still open: the share can only grow. */
  readonly atLeast: boolean;
}

export interface CountryRow {
  readonly country: string;
  readonly name: string;
  readonly total: number;
  readonly byCategory: Readonly<Record<LegalCategory, number>>;
  readonly rejected: number;
  readonly open: number;
}

/** One cell of the country x authority kind x category table, with its outcomes. */
export interface TableRow {
  readonly country: string;
  readonly authorityKind: AuthorityKind;
  readonly category: LegalCategory;
  readonly requests: number;
  readonly fulfilled: number;
  readonly partially_fulfilled: number;
  readonly rejected: number;
  readonly withdrawn: number;
  readonly open: number;
  /** Percent of the requests where some data was produced (fulfilled or partially), one decimal. */
  readonly someDataShare: number;
}

export interface LegalNumbers {
  readonly total: number;
  /** Distinct requester countries: a union, never a sum. */
  readonly countries: number;
  readonly byCountry: readonly CountryRow[];
  readonly byCategory: Readonly<Record<LegalCategory, number>>;
  readonly byAuthorityKind: Readonly<Record<AuthorityKind, number>>;
  readonly byOutcome: LegalOutcomes;
  readonly byCategoryOutcome: Readonly<Record<LegalCategory, LegalOutcomes>>;
  readonly rejected: number;
  readonly rejectedShare: Share;
  readonly open: number;
  readonly table: readonly TableRow[];
}

export interface PrivacyOutcomes {
  readonly completed: number;
  readonly rejected: number;
  readonly open: number;
}

export interface PrivacyNumbers {
  readonly total: number;
  readonly byType: Readonly<Record<PrivacyType, number>>;
  readonly byOutcome: PrivacyOutcomes;
  readonly byTypeOutcome: Readonly<Record<PrivacyType, PrivacyOutcomes>>;
}

/** The headline figures of another period, for comparisons and the halves of a year. */
export interface PeriodSummary {
  readonly period: string;
  readonly legal: {
    readonly total: number;
    readonly countries: number;
    readonly byCategory: Readonly<Record<LegalCategory, number>>;
    readonly rejected: number;
    readonly rejectedShare: Share;
    readonly open: number;
  };
  readonly privacy: { readonly total: number; readonly byType: Readonly<Record<PrivacyType, number>> };
}

/** Everything in a report that anyone can recompute from the control-plane log. */
export interface ReportNumbers {
  readonly period: string;
  readonly from: string;
  readonly to: string;
  readonly legal: LegalNumbers;
  readonly privacy: PrivacyNumbers;
  readonly halves: readonly PeriodSummary[];
  readonly previous: PeriodSummary;
  /** Desk entries that broke the log contract and were not counted (docs/reports.md). */
  readonly malformedEntries: number;
}

/**
 * The report's numbers from the desks' states at one checkpoint: the one computation that
 * the server and `glasshouse report verify` share. A request counts in the period of its
 * received date; it is open if its last state is not final.
 *
 * @example
 * const numbers = computeReportNumbers(deskStates(entries), parsePeriod('2021-H2'));
 */
export function computeReportNumbers(states: DeskStates, period: Period): ReportNumbers {
  const legal = [...states.legal.values()];
  const privacy = [...states.privacy.values()];
  const { first, last } = periodBounds(period);
  return {
    period: formatPeriod(period),
    from: first,
    to: last,
    legal: legalNumbers(legal.filter((r) => inPeriod(r.receivedAt, period))),
    privacy: privacyNumbers(privacy.filter((r) => inPeriod(r.receivedAt, period))),
    halves: halvesOf(period).map((half) => summarize(legal, privacy, half)),
    previous: summarize(legal, privacy, previousPeriod(period)),
    malformedEntries: states.malformed,
  };
}

/** The headline figures and the countries of one period, for another period's page. */
export function periodContext(
  states: DeskStates,
  period: Period,
): { readonly summary: PeriodSummary; readonly byCountry: readonly CountryRow[] } {
  const legal = [...states.legal.values()];
  return {
    summary: summarize(legal, [...states.privacy.values()], period),
    byCountry: legalNumbers(legal.filter((r) => inPeriod(r.receivedAt, period))).byCountry,
  };
}

function summarize(
  legal: readonly LegalRequestState[],
  privacy: readonly PrivacyRequestState[],
  period: Period,
): PeriodSummary {
  const l = legalNumbers(legal.filter((r) => inPeriod(r.receivedAt, period)));
  const p = privacyNumbers(privacy.filter((r) => inPeriod(r.receivedAt, period)));
  return {
    period: formatPeriod(period),
    legal: {
      total: l.total,
      countries: l.countries,
      byCategory: l.byCategory,
      rejected: l.rejected,
      rejectedShare: l.rejectedShare,
      open: l.open,
    },
    privacy: { total: p.total, byType: p.byType },
  };
}

type MutableOutcomes = {
  fulfilled: number;
  partially_fulfilled: number;
  rejected: Record<RejectionReason, number>;
  withdrawn: number;
  open: number;
};

function legalNumbers(requests: readonly LegalRequestState[]): LegalNumbers {
  const byCategory = zeros(LEGAL_CATEGORIES);
  const byAuthorityKind = zeros(AUTHORITY_KINDS);
  const byOutcome = emptyOutcomes();
  const byCategoryOutcome = { user_data: emptyOutcomes(), technical_expertise: emptyOutcomes() };
  const countries = new Map<
    string,
    { byCategory: Record<LegalCategory, number>; rejected: number; open: number }
  >();
  const cells = new Map<string, { key: [string, AuthorityKind, LegalCategory]; outcomes: MutableOutcomes }>();
  for (const r of requests) {
    byCategory[r.category] += 1;
    byAuthorityKind[r.authorityKind] += 1;
    addOutcome(byOutcome, r);
    addOutcome(byCategoryOutcome[r.category], r);
    let country = countries.get(r.requesterCountry);
    if (country === undefined) {
      country = { byCategory: zeros(LEGAL_CATEGORIES), rejected: 0, open: 0 };
      countries.set(r.requesterCountry, country);
    }
    country.byCategory[r.category] += 1;
    if (r.state === 'rejected') country.rejected += 1;
    if (isOpen(r)) country.open += 1;
    const key = `${r.requesterCountry}|${r.authorityKind}|${r.category}`;
    let cell = cells.get(key);
    if (cell === undefined) {
      cell = { key: [r.requesterCountry, r.authorityKind, r.category], outcomes: emptyOutcomes() };
      cells.set(key, cell);
    }
    addOutcome(cell.outcomes, r);
  }
  const rejected = sumRejected(byOutcome);
  const total = requests.length;
  return {
    total,
    countries: countries.size,
    byCountry: [...countries.entries()]
      .map(([code, c]) => ({
        country: code,
        name: countryName(code) ?? code,
        total: c.byCategory.user_data + c.byCategory.technical_expertise,
        byCategory: c.byCategory,
        rejected: c.rejected,
        open: c.open,
      }))
      .sort((a, b) => b.total - a.total || compare(a.country, b.country)),
    byCategory,
    byAuthorityKind,
    byOutcome,
    byCategoryOutcome,
    rejected,
    rejectedShare: {
      value: total === 0 ? 0 : Math.floor((rejected * 100) / total),
      atLeast: byOutcome.open > 0,
    },
    open: byOutcome.open,
    table: [...cells.values()]
      .map(({ key: [country, authorityKind, category], outcomes: o }) => {
        const requests = o.fulfilled + o.partially_fulfilled + sumRejected(o) + o.withdrawn + o.open;
        return {
          country,
          authorityKind,
          category,
          requests,
          fulfilled: o.fulfilled,
          partially_fulfilled: o.partially_fulfilled,
          rejected: sumRejected(o),
          withdrawn: o.withdrawn,
          open: o.open,
          someDataShare: Math.round(((o.fulfilled + o.partially_fulfilled) * 1000) / requests) / 10,
        };
      })
      .sort(
        (a, b) =>
          compare(a.country, b.country) ||
          compare(a.authorityKind, b.authorityKind) ||
          compare(a.category, b.category),
      ),
  };
}

function privacyNumbers(requests: readonly PrivacyRequestState[]): PrivacyNumbers {
  const byType = zeros(PRIVACY_TYPES);
  const byOutcome = { completed: 0, rejected: 0, open: 0 };
  const byTypeOutcome = {
    inventory: { completed: 0, rejected: 0, open: 0 },
    export: { completed: 0, rejected: 0, open: 0 },
    erasure: { completed: 0, rejected: 0, open: 0 },
  };
  for (const r of requests) {
    byType[r.requestType] += 1;
    const outcome = r.outcome ?? 'open';
    byOutcome[outcome] += 1;
    byTypeOutcome[r.requestType][outcome] += 1;
  }
  return { total: requests.length, byType, byOutcome, byTypeOutcome };
}

/** Received, in verification or verified: not final yet. */
export function isOpen(r: LegalRequestState): boolean {
  return r.state === 'received' || r.state === 'in_verification' || r.state === 'verified';
}

function addOutcome(o: MutableOutcomes, r: LegalRequestState): void {
  switch (r.state) {
    case 'fulfilled':
    case 'partially_fulfilled':
    case 'withdrawn':
      o[r.state] += 1;
      return;
    case 'rejected':
      // The contract gives every rejection a reason; deskStates drops entries without one.
      o.rejected[r.reason ?? 'legal_requirements_not_met'] += 1;
      return;
    case 'received':
    case 'in_verification':
    case 'verified':
      o.open += 1;
      return;
  }
}

export function sumRejected(o: Pick<LegalOutcomes, 'rejected'>): number {
  return REJECTION_REASONS.reduce((sum, reason) => sum + o.rejected[reason], 0);
}

function emptyOutcomes(): MutableOutcomes {
  return { fulfilled: 0, partially_fulfilled: 0, rejected: zeros(REJECTION_REASONS), withdrawn: 0, open: 0 };
}

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
