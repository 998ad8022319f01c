import { AUTHORITY_KINDS, LEGAL_CATEGORIES, PRIVACY_TYPES } from './desk-entries.js';
import { CSV_TABLES, type CsvTable, comparisonRows, countryCells, renderCsv } from './render-csv.js';
import { change, outcomeRows } from './render-markdown.js';
import type { Report } from './report.js';
import type { CountryRow } from './report-numbers.js';
import type { ReportContext } from './report-service.js';
import {
  COUNTING_RULES,
  DEFINITIONS,
  headline,
  label,
  periodTitle,
  RESIDENCY_CAVEAT,
  shareText,
  type VerifyTarget,
  verifyCommand,
} from './report-text.js';
import { barChart, stackedChart } from './svg-charts.js';

export interface HtmlOptions {
  /**
   * `inline` embeds the CSV and JSON in the download links (data: URLs), so the page works
   * alone; `files` links to the files `report build --out` writes beside it.
   */
  readonly links?: 'inline' | 'files';
  /** The real server and key for the verify command (placeholders without). */
  readonly verify?: VerifyTarget;
  /** The previous period by country and the trend over published periods. */
  readonly context?: ReportContext;
  /** A link back to the index of published reports (relative), on a published page. */
  readonly indexHref?: string;
}

/** File names of a report written to a directory (`report build --out`). */
export const REPORT_FILES = {
  json: 'report.json',
  markdown: 'report.md',
  html: 'index.html',
  csv: (table: CsvTable) => `${table}.csv`,
} as const;

const TONES = ['s0', 's1', 's2', 's3', 's4', 's5', 's6'] as const;

/**
 * The report as one self-contained HTML page: no script and no external request (a
 * Content-Security-Policy forbids any), charts as inline SVG, tables with captions and
 * header scopes, and download links to the CSV tables and the JSON.
 *
 * @example
 * writeFileSync('index.html', renderHtml(report, { links: 'files' }));
 */
