import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import type { Glasshouse } from '../main.js';
import { GlasshouseError } from '../shared/errors.js';
import { type DataDirOptions, withDataDirOptions, withGlasshouse } from './data-dir-options.js';
import { UsageError } from './failure.js';
import { action, printResult } from './output.js';

interface ImportOptions extends DataDirOptions {
  readonly json?: boolean;
  readonly again?: boolean;
  readonly url?: string;
  readonly token?: string;
}

interface BadRow {
  readonly line: number;
  readonly message: string;
}

export interface HistoryImportCommand<Result> {
  /** What the command says it loads, e.g. `historical, closed requests (CSV …)`. */
  readonly description: string;
  readonly fileHelp: string;
  /** The role the `--token` needs. */
  readonly role: string;
  /** The HTTP route of the import, e.g. `/v1/legal-requests/import`. */
  readonly route: string;
  /** The problem code of a file with bad rows; its `details.errors` lists them. */
  readonly badFileCode: string;
  readonly jsonHelp: string;
  load(glasshouse: Glasshouse, csv: string, options: { again: boolean }): Promise<Result>;
  summary(result: Result): string;
}

/**
 * `<desk> import FILE [--url --token] [--json]`: a desk's history import, on the data
 * directory or sent to a running server; all of the file or nothing, every bad row listed.
 */
export function registerHistoryImport<Result>(parent: Command, spec: HistoryImportCommand<Result>): void {
  withDataDirOptions(parent.command('import'))
    .description(spec.description)
    .argument('<file>', spec.fileHelp)
    .option(
      '--url <base>',
      'send it to a running server (e.g. http://127.0.0.1:8080) instead of the data directory',
    )
    .addOption(new Option('--token <token>', `a ${spec.role} token, with --url`).env('GLASSHOUSE_TOKEN'))
    .option(
      '--again',
      'load a file that was imported before (same SHA-256) once more, its rows as new requests; without it such a file is refused and nothing changes',
    )
    .option('--json', spec.jsonHelp)
    .action(
      action(async (file: string, options: ImportOptions) => {
        const csv = readFileSync(file, 'utf8');
        const again = options.again === true;
        const result =
          options.url === undefined
            ? await withGlasshouse(options, (g) =>
                spec.load(g, csv, { again }).catch((e) => listBadRows(e, spec)),
              )
            : await importOverHttp(csv, options, spec);
        printResult(options.json === true, result, () => spec.summary(result));
      }),
    );
}

async function importOverHttp<Result>(
  csv: string,
  options: ImportOptions,
  spec: HistoryImportCommand<Result>,
): Promise<Result> {
  if (options.token === undefined || options.token === '')
    throw new UsageError('--url needs a token: give --token or set $GLASSHOUSE_TOKEN');
  const url = new URL(spec.route, options.url);
  if (options.again === true) url.searchParams.set('again', 'true');
  const response = await fetch(url, {
    method: 'POST',
    headers: { authorization: `Bearer ${options.token}`, 'content-type': 'text/csv' },
    body: csv,
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.ok) return body as Result;
  const errors = Array.isArray(body.errors) ? (body.errors as BadRow[]) : [];
  throw new GlasshouseError(
    String(body.code ?? `HTTP_${response.status}`),
    [
      String(body.detail ?? response.statusText),
      ...describeRows(errors, Number(body.invalidLines ?? errors.length)),
    ].join('\n'),
  );
}

/** A bad-file error with every bad row, not only the first. */
function listBadRows(error: unknown, spec: { badFileCode: string }): never {
  if (error instanceof GlasshouseError && error.code === spec.badFileCode) {
    const errors = (error.details?.errors ?? []) as BadRow[];
    const total = Number(error.details?.invalidLines ?? errors.length);
    throw new GlasshouseError(error.code, [error.message, ...describeRows(errors, total)].join('\n'));
  }
  throw error;
}

function describeRows(rows: readonly BadRow[], total: number): string[] {
  const lines = rows.map((row) => `  line ${row.line}: ${row.message}`);
  if (total > rows.length) lines.push(`  … and ${total - rows.length} more`);
  return lines;
}
