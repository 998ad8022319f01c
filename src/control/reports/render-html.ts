import { AUTHORITY_KINDS, LEGAL_CATEGORIES, PRIVACY_TYPES, REJECTION_REASONS } from './desk-entries.js';
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
  witnessText,
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
  /**
   * The `Verify` button's script (relative URL, `../verify-report.js` on a published page): the
   * page then checks itself against the log at `verify.url` in the reader's browser.
   */
  readonly verifierScript?: string;
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
 * The report as one self-contained HTML page: no inline script and no request to another
 * origin (its Content-Security-Policy forbids them; with `verifierScript`, it allows that one
 * script and fetches from the log's origin), charts as inline SVG, tables with captions and
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
              num(all, `legal.byOutcome.${OUTCOME_KEYS[i]}`),
              ...LEGAL_CATEGORIES.map((k) =>
                num(
                  outcomeRows(l.byCategoryOutcome[k])[i]![1],
                  `legal.byCategoryOutcome.${k}.${OUTCOME_KEYS[i]}`,
                ),
              ),
            ]),
            [
              'total',
              num(l.total, 'legal.total'),
              ...LEGAL_CATEGORIES.map((k) => num(l.byCategory[k], `legal.byCategory.${k}`)),
            ],
          ],
          'outcomes',
        ) +
        `<p>Rejected: <span data-n="legal.rejected">${l.rejected}</span> of <span data-n="legal.total">${l.total}</span>, <strong data-n="legal.rejectedShare">${esc(shareText(l.rejectedShare))}</strong>.</p>` +
        table(
          `Legal requests by authority, ${r.period}`,
          ['Authority', 'Requests'],
          AUTHORITY_KINDS.map((k) => [label(k), num(l.byAuthorityKind[k], `legal.byAuthorityKind.${k}`)]),
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
            const at = `privacy.byTypeOutcome.${t}`;
            return [
              t,
              num(r.privacy.byType[t], `privacy.byType.${t}`),
              num(o.completed, `${at}.completed`),
              num(o.rejected, `${at}.rejected`),
              num(o.open, `${at}.open`),
            ];
          }),
          [
            'total',
            num(r.privacy.total, 'privacy.total'),
            num(r.privacy.byOutcome.completed, 'privacy.byOutcome.completed'),
            num(r.privacy.byOutcome.rejected, 'privacy.byOutcome.rejected'),
            num(r.privacy.byOutcome.open, 'privacy.byOutcome.open'),
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
            [...r.halves, r].map((h, i) => {
              const at = i < r.halves.length ? `halves[${i}].` : '';
              return [
                h.period,
                num(h.legal.total, `${at}legal.total`),
                num(h.legal.countries, `${at}legal.countries`),
                num(h.legal.byCategory.technical_expertise, `${at}legal.byCategory.technical_expertise`),
                num(h.legal.byCategory.user_data, `${at}legal.byCategory.user_data`),
                num(h.legal.rejected, `${at}legal.rejected`),
                num(h.privacy.total, `${at}privacy.total`),
              ];
            }),
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
        comparisonRows(r).map(([m, now, before], i) => [
          m,
          num(now, COMPARED[i]!),
          num(before, `previous.${COMPARED[i]}`),
          change(now, before),
        ]),
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
      `<p>Computed at <code>${esc(r.checkpoint.origin)}</code>, tree size ${r.checkpoint.size}, root <code>${esc(r.checkpoint.rootHash)}</code>.</p>${witnessList(r)}<p>Anyone can recompute every number above from the log:</p><pre class="wrap" id="verify-command">${esc(verifyCommand(r, options.verify))}</pre><pre class="wrap" id="checkpoint-note">${esc(r.checkpoint.note)}</pre><p>Generated ${esc(r.generatedAt)}.</p>`,
      'checkpoint',
    ),
    options.verifierScript === undefined || options.verify === undefined
      ? ''
      : verifySection(r, options.verify),
  ];
  const verifier = options.verifierScript !== undefined && options.verify !== undefined;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${pagePolicy(verifier ? options.verify : undefined)}">
