import { readFileSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { HistoryImport } from '../privacy/history-import.js';
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

export function registerPrivacy(program: Command): void {
  const privacy = program
    .command('privacy')
    .description("the privacy desk: users' requests about their data");

  withDataDirOptions(privacy.command('import'))
    .description(
      'load historical, closed requests (CSV received_at,type,outcome,closed_at) so past years appear in reports: all of the file, or nothing if any row is bad (bad rows are listed by line)',
    )
    .argument('<file>', 'the CSV file; dates as YYYY-MM-DD, outcome completed or rejected')
    .option(
      '--url <base>',
      'send it to a running server (e.g. http://127.0.0.1:8080) instead of the data directory',
    )
    .addOption(new Option('--token <token>', 'a privacy token, with --url').env('GLASSHOUSE_TOKEN'))
    .option('--json', 'print JSON: {"loaded","sha256"}')
    .action(
      action(async (file: string, options: ImportOptions) => {
        const csv = readFileSync(file, 'utf8');
        const result =
          options.url === undefined
            ? await withGlasshouse(options, (g) => g.privacy.importHistory(csv, CLI_ACTOR).catch(listBadRows))
            : await importOverHttp(csv, options);
        printResult(
          options.json === true,
          result,
          () => `loaded ${result.loaded} requests (sha256 ${result.sha256})`,
        );
      }),
    );
}

async function importOverHttp(csv: string, options: ImportOptions): Promise<HistoryImport> {
  if (options.token === undefined)
    throw new InvalidArgumentError('--url needs --token (or $GLASSHOUSE_TOKEN)');
  const response = await fetch(new URL('/v1/privacy-requests/import', options.url), {
    method: 'POST',
    headers: { authorization: `Bearer ${options.token}`, 'content-type': 'text/csv' },
    body: csv,
  });
  const body = (await response.json()) as Record<string, unknown>;
  if (response.status === 200) return body as unknown as HistoryImport;
  const errors = Array.isArray(body.errors) ? (body.errors as BadRow[]) : [];
  throw new GlasshouseError(
    String(body.code ?? `HTTP_${response.status}`),
    [
      String(body.detail ?? response.statusText),
      ...describeRows(errors, Number(body.invalidLines ?? 0)),
    ].join('\n'),
  );
}

function listBadRows(error: unknown): never {
  if (error instanceof GlasshouseError && error.code === 'INVALID_PRIVACY_HISTORY') {
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
