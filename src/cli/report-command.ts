import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { LedgerError } from '../ledger/ledger-errors.js';
import { parsePeriod } from '../reports/period.js';
import { CSV_TABLES, type CsvTable, renderCsv } from '../reports/render-csv.js';
import { REPORT_FILES, renderHtml } from '../reports/render-html.js';
import { renderMarkdown } from '../reports/render-markdown.js';
import type { Report } from '../reports/report.js';
import { ReportError } from '../reports/report-errors.js';
import { type ReportVerification, verifyReport } from '../reports/verify-report.js';
import { GlasshouseError } from '../shared/errors.js';
import { type DataDirOptions, withDataDirOptions, withGlasshouse } from './data-dir-options.js';
import { UsageError } from './failure.js';
import { action, printResult } from './output.js';
import { progressReporter } from './progress.js';

const FORMATS = ['json', 'csv', 'md', 'html', 'all'] as const;
type Format = (typeof FORMATS)[number];

interface BuildOptions extends DataDirOptions {
  readonly period: string;
  readonly format?: Format;
  readonly table?: CsvTable;
  readonly out?: string;
  readonly url?: string;
  readonly token?: string;
  readonly json?: boolean;
}

export function registerReport(program: Command): void {
  const report = program
    .command('report')
    .description('transparency reports: build them, and verify them against the signed log');

  withDataDirOptions(report.command('build'))
    .description('build the report of a year (2021) or a half-year (2021-H2) as JSON, CSV, Markdown or HTML')
    .requiredOption('--period <period>', 'YYYY or YYYY-H1|H2 (UTC)')
    .option('--format <format>', `${FORMATS.join(', ')} (default: json, or all with --out)`, parseFormat)
    .option('--table <table>', `with --format csv on stdout: ${CSV_TABLES.join(', ')}`, parseTable)
    .option('--out <dir>', 'write the files (report.json, report.md, index.html, one CSV per table) here')
    .option('--url <base>', 'ask a running server (e.g. http://127.0.0.1:8080) instead of the data directory')
    .addOption(
      new Option('--token <token>', 'an admin, auditor, legal or privacy token, with --url').env(
        'GLASSHOUSE_TOKEN',
      ),
    )
    .option('--json', 'with --out: print the files written as JSON')
    .action(
      action(async (options: BuildOptions) => {
        parsePeriod(options.period);
        const built = options.url === undefined ? await buildLocally(options) : await fetchReport(options);
        if (options.out === undefined) {
          process.stdout.write(render(built, options.format ?? 'json', options.table));
          return;
        }
        const written = writeReport(built, options.out, options.format ?? 'all');
        printResult(options.json === true, { period: built.period, files: written }, () =>
          [`report ${built.period} written to ${options.out}:`, ...written.map((f) => `  ${f}`)].join('\n'),
        );
      }),
    );

  report
    .command('verify')
    .description(
      'check a report (JSON) against the published control log: signature, root, and every number recomputed from the entries; exits non-zero on any difference',
    )
    .argument('<file>', 'the report, as JSON')
    .requiredOption('--url <base>', 'base URL of a server publishing the log')
    .requiredOption('--key <key>', 'the control log’s verifier key (from `glasshouse ledger key`)')
    .option('--json', 'print JSON')
    .action(
      action(async (file: string, options: { url: string; key: string; json?: boolean }) => {
        const report = readReport(file);
        const base = `${options.url.replace(/\/+$/, '')}/log/control/`;
        const progress = progressReporter({ what: 'log', unit: 'entry bundles' });
        const result = await verifyReport(report, {
          read: (path) => fetchFile(base + path),
          verifierKey: options.key,
          onProgress: progress.update,
        });
        progress.done();
        if (result.differences.length > 0) {
          if (options.json === true) printResult(true, result, () => '');
          throw new ReportError('REPORT_MISMATCH', describeDifferences(result));
        }
        printResult(options.json === true, result, () => describe(result));
      }),
    );
}

