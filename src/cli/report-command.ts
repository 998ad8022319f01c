import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { CONTROL_NODE } from '../config/data-dir.js';
import { parsePeriod } from '../control/reports/period.js';
import { CSV_TABLES, type CsvTable, renderCsv } from '../control/reports/render-csv.js';
import { REPORT_FILES, renderHtml } from '../control/reports/render-html.js';
import { renderMarkdown } from '../control/reports/render-markdown.js';
import type { Report } from '../control/reports/report.js';
import { ReportError } from '../control/reports/report-errors.js';
import { buildPublicSite, VERIFIER_SCRIPT } from '../control/reports/report-site.js';
import type { VerifyTarget } from '../control/reports/report-text.js';
import { type ReportVerification, verifyReport } from '../control/reports/verify-report.js';
import { readReportVerifier } from '../http/console-routes.js';
import { LedgerError } from '../ledger/ledger-errors.js';
import { parseCosignerVerifierKey } from '../ledger/note/index.js';
import { nodeSigner } from '../ledger/open-node-log.js';
import { GlasshouseError } from '../shared/errors.js';
import { CLI_ACTOR, type DataDirOptions, withDataDirOptions, withGlasshouse } from './data-dir-options.js';
import { UsageError } from './failure.js';
import { collect, toCount } from './option-values.js';
import { action, printResult } from './output.js';
import { progressReporter } from './progress.js';

const FORMATS = ['json', 'csv', 'md', 'html', 'all'] as const;
type Format = (typeof FORMATS)[number];

interface BuildOptions extends DataDirOptions {
  readonly period?: string;
  readonly publicUrl?: string;
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
    .description(
      'build the report of a year (2021) or a half-year (2021-H2) as JSON, CSV, Markdown or HTML; without --period, with --out: the static site of every published period',
    )
    .option(
      '--period <period>',
      'YYYY or YYYY-H1|H2 (UTC); without it, --out writes the published reports as a site',
    )
    .option('--format <format>', `${FORMATS.join(', ')} (default: json, or all with --out)`, parseFormat)
    .option('--table <table>', `with --format csv on stdout: ${CSV_TABLES.join(', ')}`, parseTable)
    .option(
      '--out <dir>',
      'write the files here: with --period, report.json, report.md, index.html and one CSV per table; without, the site (index.html, index.json, <period>/…)',
    )
    .option(
      '--public-url <base>',
      'where the site and the log will be served, for the verify command on its pages (default: --url, else the configured server address)',
    )
    .option('--url <base>', 'ask a running server (e.g. http://127.0.0.1:8080) instead of the data directory')
    .addOption(
      new Option('--token <token>', 'an admin, auditor, legal or privacy token, with --url').env(
        'GLASSHOUSE_TOKEN',
      ),
    )
    .option('--json', 'with --out: print the files written as JSON')
    .action(
      action(async (options: BuildOptions) => {
        if (options.period === undefined) {
          if (options.out === undefined)
            throw new InvalidArgumentError(
              'give --period, or --out DIR for the site of the published reports',
            );
          const written = await writeSite(options, options.out);
          printResult(options.json === true, { files: written }, () =>
            [`the published reports (${written.length} files) written to ${options.out}`].join('\n'),
          );
          return;
        }
        parsePeriod(options.period);
        const { report: built, verify } =
          options.url === undefined
            ? await buildLocally(options, options.period)
            : { report: await fetchReport(options, options.period), verify: undefined };
        if (options.out === undefined) {
          process.stdout.write(render(built, options.format ?? 'json', options.table, verify));
          return;
        }
        const written = writeReport(built, options.out, options.format ?? 'all', verify);
        printResult(options.json === true, { period: built.period, files: written }, () =>
          [`report ${built.period} written to ${options.out}:`, ...written.map((f) => `  ${f}`)].join('\n'),
        );
      }),
    );

