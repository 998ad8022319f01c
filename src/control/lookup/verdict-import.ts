import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { parse as parseCsv } from 'csv-parse';
import { textFault } from '../../shared/text.js';
import {
  decodeVerdictHash,
  isVerdictName,
  MAX_SOURCE_LENGTH,
  MAX_THREAT_LENGTH,
  parseSeenTime,
  type VerdictInput,
} from './verdict.js';

/**
 * Verdict feeds: NDJSON, one `{"hash","verdict","threat","firstSeen"?,"lastSeen"?,"source"?}`
 * a line, or CSV (RFC 4180) with the header `hash,verdict,threat,first_seen,last_seen,source`
 * (any order; `hash` and `verdict` required). Parsed as a stream in bounded memory; every bad
 * line is counted and the first {@link MAX_REPORTED_BAD_LINES} are reported by number.
 */
export type FeedFormat = 'ndjson' | 'csv';
export const FEED_FORMATS: readonly FeedFormat[] = ['ndjson', 'csv'];

export const MAX_REPORTED_BAD_LINES = 100;
export const MAX_LINE_LENGTH = 64 * 1024;
const BATCH = 8192;

export interface BadLine {
  readonly line: number;
  readonly message: string;
}

export interface FeedReport {
  /** Verdict records read (good and bad; blank lines and the CSV header not counted). */
  readonly records: number;
  readonly good: number;
  readonly bad: number;
  /** The first bad lines, by line number (1 is the first line of the file). */
  readonly badLines: readonly BadLine[];
  readonly bytes: number;
  /** SHA-256 of the feed's bytes, hex: which file was loaded, for the log. */
  readonly sha256: string;
}

export interface FeedOptions {
  readonly format: FeedFormat;
  /** For records without times: seconds since the epoch. */
  readonly now: number;
  /** For records without a source. */
  readonly source: string;
  /** Receives good records in batches; not called any more once a bad line is seen unless `keepGoodAfterBad`. */
  readonly rows: (batch: readonly VerdictInput[]) => Promise<void> | void;
  readonly keepGoodAfterBad: boolean;
}

/**
 * Reads a feed to its end.
 *
 * @example
 * const report = await readFeed(createReadStream('feed.ndjson'), { format: 'ndjson', now, source: 'vt', rows, keepGoodAfterBad: false });
 */
export async function readFeed(
  source: AsyncIterable<Buffer | string>,
  options: FeedOptions,
): Promise<FeedReport> {
  const digest = createHash('sha256');
  let bytes = 0;
  async function* hashed(): AsyncGenerator<Buffer> {
    for await (const chunk of source) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      digest.update(buffer);
      bytes += buffer.length;
      yield buffer;
    }
  }
  const state = new FeedState(options);
  if (options.format === 'ndjson') await readNdjson(hashed(), state);
  else await readCsv(hashed(), state);
  await state.flush();
  return { ...state.report(), bytes, sha256: digest.digest('hex') };
}

class FeedState {
  readonly #options: FeedOptions;
  #batch: VerdictInput[] = [];
  #records = 0;
  #good = 0;
  #bad = 0;
  readonly #badLines: BadLine[] = [];

  constructor(options: FeedOptions) {
    this.#options = options;
  }

