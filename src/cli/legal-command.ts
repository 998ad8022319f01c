import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { HISTORY_COLUMNS, type HistoryImport } from '../legal/index.js';
import { GlasshouseError } from '../shared/errors.js';
import { CLI_ACTOR, type DataDirOptions, withDataDirOptions, withGlasshouse } from './data-dir-options.js';
import { action, printResult } from './output.js';

interface ImportOptions extends DataDirOptions {
  readonly json?: boolean;
  readonly url?: string;
  readonly token?: string;
}

interface BadRow {
  readonly line: number;
  readonly message: string;
}

export function registerLegal(program: Command): void {
  const legal = program
    .command('legal')
    .description('the legal desk: government and law-enforcement requests');

  withDataDirOptions(legal.command('import'))
    .description(
      `load historical, closed requests from CSV (columns ${HISTORY_COLUMNS.join(',')}): all rows, or nothing if any row is bad (bad rows are listed by line)`,
    )
    .argument('<file>', 'the CSV file')
    .option(
      '--url <base>',
      'send it to a running server (e.g. http://127.0.0.1:8080) instead of the data directory',
    )
    .addOption(new Option('--token <token>', 'a legal token, with --url').env('GLASSHOUSE_TOKEN'))
    .option('--json', 'print JSON: {"imported","sha256"}')
    .action(
      action(async (file: string, options: ImportOptions) => {
        const csv = readFileSync(file, 'utf8');
        const result =
          options.url === undefined
            ? await withGlasshouse(options, (g) => g.legal.importHistory(csv, CLI_ACTOR).catch(listBadRows))
            : await importOverHttp(csv, options);
        printResult(
          options.json === true,
          result,
          () => `imported ${result.imported} requests (sha256 ${result.sha256})`,
        );
      }),
    );
}

async function importOverHttp(csv: string, options: ImportOptions): Promise<HistoryImport> {
  if (options.token === undefined)
    throw new InvalidArgumentError('--url needs --token (or $GLASSHOUSE_TOKEN)');
  const response = await fetch(new URL('/v1/legal-requests/import', options.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${options.token}`, 'content-type': 'text/csv' },
    body: csv,
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.ok) return body as unknown as HistoryImport;
  const errors = Array.isArray(body.errors) ? (body.errors as BadRow[]) : [];
  throw new GlasshouseError(
    String(body.code ?? `HTTP_${response.status}`),
    [String(body.detail ?? response.statusText), ...errors.map(describeRow)].join('\n'),
  );
}

/** An INVALID_LEGAL_HISTORY error with every bad row, not only the first. */
function listBadRows(error: unknown): never {
  if (error instanceof GlasshouseError && error.code === 'INVALID_LEGAL_HISTORY') {
    const errors = (error.details?.errors ?? []) as BadRow[];
    throw new GlasshouseError(error.code, [error.message, ...errors.map(describeRow)].join('\n'));
  }
  throw error;
}

function describeRow(row: BadRow): string {
  return `  line ${row.line}: ${row.message}`;
}
