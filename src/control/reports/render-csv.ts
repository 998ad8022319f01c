import { type CsvCell, writeCsv } from '../../shared/csv.js';
import { LEGAL_CATEGORIES, PRIVACY_TYPES, REJECTION_REASONS } from './desk-entries.js';
import type { Report } from './report.js';
import { type CountryRow, sumRejected } from './report-numbers.js';

/** The CSV tables of a report, by name; the first is the one people load most. */
export const CSV_TABLES = [
  'legal-requests',
  'legal-summary',
  'legal-by-country',
  'legal-by-authority',
  'legal-outcomes',
  'privacy-requests',
  'comparison',
  'residency',
] as const;
export type CsvTable = (typeof CSV_TABLES)[number];

type Cell = CsvCell;

/**
 * One CSV table of a report (RFC 4180, CRLF, header row; formulas escaped, see `writeCsv`). `legal-requests` is the
 * country x authority kind x category table, in the columns other vendors publish
 * (period ending, country, CLDR territory code, legal process, requests, share where some
 * data was produced).
 *
 * @example
 * writeFileSync('legal-requests.csv', renderCsv(report, 'legal-requests'));
 */
export function renderCsv(report: Report, table: CsvTable): string {
  return writeCsv(tableRows(report, table));
}

function tableRows(r: Report, table: CsvTable): Cell[][] {
  const end = r.to;
  const legal = r.legal;
  switch (table) {
    case 'legal-requests':
      return [
        [
          'period_ending',
          'country',
          'cldr_territory_code',
          'authority_kind',
          'category',
          'requests',
          'fulfilled',
          'partially_fulfilled',
          'rejected',
          'withdrawn',
          'open',
          'percent_some_data_produced',
        ],
        ...legal.table.map((t) => [
          end,
          nameOf(r, t.country),
          t.country,
          t.authorityKind,
          t.category,
          t.requests,
          t.fulfilled,
          t.partially_fulfilled,
          t.rejected,
          t.withdrawn,
          t.open,
          t.someDataShare,
        ]),
      ];
    case 'legal-summary':
      return [
        ['period', 'metric', 'value'],
        [r.period, 'requests', legal.total],
        [r.period, 'countries', legal.countries],
        ...LEGAL_CATEGORIES.map((c): Cell[] => [r.period, c, legal.byCategory[c]]),
        [r.period, 'rejected', legal.rejected],
        [r.period, 'rejected_percent', legal.rejectedShare.value],
        [r.period, 'rejected_percent_is_lower_bound', legal.rejectedShare.atLeast],
        [r.period, 'open', legal.open],
        [r.period, 'user_requests', r.privacy.total],
      ];
    case 'legal-by-country':
      return [
        [
          'period_ending',
          'country',
          'cldr_territory_code',
          'requests',
          ...LEGAL_CATEGORIES,
          'rejected',
          'open',
        ],
        ...legal.byCountry.map((c) => [end, ...countryCells(c)]),
      ];
    case 'legal-by-authority':
      return [
        ['period_ending', 'authority_kind', 'requests'],
        ...Object.entries(legal.byAuthorityKind).map(([kind, n]) => [end, kind, n]),
      ];
    case 'legal-outcomes':
      return [
        ['period_ending', 'category', 'outcome', 'reason', 'requests'],
        ...(['all', ...LEGAL_CATEGORIES] as const).flatMap((category) => {
          const o = category === 'all' ? legal.byOutcome : legal.byCategoryOutcome[category];
          return [
            [end, category, 'fulfilled', '', o.fulfilled],
            [end, category, 'partially_fulfilled', '', o.partially_fulfilled],
            ...REJECTION_REASONS.map((reason): Cell[] => [
              end,
              category,
              'rejected',
              reason,
              o.rejected[reason],
            ]),
            [end, category, 'withdrawn', '', o.withdrawn],
            [end, category, 'open', '', o.open],
          ];
        }),
      ];
    case 'privacy-requests':
      return [
        ['period_ending', 'type', 'requests', 'completed', 'rejected', 'open'],
        ...PRIVACY_TYPES.map((t): Cell[] => {
          const o = r.privacy.byTypeOutcome[t];
          return [end, t, r.privacy.byType[t], o.completed, o.rejected, o.open];
        }),
      ];
    case 'comparison':
      return [
        ['metric', 'period', 'previous_period', 'value', 'previous_value'],
        ...comparisonRows(r).map(([metric, now, before]): Cell[] => [
          metric,
          r.period,
          r.previous.period,
          now,
          before,
        ]),
      ];
    case 'residency':
      return [
        ['site', 'installations', 'percent', 'source'],
        ...r.residency.bySite.map((s): Cell[] => [
          s.site,
          s.installations,
          s.share,
          'registry at report time',
        ]),
      ];
  }
}

/** A requester country's row (name, code, total, per category, rejected, open): every format. */
export function countryCells(c: CountryRow): (string | number)[] {
  return [c.name, c.country, c.total, ...LEGAL_CATEGORIES.map((k) => c.byCategory[k]), c.rejected, c.open];
}

/** Metric, this period, the previous one: shared by every format. */
export function comparisonRows(r: Report): [string, number, number][] {
  const p = r.previous;
  return [
    ['legal requests', r.legal.total, p.legal.total],
    ['requester countries', r.legal.countries, p.legal.countries],
    ['technical expertise', r.legal.byCategory.technical_expertise, p.legal.byCategory.technical_expertise],
    ['user data', r.legal.byCategory.user_data, p.legal.byCategory.user_data],
    ['rejected', sumRejected(r.legal.byOutcome), p.legal.rejected],
    ['user requests (privacy)', r.privacy.total, p.privacy.total],
  ];
}

function nameOf(r: Report, code: string): string {
  return r.legal.byCountry.find((c) => c.country === code)?.name ?? code;
}