  for (const [name, publish] of [
    ['publish', true],
    ['unpublish', false],
  ] as const) {
    withDataDirOptions(report.command(name))
      .description(
        publish
          ? "make a period's report public: /reports/<period>/ serves it without a token, report build --out includes it (logged: report.published)"
          : "take a period's report off the public pages (logged: report.withdrawn)",
      )
      .argument('<period>', 'YYYY or YYYY-H1|H2 (UTC)')
      .option('--url <base>', 'a running server (e.g. http://127.0.0.1:8080) instead of the data directory')
      .addOption(new Option('--token <token>', 'an admin token, with --url').env('GLASSHOUSE_TOKEN'))
      .option('--json', 'print JSON')
      .action(
        action(
          async (
            period: string,
            options: DataDirOptions & { url?: string; token?: string; json?: boolean },
          ) => {
            const parsed = parsePeriod(period);
            if (options.url === undefined) {
              await withGlasshouse(options, async (g) => {
                if (publish) await g.reportPublications.publish(parsed, CLI_ACTOR);
                else await g.reportPublications.withdraw(parsed, CLI_ACTOR);
              });
            } else {
              await setPublication(options.url, options.token, period, publish);
            }
            printResult(options.json === true, { period, published: publish }, () =>
              publish
                ? `the report of ${period} is published: /reports/${period}/`
                : `the report of ${period} is no longer public`,
            );
          },
        ),
      );
  }

  report
    .command('verify')
    .description(
      'check a report (JSON) against the published control log: signature, root, and every number recomputed from the entries; exits non-zero on any difference',
    )
    .argument('<file>', 'the report, as JSON')
    .requiredOption('--url <base>', 'base URL of a server publishing the log')
    .requiredOption('--key <key>', 'the control log’s verifier key (from `glasshouse ledger key`)')
    .option(
      '--witness <key>',
      'a witness verifier key (`glasshouse witness key`) whose cosignature of the report’s checkpoint counts; repeat for several',
      collect,
      [],
    )
    .option('--quorum <n>', 'how many of the --witness keys must have cosigned (default: all)', toCount)
    .option('--json', 'print JSON')
    .action(
      action(
        async (
          file: string,
          options: { url: string; key: string; witness: string[]; quorum?: number; json?: boolean },
        ) => {
          const witnesses = options.witness.map(parseCosignerVerifierKey);
          if (options.quorum !== undefined && options.quorum > witnesses.length) {
            throw new InvalidArgumentError(
              `--quorum ${options.quorum} is more than the ${witnesses.length} --witness keys given`,
            );
          }
          const report = readReport(file);
          const base = `${options.url.replace(/\/+$/, '')}/log/control/`;
          const progress = progressReporter({ what: 'log', unit: 'entry bundles' });
          const result = await verifyReport(report, {
            read: (path) => fetchFile(base + path),
            verifierKey: options.key,
            onProgress: progress.update,
            witnesses,
            ...(options.quorum === undefined ? {} : { quorum: options.quorum }),
          });
          progress.done();
          if (result.differences.length > 0) {
            if (options.json === true) printResult(true, result, () => '');
            throw new ReportError('REPORT_MISMATCH', describeDifferences(result));
          }
          printResult(options.json === true, result, () => describe(result));
        },
      ),
    );
}

/** The report from the data directory, and the verify target its page names. */
async function buildLocally(
  options: BuildOptions,
  period: string,
): Promise<{ report: Report; verify: VerifyTarget }> {
  return withGlasshouse(options, async (g, config) => ({
    report: await g.reports.build(parsePeriod(period)),
    verify: {
      url: options.publicUrl ?? `http://${config.server.host}:${config.server.port}`,
      key: nodeSigner(config, CONTROL_NODE).verifierKey,
    },
  }));
}

/** The published reports as files: built from the data directory, or mirrored from `--url`'s `/reports/`. */
async function writeSite(options: BuildOptions, dir: string): Promise<string[]> {
  const files =
    options.url === undefined
      ? await withGlasshouse(options, (g, config) =>
          buildPublicSite(g.reports, g.reportPublications, {
            url: options.publicUrl ?? `http://${config.server.host}:${config.server.port}`,
            key: nodeSigner(config, CONTROL_NODE).verifierKey,
          }),
        )
      : await mirrorSite(options.url);
  for (const [path, content] of files) writePublic(dir, path, content);
  // The pages' Verify button; without it (a checkout built without the console) they still read.
  const verifier = readReportVerifier();
  if (verifier === undefined) return [...files.keys()];
  writePublic(dir, VERIFIER_SCRIPT, verifier.toString('utf8'));
  return [...files.keys(), VERIFIER_SCRIPT];
}

/**
 * A published file, readable by the web server that serves it: the process keeps its data
 * directory owner-only (umask 077), which must not make a public report private.
 */
