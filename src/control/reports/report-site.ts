import { parsePeriod } from './period.js';
import { CSV_TABLES, renderCsv } from './render-csv.js';
import { esc, REPORT_FILES, renderHtml } from './render-html.js';
import { renderMarkdown } from './render-markdown.js';
import type { ReportPublications } from './report-publications.js';
import type { ReportPage, ReportService } from './report-service.js';
import { headline, type VerifyTarget } from './report-text.js';

/** The `Verify` button's script, at the root of the site (built by `npm run build:console`). */
export const VERIFIER_SCRIPT = 'verify-report.js';

/** The public reports as files: `index.html`, `index.json` and `<period>/…` of each page. */
export type SiteFiles = ReadonlyMap<string, string>;

/** A published period in the site's index. */
export interface SiteEntry {
  readonly period: string;
  readonly publishedAt: string;
}

/**
 * The published transparency reports as a static site, the same files that `/reports/`
 * serves and `report build --out DIR` writes: an index of the periods (HTML and JSON), and
 * per period its page beside `report.json`, `report.md` and one CSV per table.
 *
 * @example
 * const files = renderSite(pages, published, { url: 'https://transparency.example', key });
 */
export function renderSite(
  pages: readonly ReportPage[],
  published: readonly SiteEntry[],
  verify: VerifyTarget,
): SiteFiles {
  const files = new Map<string, string>();
  for (const { report, context } of pages) {
    const dir = `${report.period}/`;
    files.set(
      dir + REPORT_FILES.html,
      renderHtml(report, {
        links: 'files',
        verify,
        context,
        indexHref: '../',
        verifierScript: `../${VERIFIER_SCRIPT}`,
      }),
    );
    files.set(dir + REPORT_FILES.json, `${JSON.stringify(report, null, 2)}\n`);
    files.set(dir + REPORT_FILES.markdown, renderMarkdown(report, verify));
    for (const t of CSV_TABLES) files.set(dir + REPORT_FILES.csv(t), renderCsv(report, t));
  }
  const newestFirst = [...pages].reverse();
  const index = {
    reports: newestFirst.map(({ report }) => ({
      period: report.period,
      publishedAt: published.find((p) => p.period === report.period)?.publishedAt ?? null,
      page: `${report.period}/`,
      json: `${report.period}/${REPORT_FILES.json}`,
      requests: report.legal.total,
      countries: report.legal.countries,
      userRequests: report.privacy.total,
    })),
    checkpoint: pages[0] === undefined ? null : withoutNote(pages[0].report.checkpoint),
    log: `${verify.url.replace(/\/+$/, '')}/log/control/`,
    key: verify.key,
    files: [...files.keys(), 'index.html', 'index.json'],
  };
  files.set('index.json', `${JSON.stringify(index, null, 2)}\n`);
  files.set('index.html', renderIndex(pages, verify));
  return files;
}

function withoutNote(c: { origin: string; size: number; rootHash: string }) {
  return { origin: c.origin, size: c.size, rootHash: c.rootHash };
}

function renderIndex(pages: readonly ReportPage[], verify: VerifyTarget): string {
  const items = [...pages]
    .reverse()
    .map(
      ({ report }) =>
        `<li><a href="${esc(report.period)}/">${esc(report.period)}</a> (${esc(report.from)} to ${esc(report.to)}): ${esc(headline(report))} <a href="${esc(report.period)}/${REPORT_FILES.json}">JSON</a></li>`,
    )
    .join('');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Transparency reports</title>
<style>body{font:16px/1.5 system-ui,sans-serif;color:#1b1b1b;margin:0}main{max-width:960px;margin:0 auto;padding:1.5rem}li{margin:.5rem 0}pre{background:#f6f6f6;padding:.75rem;white-space:pre-wrap;overflow-wrap:anywhere;font-size:.85rem}</style>
</head>
<body>
<main>
<h1>Transparency reports</h1>
<p>Law enforcement and government requests, and users' requests about their own data, per published period. Every number except where the data lives is recomputed from the signed control log.</p>
${pages.length === 0 ? '<p>No report is published yet.</p>' : `<ul id="periods">${items}</ul>`}
<h2>Verify</h2>
<p>The control log is public at <code>${esc(verify.url.replace(/\/+$/, ''))}/log/control/</code>; its key:</p>
<pre id="log-key">${esc(verify.key)}</pre>
<p><a href="index.json">index.json</a> lists the periods and files.</p>
</main>
</body>
</html>
`;
}

/**
 * The site of every published period, at the log's latest checkpoint.
 *
 * @example
 * const files = await buildPublicSite(glasshouse.reports, glasshouse.reportPublications, { url, key });
 */
export async function buildPublicSite(
  reports: ReportService,
  publications: ReportPublications,
  verify: VerifyTarget,
): Promise<SiteFiles> {
  const published = await publications.list();
  const periods = published.map((p) => parsePeriod(p.period));
  const pages = periods.length === 0 ? [] : await reports.buildPages(periods, periods);
  return renderSite(pages, published, verify);
}

/** How long the public site is reused while the log and the publications stay the same. */
const SITE_TTL_MS = 30_000;

/**
 * {@link buildPublicSite} for the unauthenticated routes: rebuilt only when the control log
 * grew, the published periods changed, or after 30 s (the registry's residency numbers are
 * not on the log), so that anonymous readers do not refold the log on every request.
 *
 * @example
 * const site = cachedPublicSite({ reports, publications, logSize: () => log.size(), key, now: Date.now });
 * const files = await site('https://transparency.example');
 */
export function cachedPublicSite(options: {
  readonly reports: ReportService;
  readonly publications: ReportPublications;
  readonly logSize: () => Promise<number>;
  readonly key: string;
  readonly now: () => number;
}): (url: string) => Promise<SiteFiles> {
  let cached: { key: string; at: number; files: Promise<SiteFiles> } | undefined;
  return async (url) => {
    const [size, published] = await Promise.all([options.logSize(), options.publications.list()]);
    const key = JSON.stringify([url, size, published]);
    const now = options.now();
    if (cached === undefined || cached.key !== key || now - cached.at > SITE_TTL_MS) {
      const files = buildPublicSite(options.reports, options.publications, { url, key: options.key });
      cached = { key, at: now, files };
      files.catch(() => {
        if (cached?.files === files) cached = undefined;
      });
    }
    return cached.files;
  };
}