  async record(line: number, fields: Readonly<Record<string, unknown>>): Promise<void> {
    this.#records += 1;
    const checked = toVerdictInput(fields, this.#options);
    if (typeof checked === 'string') {
      this.bad(line, checked);
      return;
    }
    this.#good += 1;
    if (this.#bad > 0 && !this.#options.keepGoodAfterBad) return;
    this.#batch.push(checked);
    if (this.#batch.length >= BATCH) await this.flush();
  }

  bad(line: number, message: string): void {
    this.#bad += 1;
    if (this.#badLines.length < MAX_REPORTED_BAD_LINES) this.#badLines.push({ line, message });
  }

  async flush(): Promise<void> {
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    if (this.#bad > 0 && !this.#options.keepGoodAfterBad) return;
    await this.#options.rows(batch);
  }

  report() {
    return { records: this.#records, good: this.#good, bad: this.#bad, badLines: this.#badLines };
  }
}

async function readNdjson(source: AsyncIterable<Buffer>, state: FeedState): Promise<void> {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let line = 0;
  let overlong = false;
  const take = async (text: string) => {
    line += 1;
    if (overlong) {
      overlong = false;
      state.bad(line, `longer than ${MAX_LINE_LENGTH} characters`);
      return;
    }
    await parseNdjsonLine(text, line, state);
  };
  for await (const chunk of source) {
    const text = pending + decoder.write(chunk);
    let start = 0;
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n', start)) {
      await take(text.slice(start, end));
      start = end + 1;
    }
    pending = text.slice(start);
    if (pending.length > MAX_LINE_LENGTH) {
      // Keep memory bounded: drop the line's text, remember that it was too long.
      overlong = true;
      pending = '';
    }
  }
  pending += decoder.end();
  if (pending.length > 0 || overlong) await take(pending);
}

async function parseNdjsonLine(raw: string, line: number, state: FeedState): Promise<void> {
  const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (text.trim() === '') return;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    state.bad(line, 'not valid JSON');
    return;
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    state.bad(line, 'not a JSON object');
    return;
  }
  await state.record(line, value as Record<string, unknown>);
}

const CSV_COLUMNS: Readonly<Record<string, string>> = {
  hash: 'hash',
  verdict: 'verdict',
  threat: 'threat',
  first_seen: 'firstSeen',
  last_seen: 'lastSeen',
  source: 'source',
};

async function readCsv(source: AsyncIterable<Buffer>, state: FeedState): Promise<void> {
  let headerError: string | undefined;
  const parser = parseCsv({
    bom: true,
    info: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    relax_column_count: true,
    max_record_size: MAX_LINE_LENGTH,
    columns: (header: string[]) => {
      const unknown = header.filter((name) => !(name.trim() in CSV_COLUMNS));
      const missing = ['hash', 'verdict'].filter((name) => !header.map((h) => h.trim()).includes(name));
      if (unknown.length > 0) headerError = `unknown column(s) ${unknown.join(', ')}`;
      else if (missing.length > 0) headerError = `missing column(s) ${missing.join(', ')}`;
      return header.map((name) => CSV_COLUMNS[name.trim()] ?? name);
    },
    on_skip: (error) => {
      if (error !== undefined) state.bad(Number(error.lines ?? 0), error.message);
      return undefined;
    },
  });
  const input = Readable.from(source);
  // A failing body (cut off, or over its limit) fails the import; it is no bad line.
  let inputError: Error | undefined;
  input.on('error', (error) => {
    inputError = error;
    parser.destroy(error);
  });
  input.pipe(parser);
  try {
    for await (const item of parser as AsyncIterable<{
      record: Record<string, string | undefined>;
      info: { lines: number; invalid_field_length: number };
    }>) {
      if (headerError !== undefined) break;
      if (item.info.invalid_field_length > 0) {
        state.bad(item.info.lines, 'wrong number of fields');
        continue;
      }
      await state.record(item.info.lines, item.record);
    }
  } catch (error) {
    if (inputError !== undefined) throw inputError;
    const lines = (error as { lines?: unknown }).lines;
    state.bad(typeof lines === 'number' ? lines : 0, (error as Error).message);
  } finally {
    input.unpipe(parser);
    parser.destroy();
    input.destroy();
  }
  if (headerError !== undefined) state.bad(1, `header: ${headerError}`);
}

/** Checks one record; a string is the reason it is bad. */
export function toVerdictInput(
  fields: Readonly<Record<string, unknown>>,
  defaults: { readonly now: number; readonly source: string },
): VerdictInput | string {
  const { hash, verdict, threat, firstSeen, lastSeen, source } = fields;
  if (typeof hash !== 'string') return 'hash is missing';
  const decoded = decodeVerdictHash(hash);
  if (decoded === undefined) return 'hash is not an MD5, SHA-1 or SHA-256 in hex';
  if (!isVerdictName(verdict)) return 'verdict must be malicious, suspicious or clean';
  if (threat !== undefined && threat !== null && typeof threat !== 'string') return 'threat must be a string';
  const threatName = (threat ?? '').trim();
  if (threatName.length > MAX_THREAT_LENGTH) return `threat is longer than ${MAX_THREAT_LENGTH} characters`;
  const threatFault = nameFault(threatName);
  if (threatFault !== undefined) return `threat ${threatFault}`;
  const first = seenTime(firstSeen, defaults.now);
  if (first === undefined) return 'firstSeen must be a date (YYYY-MM-DD) or a date-time with a zone';
  const last = seenTime(lastSeen, Math.max(first, defaults.now));
  if (last === undefined) return 'lastSeen must be a date (YYYY-MM-DD) or a date-time with a zone';
  if (last < first) return 'lastSeen is before firstSeen';
  if (source !== undefined && source !== null && typeof source !== 'string') return 'source must be a string';
  const sourceName = source === undefined || source === null || source === '' ? defaults.source : source;
  if (sourceName.length > MAX_SOURCE_LENGTH) return `source is longer than ${MAX_SOURCE_LENGTH} characters`;
  const sourceFault = nameFault(sourceName);
  if (sourceFault !== undefined) return `source ${sourceFault}`;
  return {
    kind: decoded.kind,
    digest: decoded.digest,
    verdict,
    threat: threatName,
    firstSeen: first,
    lastSeen: last,
    source: sourceName,
  };
}

/**
 * Names from a feed are Unicode text without NUL or control characters (line breaks aside). Bytes that are not UTF-8 reach us decoded
 * as U+FFFD (the decoders replace them), and no threat is named with a replacement
 * character, so its presence means the feed is mis-encoded.
 */
function nameFault(name: string): string | undefined {
  if (name.includes(REPLACEMENT_CHARACTER)) return 'is not valid UTF-8';
  return textFault(name);
}

const REPLACEMENT_CHARACTER = '\uFFFD';

function seenTime(value: unknown, fallback: number): number | undefined {
  if (value === undefined || value === null || value === '') return fallback;
  return typeof value === 'string' ? parseSeenTime(value) : undefined;
}