export function renderHtml(r: Report, options: HtmlOptions = {}): string {
  const l = r.legal;
  const body = [
    `<header>${options.indexHref === undefined ? '' : `<p><a href="${esc(options.indexHref)}">All published reports</a></p>`}<h1>${esc(periodTitle(r))}</h1><p class="lead">${esc(headline(r))}</p></header>`,
    figures(r),
    section(
      'Counting rules',
      `<ul>${COUNTING_RULES.map((rule) => `<li>${esc(rule)}</li>`).join('')}</ul>`,
      'rules',
    ),
    section(
      'Definitions',
      `<dl class="definitions">${DEFINITIONS.map(([term, meaning]) => `<dt>${esc(term)}</dt><dd>${esc(meaning)}</dd>`).join('')}</dl>`,
      'definitions',
    ),
    section(
      'Requests by country',
      barChart(
        `Legal requests by requester country, ${r.period}`,
        l.byCountry.map((c) => ({ label: c.name, value: c.total })),
      ) + countryTable(r, options.context?.previousByCountry),
      'countries',
    ),
    section(
      'Outcomes',
      stackedChart(
        `Outcomes of legal requests by category, ${r.period}`,
        (['all', ...LEGAL_CATEGORIES] as const).map((k) => ({
          label: k === 'all' ? 'all requests' : label(k),
          segments: outcomeRows(k === 'all' ? l.byOutcome : l.byCategoryOutcome[k]).map(
            ([name, value], i) => ({
              label: name,
              value,
              tone: TONES[i] ?? 's6',
            }),
          ),
        })),
      ) +
        table(
          `Outcomes of legal requests, ${r.period} (each column sums to its total)`,
          ['Outcome', 'All', ...LEGAL_CATEGORIES.map(label)],
          [
            ...outcomeRows(l.byOutcome).map(([name, all], i) => [
              name,
              all,
              ...LEGAL_CATEGORIES.map((k) => outcomeRows(l.byCategoryOutcome[k])[i]![1]),
            ]),
            ['total', l.total, ...LEGAL_CATEGORIES.map((k) => l.byCategory[k])],
          ],
          'outcomes',
        ) +
        `<p>Rejected: ${l.rejected} of ${l.total}, <strong>${esc(shareText(l.rejectedShare))}</strong>.</p>` +
        table(
          `Legal requests by authority, ${r.period}`,
          ['Authority', 'Requests'],
          AUTHORITY_KINDS.map((k) => [label(k), l.byAuthorityKind[k]]),
          'by-authority',
        ),
      'outcomes',
    ),
    section(
      'User requests about their own data',
      table(
        `User requests by type and outcome, ${r.period}`,
        ['Type', 'Requests', 'Completed', 'Rejected', 'Open'],
        [
          ...PRIVACY_TYPES.map((t) => {
            const o = r.privacy.byTypeOutcome[t];
            return [t, r.privacy.byType[t], o.completed, o.rejected, o.open];
          }),
          [
            'total',
            r.privacy.total,
            r.privacy.byOutcome.completed,
            r.privacy.byOutcome.rejected,
            r.privacy.byOutcome.open,
          ],
        ],
        'privacy',
      ),
      'privacy',
    ),
    r.halves.length === 0
      ? ''
      : section(
          `The halves of ${r.period}`,
          table(
            `Halves of ${r.period}: counts add up, countries are a distinct union`,
            [
              'Period',
              'Requests',
              'Countries',
              'Technical expertise',
              'User data',
              'Rejected',
              'User requests',
            ],
            [...r.halves, r].map((h) => [
              h.period,
              h.legal.total,
              h.legal.countries,
              h.legal.byCategory.technical_expertise,
              h.legal.byCategory.user_data,
              h.legal.rejected,
              h.privacy.total,
            ]),
            'halves',
          ),
          'halves',
        ),
    trend(r, options.context),
    section(
      `Compared with ${r.previous.period}`,
      table(
        `${r.period} compared with ${r.previous.period}`,
        ['Metric', r.period, r.previous.period, 'Change'],
        comparisonRows(r).map(([m, now, before]) => [m, now, before, change(now, before)]),
        'comparison',
      ),
      'comparison',
    ),
    section(
      'Where the data lives',
      `<p class="note">${esc(RESIDENCY_CAVEAT)}</p>` +
        residency(r) +
        (r.residency.policy === null
          ? ''
          : `<p>Policy in force: version ${r.residency.policy.version} since ${esc(r.residency.policy.effectiveFrom)}, default site ${esc(r.residency.policy.default)}; ${r.residency.policy.assign.map((a) => esc(`${[...a.regions, ...a.countries].join(', ')} → ${a.site}`)).join('; ')}.</p>`),
      'residency',
    ),
    section('Downloads', downloads(r, options.links ?? 'inline'), 'downloads'),
    section(
      'Checkpoint',
      `<p>Computed at <code>${esc(r.checkpoint.origin)}</code>, tree size ${r.checkpoint.size}, root <code>${esc(r.checkpoint.rootHash)}</code>. Anyone can recompute every number above from the log:</p><pre class="wrap" id="verify-command">${esc(verifyCommand(r, options.verify))}</pre><pre class="wrap" id="checkpoint-note">${esc(r.checkpoint.note)}</pre><p>Generated ${esc(r.generatedAt)}.</p>`,
      'checkpoint',
    ),
  ];
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>${esc(periodTitle(r))}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body.join('\n')}
</main>
</body>
</html>
`;
}

/** The countries of the period, with the change against the previous one when it is known. */
function countryTable(r: Report, previous: readonly CountryRow[] | undefined): string {
  const caption = `Legal requests by requester country, ${r.period}`;
  const header = ['Country', 'Code', 'Requests', ...LEGAL_CATEGORIES.map(label), 'Rejected', 'Open'];
  if (previous === undefined)
    return table(caption, header, r.legal.byCountry.map(countryCells), 'by-country');
  const before = new Map(previous.map((c) => [c.country, c.total]));
  const rows = r.legal.byCountry.map((c) => {
    const was = before.get(c.country) ?? 0;
    return [...countryCells(c), was, change(c.total, was)];
  });
  const gone = previous
    .filter((p) => !r.legal.byCountry.some((c) => c.country === p.country))
    .map((p) => [p.name, p.country, 0, ...LEGAL_CATEGORIES.map(() => 0), 0, 0, p.total, change(0, p.total)]);
  return table(
    `${caption}, and the change against ${r.previous.period}`,
    [...header, r.previous.period, 'Change'],
    [...rows, ...gone],
    'by-country',
  );
}

/** Every published period of the same kind, oldest first: requests and outcomes over time. */
function trend(r: Report, context: ReportContext | undefined): string {
  const periods = context?.trend ?? [];
  if (periods.length < 2) return '';
  return section(
    'Trend over the published periods',
    barChart(
      'Legal requests per published period',
      periods.map((p) => ({ label: p.period, value: p.legal.total })),
    ) +
      table(
        `Published periods: ${periods[0]!.period} to ${periods[periods.length - 1]!.period}`,
        ['Period', 'Requests', 'Countries', 'Technical expertise', 'User data', 'Rejected', 'User requests'],
        periods.map((p) => [
          p.period === r.period ? `${p.period} (this report)` : p.period,
          p.legal.total,
          p.legal.countries,
          p.legal.byCategory.technical_expertise,
          p.legal.byCategory.user_data,
          shareText(p.legal.rejectedShare),
          p.privacy.total,
        ]),
        'trend',
      ),
    'trend',
  );
}

/** Only sites that hold something: a row of empty bars says nothing. */
function residency(r: Report): string {
  const sites = r.residency.bySite.filter((s) => s.installations > 0);
  if (sites.length === 0) return '<p>No installation is registered yet.</p>';
  return (
    barChart(
      'Installations per site',
      sites.map((s) => ({ label: `${s.site} (${s.share}%)`, value: s.installations })),
    ) +
    table(
      'Installations per site',
      ['Site', 'Installations', 'Share'],
      sites.map((s) => [s.site, s.installations, `${s.share}%`]),
      'residency',
    )
  );
}

function figures(r: Report): string {
  const items: [string, string][] = [
    ['requests', String(r.legal.total)],
    ['countries', String(r.legal.countries)],
    ['technical expertise', String(r.legal.byCategory.technical_expertise)],
    ['user data', String(r.legal.byCategory.user_data)],
    ['rejected', shareText(r.legal.rejectedShare)],
    ['user requests', String(r.privacy.total)],
  ];
  return `<dl class="figures" id="figures">${items.map(([k, v]) => `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`).join('')}</dl>`;
}

function downloads(r: Report, links: 'inline' | 'files'): string {
  const href = (name: string, type: string, content: string) =>
    links === 'files'
      ? name
      : `data:${type};charset=utf-8;base64,${Buffer.from(content, 'utf8').toString('base64')}`;
  const items = [
    `<li><a download="${REPORT_FILES.json}" href="${href(REPORT_FILES.json, 'application/json', `${JSON.stringify(r, null, 2)}\n`)}">${REPORT_FILES.json}</a> (the report, schema version ${r.schemaVersion})</li>`,
    ...CSV_TABLES.map((t) => {
      const name = REPORT_FILES.csv(t);
      return `<li><a download="${name}" href="${href(name, 'text/csv', renderCsv(r, t))}">${name}</a></li>`;
    }),
  ];
  return `<ul>${items.join('')}</ul>`;
}

function section(title: string, content: string, id: string): string {
  return `<section id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${esc(title)}</h2>${content}</section>`;
}

function table(
  caption: string,
  header: readonly string[],
  rows: readonly (readonly (string | number)[])[],
  id: string,
): string {
  const head = header.map((h) => `<th scope="col">${esc(h)}</th>`).join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${row.map((c, i) => (i === 0 ? `<th scope="row">${esc(String(c))}</th>` : `<td>${esc(String(c))}</td>`)).join('')}</tr>`,
    )
    .join('');
  return `<table id="table-${id}"><caption>${esc(caption)}</caption><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

/** Text as HTML: the five characters that could open markup or end an attribute, escaped. */
export function esc(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `
body{font:16px/1.5 system-ui,sans-serif;color:#1b1b1b;background:#fff;margin:0}
main{max-width:960px;margin:0 auto;padding:1.5rem}
h1{font-size:1.6rem;margin:.5rem 0}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}
.lead{font-size:1.1rem}
.figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:.75rem;margin:1rem 0}
.figures div{border:1px solid #bbb;border-radius:6px;padding:.5rem .75rem}
.figures dt{font-size:.85rem;color:#444}.figures dd{margin:0;font-size:1.5rem;font-weight:600}
table{border-collapse:collapse;margin:1rem 0;min-width:50%}
caption{text-align:left;font-weight:600;padding:.25rem 0}
th,td{border:1px solid #bbb;padding:.25rem .6rem;text-align:right}
th[scope=row],thead th{text-align:left;background:#f3f3f3}
svg{max-width:100%;height:auto;font-size:12px;display:block;margin:1rem 0}
svg text{fill:#1b1b1b}.bar{fill:#2f5d8a}
.s0{fill:#1b7837}.s1{fill:#7fbf7b}.s2{fill:#b2182b}.s3{fill:#d6604d}.s4{fill:#f4a582}.s5{fill:#878787}.s6{fill:#4393c3}
.note{background:#fff7d6;border-left:4px solid #c9a400;padding:.5rem .75rem}
pre{background:#f6f6f6;padding:.75rem;overflow-x:auto;font-size:.85rem}
pre.wrap{white-space:pre-wrap;overflow-wrap:anywhere}
.definitions dt{font-weight:600}.definitions dd{margin:0 0 .5rem 1.25rem}
`;
