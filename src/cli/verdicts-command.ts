import { createReadStream, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { extname } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { FEED_FORMATS, type FeedFormat, type ImportResult } from '../control/lookup/index.js';
import { GlasshouseError } from '../shared/errors.js';
import { CLI_ACTOR, type DataDirOptions, withDataDirOptions, withGlasshouse } from './data-dir-options.js';
import { UsageError } from './failure.js';
import { action, printResult } from './output.js';
import { progressReporter } from './progress.js';

interface ImportOptions extends DataDirOptions {
  readonly json?: boolean;
  readonly url?: string;
  readonly token?: string;
  readonly format?: FeedFormat;
  readonly skipBad?: boolean;
  readonly source?: string;
}

const CONTENT_TYPE: Readonly<Record<FeedFormat, string>> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv',
};

export function registerVerdicts(program: Command): void {
  const verdicts = program.command('verdicts').description('hash reputation: load verdict feeds');

  withDataDirOptions(verdicts.command('import'))
    .description(
      'load an NDJSON or CSV feed: all of it, or nothing if any line is bad (bad lines are listed by number)',
    )
    .argument('<file>', 'the feed (.csv is CSV, anything else NDJSON unless --format says)')
    .option(
      '--url <base>',
      'send it to a running server (e.g. http://127.0.0.1:8080) instead of the data directory',
    )
    .addOption(new Option('--token <token>', 'an analyst token, with --url').env('GLASSHOUSE_TOKEN'))
    .option('--format <format>', `${FEED_FORMATS.join(' or ')} (default: by file extension)`, parseFormat)
    .option('--skip-bad', 'load the good lines of a feed that has bad ones')
    .option('--source <name>', 'source recorded for lines that name none')
    .option('--json', 'print JSON: {"records","loaded","bad","badLines","bytes","sha256"}')
    .action(
      action(async (file: string, options: ImportOptions) => {
        const format = options.format ?? (extname(file).toLowerCase() === '.csv' ? 'csv' : 'ndjson');
        const size = statSync(file).size;
        const progress = progressReporter({ what: 'verdicts', unit: 'bytes' });
        const meter = byteMeter((done) => progress.update(done, size));
        const result =
          options.url === undefined
            ? await withGlasshouse(options, (g) =>
                g.verdicts
                  .import(
                    createReadStream(file, { highWaterMark: 1 << 20 }).pipe(meter),
                    { format, skipBad: options.skipBad === true, source: options.source },
                    CLI_ACTOR,
                  )
                  .catch(listBadLines),
              )
            : await importOverHttp(file, size, format, options, meter);
        progress.done();
        printResult(options.json === true, result, () => describe(result));
      }),
    );
}

function describe(result: ImportResult): string {
  const lines = [`loaded ${result.loaded} of ${result.records} verdicts (sha256 ${result.sha256})`];
  if (result.bad > 0)
    lines.push(`skipped ${result.bad} bad line(s):`, ...badLines(result.badLines, result.bad));
  return lines.join('\n');
}

function badLines(list: readonly { line: number; message: string }[], total: number): string[] {
  const out = list.map((b) => `  line ${b.line}: ${b.message}`);
  if (total > list.length) out.push(`  … and ${total - list.length} more`);
  return out;
}

/** An INVALID_FEED error with every reported bad line, not only the first. */
function listBadLines(error: unknown): never {
  if (error instanceof GlasshouseError && error.code === 'INVALID_FEED') {
    const errors = (error.details?.errors ?? []) as { line: number; message: string }[];
    const total = Number(error.details?.invalidLines ?? errors.length);
    throw new GlasshouseError(error.code, [error.message, ...badLines(errors, total)].join('\n'));
  }
  throw error;
}

/** Streams the file to `POST /v1/verdicts/import`; the progress bar follows the bytes sent. */
async function importOverHttp(
  file: string,
  size: number,
  format: FeedFormat,
  options: ImportOptions,
  meter: Transform,
): Promise<ImportResult> {
  const token = options.token;
  if (token === undefined || token === '')
    throw new UsageError('--url needs a token: give --token or set $GLASSHOUSE_TOKEN');
  const url = new URL('/v1/verdicts/import', options.url);
  if (options.skipBad === true) url.searchParams.set('skipBad', 'true');
  if (options.source !== undefined) url.searchParams.set('source', options.source);
  const request = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': CONTENT_TYPE[format],
      'content-length': String(size),
    },
  });
  const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
    request.once('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () =>
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
      response.once('error', reject);
    });
    request.once('error', reject);
  });
  // The server may answer (401, 415) before it read everything: its answer wins.
  const sent = pipeline(createReadStream(file, { highWaterMark: 1 << 20 }), meter, request).catch(
    () => undefined,
  );
  const { status, body } = await answered;
  await sent;
  const parsed = JSON.parse(body) as Record<string, unknown>;
  if (status === 200) return parsed as unknown as ImportResult;
  const errors = Array.isArray(parsed.errors) ? (parsed.errors as { line: number; message: string }[]) : [];
  const detail = [String(parsed.detail ?? body)];
  if (parsed.code === 'INVALID_FEED') detail.push(...badLines(errors, Number(parsed.invalidLines ?? 0)));
  throw new GlasshouseError(String(parsed.code ?? `HTTP_${status}`), detail.join('\n'));
}

function byteMeter(onProgress: (done: number) => void): Transform {
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      done += chunk.length;
      onProgress(done);
      callback(null, chunk);
    },
  });
}

function parseFormat(text: string): FeedFormat {
  if (!(FEED_FORMATS as readonly string[]).includes(text)) {
    throw new InvalidArgumentError(`expected ${FEED_FORMATS.join(' or ')}`);
  }
  return text as FeedFormat;
}
