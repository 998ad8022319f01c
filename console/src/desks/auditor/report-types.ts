/*
 * The members of a published report (`report.json`, docs/report-schema.json) and of the
 * public index (`/reports/index.json`) that the desk shows.
 */

export type Counts = Readonly<Record<string, number>>;

export interface LegalOutcomes {
  readonly fulfilled: number;
  readonly partially_fulfilled: number;
  readonly rejected: Counts;
  readonly withdrawn: number;
  readonly open: number;
}

export interface Share {
  readonly value: number;
  readonly atLeast: boolean;
}

export interface PeriodSummary {
  readonly period: string;
  readonly legal: {
    readonly total: number;
    readonly countries: number;
    readonly byCategory: Counts;
    readonly rejected: number;
    readonly rejectedShare: Share;
    readonly open: number;
  };
  readonly privacy: { readonly total: number; readonly byType: Counts };
}

export interface PublishedReport {
  readonly period: string;
  readonly from: string;
  readonly to: string;
  readonly generatedAt: string;
  readonly legal: {
    readonly total: number;
    readonly countries: number;
    readonly byCountry: readonly {
      readonly country: string;
      readonly name: string;
      readonly total: number;
      readonly byCategory: Counts;
      readonly rejected: number;
      readonly open: number;
    }[];
    readonly byCategory: Counts;
    readonly byAuthorityKind: Counts;
    readonly byOutcome: LegalOutcomes;
    readonly rejected: number;
    readonly rejectedShare: Share;
    readonly open: number;
  };
  readonly privacy: {
    readonly total: number;
    readonly byType: Counts;
    readonly byTypeOutcome: Readonly<
      Record<string, { readonly completed: number; readonly rejected: number; readonly open: number }>
    >;
  };
  readonly halves: readonly PeriodSummary[];
  readonly previous: PeriodSummary;
  readonly malformedEntries: number;
  readonly checkpoint: { readonly origin: string; readonly size: number; readonly rootHash: string };
  readonly residency: {
    readonly installations: number;
    readonly bySite: readonly {
      readonly site: string;
      readonly installations: number;
      readonly share: number;
    }[];
  };
}

export interface ReportIndex {
  readonly reports: readonly {
    readonly period: string;
    readonly publishedAt: string | null;
    readonly page: string;
    readonly json: string;
    readonly requests: number;
    readonly countries: number;
    readonly userRequests: number;
  }[];
  readonly checkpoint: { readonly origin: string; readonly size: number; readonly rootHash: string } | null;
  readonly log: string;
  readonly key: string;
  readonly files: readonly string[];
}

/** `law_enforcement` → `Law enforcement`. */
export function labelOf(code: string): string {
  const words = code.replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/** A year (`2021`) or a half (`2021-H1`): reports compare periods of the same length. */
export function isYear(period: string): boolean {
  return /^[0-9]{4}$/.test(period);
}
