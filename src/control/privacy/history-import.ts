import { parse } from 'csv-parse/sync';
import { PrivacyError } from './privacy-errors.js';
import { isRequestType, type RequestType } from './privacy-request.js';

/** The columns of a history file, in order. */
export const HISTORY_COLUMNS = ['received_at', 'type', 'outcome', 'closed_at'] as const;

/** The most rows one file may hold (a vendor's decade of requests fits many times over). */
export const MAX_HISTORY_ROWS = 100_000;

/** How many bad rows a refusal lists (it counts them all). */
const LISTED_ERRORS = 100;

export interface HistoryRow {
  readonly receivedAt: string;
  readonly type: RequestType;
  readonly outcome: 'completed' | 'rejected';
  readonly closedAt: string;
}

export interface HistoryImport {
  readonly loaded: number;
  /** SHA-256 of the file, to tie the import to the file an operator kept. */
  readonly sha256: string;
}

const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z)?$/;

/**
 * Parses and checks a history file; throws `INVALID_PRIVACY_HISTORY` listing every bad row by
 * its line number (the header is line 1) when any row is bad, so nothing of it is loaded.
 */
export function parseHistory(csv: string): HistoryRow[] {
  let records: { record: string[]; info: { lines: number } }[];
  try {
    records = parse(csv, {
      info: true,
      skip_empty_lines: true,
      trim: true,
      relax_column_count: true,
    }) as unknown as typeof records;
  } catch (cause) {
    const line = (cause as { lines?: number }).lines ?? 1;
    throw invalid([{ line, message: `not valid CSV: ${(cause as Error).message}` }], 1);
  }
  const [header, ...body] = records;
  if (header === undefined || header.record.join(',') !== HISTORY_COLUMNS.join(',')) {
    throw invalid([{ line: 1, message: `the header must be ${HISTORY_COLUMNS.join(',')}` }], 1);
  }
  if (body.length > MAX_HISTORY_ROWS) {
    throw invalid([{ line: 1, message: `at most ${MAX_HISTORY_ROWS} rows per file` }], 1);
  }
  const rows: HistoryRow[] = [];
  const errors: { line: number; message: string }[] = [];
  for (const { record, info } of body) {
    const checked = checkRow(record);
    if (typeof checked === 'string') errors.push({ line: info.lines, message: checked });
    else rows.push(checked);
  }
  if (errors.length > 0) throw invalid(errors.slice(0, LISTED_ERRORS), errors.length);
  return rows;
}

function checkRow(record: readonly string[]): HistoryRow | string {
  if (record.length !== HISTORY_COLUMNS.length) {
    return `expected ${HISTORY_COLUMNS.length} fields, found ${record.length}`;
  }
  const [receivedAt = '', type = '', outcome = '', closedAt = ''] = record;
  const received = isoOf(receivedAt);
  if (received === undefined) return `received_at: "${receivedAt}" is not a date (YYYY-MM-DD)`;
  if (!isRequestType(type)) return `type: "${type}" is not inventory, export or erasure`;
  if (outcome !== 'completed' && outcome !== 'rejected') {
    return `outcome: "${outcome}" is not completed or rejected (history holds closed requests only)`;
  }
  const closed = isoOf(closedAt);
  if (closed === undefined) return `closed_at: "${closedAt}" is not a date (YYYY-MM-DD)`;
  if (closed < received) return 'closed_at is before received_at';
  return { receivedAt: received, type, outcome, closedAt: closed };
}

function isoOf(text: string): string | undefined {
  if (!DATE.test(text)) return undefined;
  const time = Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(time)) return undefined;
  const iso = new Date(time).toISOString();
  // Date.parse rolls 2021-02-30 over to March: refuse dates that do not exist.
  return iso.slice(0, 10) === text.slice(0, 10) ? iso : undefined;
}

function invalid(errors: readonly { line: number; message: string }[], total: number): PrivacyError {
  return new PrivacyError(
    'INVALID_PRIVACY_HISTORY',
    `${total} bad row(s) in the history file; nothing was loaded`,
    { details: { errors, invalidLines: total } },
  );
}