<title>${esc(periodTitle(r))}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body.join('\n')}
</main>
${verifier ? `<script type="module" src="${esc(options.verifierScript!)}"></script>\n` : ''}</body>
</html>
`;
}

/** The countries of the period, with the change against the previous one when it is known. */
function countryTable(r: Report, previous: readonly CountryRow[] | undefined): string {
  const caption = `Legal requests by requester country, ${r.period}`;
  const header = ['Country', 'Code', 'Requests', ...LEGAL_CATEGORIES.map(label), 'Rejected', 'Open'];
  const cells = r.legal.byCountry.map((c, i) =>
    countryCells(c).map((v, j) => (j === 0 ? v : num(v, `legal.byCountry[${i}].${COUNTRY_FIELDS[j - 1]}`))),
  );
  if (previous === undefined) return table(caption, header, cells, 'by-country');
  const before = new Map(previous.map((c) => [c.country, c.total]));
  const was = (country: string): Cell => ({
    v: before.get(country) ?? 0,
    n: `byCountry[country=${country}].total`,
    period: r.previous.period,
    absent: 0,
  });
  const rows = r.legal.byCountry.map((c, i) => [
    ...cells[i]!,
    was(c.country),
    change(c.total, before.get(c.country) ?? 0),
  ]);
  const gone = previous
    .filter((p) => !r.legal.byCountry.some((c) => c.country === p.country))
    .map((p) => [
      p.name,
      p.country,
      0,
      ...LEGAL_CATEGORIES.map(() => 0),
      0,
      0,
      was(p.country),
      change(0, p.total),
    ]);
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
        periods.map((p) => {
          const of = (v: string | number, n: string): Cell => ({ v, n: `summary.${n}`, period: p.period });
          return [
            p.period === r.period ? `${p.period} (this report)` : p.period,
            of(p.legal.total, 'legal.total'),
            of(p.legal.countries, 'legal.countries'),
            of(p.legal.byCategory.technical_expertise, 'legal.byCategory.technical_expertise'),
            of(p.legal.byCategory.user_data, 'legal.byCategory.user_data'),
            of(shareText(p.legal.rejectedShare), 'legal.rejectedShare'),
            of(p.privacy.total, 'privacy.total'),
          ];
        }),
        'trend',
      ),
    'trend',
  );
}

/**
 * No inline script, no other origin: the only script is the verifier from this origin, and it
 * may fetch only from this origin and the log's. Not escaped: the quotes are the policy's own,
 * and the log's origin is one that `safeOrigin` let through (no quote, no space).
 */
function pagePolicy(verify: VerifyTarget | undefined): string {
  const base = ["default-src 'none'", "style-src 'unsafe-inline'", 'img-src data:'];
  if (verify === undefined) return base.join('; ');
  const log = safeOrigin(verify.url);
  return [
    ...base,
    "script-src 'self'",
    `connect-src 'self'${log === undefined ? '' : ` ${log}`}`,
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; ');
}

function safeOrigin(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return /^https?:\/\/[A-Za-z0-9.:[\]-]+$/.test(origin) ? origin : undefined;
  } catch {
    return undefined;
  }
}

/** The button that checks the page against the log, in the reader's browser. */
function verifySection(r: Report, verify: VerifyTarget): string {
  const log = `${verify.url.replace(/\/+$/, '')}/log/control/`;
  return `<section id="verify" aria-labelledby="verify-h" data-log="${esc(log)}" data-key="${esc(verify.key)}" data-period="${esc(r.period)}"><h2 id="verify-h">Verify this page</h2><p>The button fetches the entries of the log up to this report's checkpoint, and its tiles, from <code>${esc(log)}</code>, and checks in this browser: the checkpoint's signature by <code class="wrap">${esc(verify.key)}</code>, the cosignature of each witness named above with the key named there, the Merkle root from the entries and from the tiles, and every number of this page except where the data lives against the numbers recomputed from the entries. Compare the keys with ones you got from their owners.</p><button type="button" id="verify-button" hidden disabled>Verify</button><div id="verify-result" role="status" aria-live="polite"></div></section>`;
}

/** The witnesses that cosigned the checkpoint, each with the key that checks its cosignature. */
function witnessList(r: Report): string {
  const witnesses = r.checkpoint.witnesses ?? [];
  if (witnesses.length === 0) return `<p id="witnesses">${esc(witnessText(r))}</p>`;
  const items = witnesses.map(
    (w) =>
      `<li data-witness="${esc(w.name)}" data-key="${esc(w.key)}"><code>${esc(w.name)}</code>, key ID <code>${esc(w.keyId)}</code>, cosigned at ${esc(w.cosignedAt)}; key <code class="wrap">${esc(w.key)}</code></li>`,
  );
  return `<p>Cosigned by ${witnesses.length === 1 ? 'one witness' : `${witnesses.length} witnesses`}, each of which checked that this checkpoint extends every one it saw before:</p><ul id="witnesses">${items.join('')}</ul>`;
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
  const items: [string, string, string][] = [
    ['requests', String(r.legal.total), 'legal.total'],
    ['countries', String(r.legal.countries), 'legal.countries'],
    [
      'technical expertise',
      String(r.legal.byCategory.technical_expertise),
      'legal.byCategory.technical_expertise',
    ],
    ['user data', String(r.legal.byCategory.user_data), 'legal.byCategory.user_data'],
    ['rejected', shareText(r.legal.rejectedShare), 'legal.rejectedShare'],
    ['user requests', String(r.privacy.total), 'privacy.total'],
  ];
  return `<dl class="figures" id="figures">${items.map(([k, v, n]) => `<div><dt>${esc(k)}</dt><dd data-n="${n}">${esc(v)}</dd></div>`).join('')}</dl>`;
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

/**
 * A cell of a table, or a number the page's `Verify` button recomputes from the log: `n` is
 * its path in the report's numbers (`legal.byCountry[2].total`) or, with `period`, in that
 * period's context (`summary.legal.total`, `byCountry[country=DE].total`); `absent` is its
 * value when the path names nothing (a country without requests in that period).
 */
type Cell =
  | string
  | number
  | { readonly v: string | number; readonly n: string; readonly period?: string; readonly absent?: number };

function num(v: string | number, n: string): Cell {
  return { v, n };
}

function cellAttributes(c: Cell): string {
  if (typeof c !== 'object') return '';
  return ` data-n="${esc(c.n)}"${c.period === undefined ? '' : ` data-period="${esc(c.period)}"`}${c.absent === undefined ? '' : ` data-absent="${c.absent}"`}`;
}

function cellText(c: Cell): string {
  return esc(String(typeof c === 'object' ? c.v : c));
}

/** The members of LegalOutcomes in the order of `outcomeRows`. */
const OUTCOME_KEYS = [
  'fulfilled',
  'partially_fulfilled',
  ...REJECTION_REASONS.map((reason) => `rejected.${reason}`),
  'withdrawn',
  'open',
];
/** The members of a report that `comparisonRows` lists, in its order. */
const COMPARED = [
  'legal.total',
  'legal.countries',
  'legal.byCategory.technical_expertise',
  'legal.byCategory.user_data',
  'legal.rejected',
  'privacy.total',
];
/** The members of a CountryRow in the order of `countryCells`, after the name. */
const COUNTRY_FIELDS = [
  'country',
  'total',
  ...LEGAL_CATEGORIES.map((k) => `byCategory.${k}`),
  'rejected',
  'open',
];

function table(
  caption: string,
  header: readonly string[],
  rows: readonly (readonly Cell[])[],
  id: string,
): string {
  const head = header.map((h) => `<th scope="col">${esc(h)}</th>`).join('');
  const body = rows
    .map(
      (row) =>
        `<tr>${row.map((c, i) => (i === 0 ? `<th scope="row">${cellText(c)}</th>` : `<td${cellAttributes(c)}>${cellText(c)}</td>`)).join('')}</tr>`,
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
pre.wrap{white-space:pre-wrap;overflow-wrap:anywhere}code.wrap{overflow-wrap:anywhere}
#verify button{font:inherit;padding:.4rem 1.2rem;border:1px solid #2f5d8a;border-radius:4px;background:#2f5d8a;color:#fff;cursor:pointer}
#verify button:disabled{opacity:.6;cursor:progress}
#verify-result[data-state=verified]{border-left:4px solid #1b7837;padding-left:.75rem}
#verify-result[data-state=failed]{border-left:4px solid #b2182b;padding-left:.75rem}
[data-mismatch]{outline:3px solid #b2182b;background:#fde0dd}
.definitions dt{font-weight:600}.definitions dd{margin:0 0 .5rem 1.25rem}
`;