async function buildLocally(options: BuildOptions): Promise<Report> {
  return withGlasshouse(options, (g) => g.reports.build(parsePeriod(options.period)));
}

async function fetchReport(options: BuildOptions): Promise<Report> {
  if (options.token === undefined || options.token === '')
    throw new UsageError('--url needs a token: give --token or set $GLASSHOUSE_TOKEN');
  const url = new URL(`/v1/reports/${encodeURIComponent(options.period)}?format=json`, options.url);
  const response = await fetch(url, { headers: { authorization: `Bearer ${options.token}` } });
  const body = await response.text();
  if (!response.ok) {
    const problem = safeJson(body) as { code?: string; detail?: string } | undefined;
    throw new GlasshouseError(problem?.code ?? `HTTP_${response.status}`, problem?.detail ?? body);
  }
  return JSON.parse(body) as Report;
}

function render(report: Report, format: Format, table: CsvTable | undefined): string {
  switch (format) {
    case 'json':
    case 'all':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return renderCsv(report, table ?? 'legal-requests');
    case 'md':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report);
  }
}

function writeReport(report: Report, dir: string, format: Format): string[] {
  mkdirSync(dir, { recursive: true });
  const files: [string, string][] = [];
  if (format === 'json' || format === 'all')
    files.push([REPORT_FILES.json, `${JSON.stringify(report, null, 2)}\n`]);
  if (format === 'csv' || format === 'all') {
    for (const t of CSV_TABLES) files.push([REPORT_FILES.csv(t), renderCsv(report, t)]);
  }
  if (format === 'md' || format === 'all') files.push([REPORT_FILES.markdown, renderMarkdown(report)]);
  // Beside the other files, the page links to them; alone, it carries them inline.
  if (format === 'html' || format === 'all')
    files.push([REPORT_FILES.html, renderHtml(report, { links: format === 'all' ? 'files' : 'inline' })]);
  for (const [name, content] of files) writeFileSync(join(dir, name), content);
  return files.map(([name]) => name);
}

function readReport(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  const parsed = safeJson(text);
  if (parsed === undefined) throw new ReportError('INVALID_REPORT', `${file} is not JSON`);
  return parsed;
}

function describe(r: ReportVerification): string {
  return [
    `verified report ${r.period} against ${r.checkpoint.origin} at size ${r.checkpoint.size} (root ${r.checkpoint.rootHash})`,
    `  checkpoint signature and root match; ${r.legalRequests} legal and ${r.privacyRequests} privacy requests in the log`,
    `  ${r.numbersChecked} numbers recomputed from the entries: all equal`,
    ...r.skipped.map((s) => `  skipped: ${s}`),
  ].join('\n');
}

function describeDifferences(r: ReportVerification): string {
  return [
    `report ${r.period} differs from the log at ${r.checkpoint.origin} size ${r.checkpoint.size} in ${r.differences.length} place(s):`,
    ...r.differences
      .slice(0, 50)
      .map(
        (d) =>
          `  ${d.path}: the report says ${JSON.stringify(d.report)}, the log gives ${JSON.stringify(d.log)}`,
      ),
    ...(r.differences.length > 50 ? [`  … and ${r.differences.length - 50} more`] : []),
  ].join('\n');
}

async function fetchFile(url: string): Promise<Buffer | undefined> {
  const response = await fetch(url);
  if (response.status === 404) return undefined;
  if (!response.ok) throw new LedgerError('TILE_NOT_FOUND', `GET ${url}: ${response.status}`);
  return Buffer.from(await response.arrayBuffer());
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseFormat(text: string): Format {
  if (!(FORMATS as readonly string[]).includes(text))
    throw new InvalidArgumentError(`expected ${FORMATS.join(', ')}`);
  return text as Format;
}

function parseTable(text: string): CsvTable {
  if (!(CSV_TABLES as readonly string[]).includes(text))
    throw new InvalidArgumentError(`expected ${CSV_TABLES.join(', ')}`);
  return text as CsvTable;
}