function writePublic(root: string, path: string, content: string): void {
  if (!existsSync(root)) {
    mkdirSync(root, { recursive: true });
    chmodSync(root, 0o755); // made here; a directory that existed keeps its mode
  }
  const file = join(root, path);
  const folder = dirname(file);
  if (folder !== root) {
    mkdirSync(folder, { recursive: true });
    chmodSync(folder, 0o755);
  }
  writeFileSync(file, content);
  chmodSync(file, 0o644);
}

/** Every file `/reports/index.json` lists, as the server renders them (for its own URL). */
async function mirrorSite(base: string): Promise<Map<string, string>> {
  const root = new URL('/reports/', base);
  const index = JSON.parse(await fetchText(new URL('index.json', root))) as { files: string[] };
  const files = new Map<string, string>();
  for (const path of index.files) {
    if (!/^([0-9]{4}(-H[12])?\/)?[a-z-]+\.(html|json|md|csv)$/.test(path)) {
      throw new ReportError('INVALID_REPORT', `the index lists an unexpected file: ${path}`);
    }
    files.set(path, await fetchText(new URL(path, root)));
  }
  return files;
}

async function fetchText(url: URL): Promise<string> {
  const response = await fetch(url);
  const body = await response.text();
  if (!response.ok) {
    const problem = safeJson(body) as { code?: string; detail?: string } | undefined;
    throw new GlasshouseError(problem?.code ?? `HTTP_${response.status}`, problem?.detail ?? `GET ${url}`);
  }
  return body;
}

async function fetchReport(options: BuildOptions, period: string): Promise<Report> {
  if (options.token === undefined || options.token === '')
    throw new UsageError('--url needs a token: give --token or set $GLASSHOUSE_TOKEN');
  const url = new URL(`/v1/reports/${encodeURIComponent(period)}?format=json`, options.url);
  const response = await fetch(url, { headers: { authorization: `Bearer ${options.token}` } });
  const body = await response.text();
  if (!response.ok) {
    const problem = safeJson(body) as { code?: string; detail?: string } | undefined;
    throw new GlasshouseError(problem?.code ?? `HTTP_${response.status}`, problem?.detail ?? body);
  }
  return JSON.parse(body) as Report;
}

async function setPublication(
  base: string,
  token: string | undefined,
  period: string,
  publish: boolean,
): Promise<void> {
  if (token === undefined || token === '')
    throw new UsageError('--url needs a token: give --token or set $GLASSHOUSE_TOKEN');
  const response = await fetch(new URL(`/v1/reports/${encodeURIComponent(period)}/publication`, base), {
    method: publish ? 'PUT' : 'DELETE',
    headers: { authorization: `Bearer ${token}` },
  });
  if (!response.ok) {
    const problem = safeJson(await response.text()) as { code?: string; detail?: string } | undefined;
    throw new GlasshouseError(
      problem?.code ?? `HTTP_${response.status}`,
      problem?.detail ?? response.statusText,
    );
  }
}

function render(
  report: Report,
  format: Format,
  table: CsvTable | undefined,
  verify: VerifyTarget | undefined,
): string {
  switch (format) {
    case 'json':
    case 'all':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'csv':
      return renderCsv(report, table ?? 'legal-requests');
    case 'md':
      return renderMarkdown(report);
    case 'html':
      return renderHtml(report, verify === undefined ? {} : { verify });
  }
}

function writeReport(
  report: Report,
  dir: string,
  format: Format,
  verify: VerifyTarget | undefined,
): string[] {
  const files: [string, string][] = [];
  if (format === 'json' || format === 'all')
    files.push([REPORT_FILES.json, `${JSON.stringify(report, null, 2)}\n`]);
  if (format === 'csv' || format === 'all') {
    for (const t of CSV_TABLES) files.push([REPORT_FILES.csv(t), renderCsv(report, t)]);
  }
  if (format === 'md' || format === 'all') files.push([REPORT_FILES.markdown, renderMarkdown(report)]);
  // Beside the other files, the page links to them; alone, it carries them inline.
  if (format === 'html' || format === 'all')
    files.push([
      REPORT_FILES.html,
      renderHtml(report, {
        links: format === 'all' ? 'files' : 'inline',
        ...(verify === undefined ? {} : { verify }),
      }),
    ]);
  for (const [name, content] of files) writePublic(dir, name, content);
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
    ...r.cosignedBy.map(
      (c) => `  cosigned by ${c.name} (key ID ${c.keyId}) at ${new Date(c.timestamp * 1000).toISOString()}`,
    ),
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
