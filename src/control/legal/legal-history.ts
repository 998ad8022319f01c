import { parse } from 'csv-parse/sync';
import { isCountryCode } from '../residency/countries.js';
import {
  AUTHORITY_KINDS,
  type AuthorityKind,
  FINAL_STATES,
  isMember,
  LEGAL_CATEGORIES,
  type LegalCategory,
  type LegalState,
  REJECTION_REASONS,
  type RejectionReason,
} from './legal-request.js';
import { isCalendarDate } from './legal-validation.js';

export const HISTORY_COLUMNS = [
  'received_at',
  'requester_country',
  'authority_kind',
  'category',
  'outcome',
  'reason',
  'closed_at',
] as const;
export const MAX_HISTORY_ROWS = 100_000;

/**
 * One request of an organisation's past, as the CSV gives it: closed, or still open (no
 * outcome and no `closed_at`), which then enters the desk as `received`.
 */
export interface HistoricalRequest {
  /** Line of the file (1 is the header). */
  readonly line: number;
  readonly receivedAt: string;
  readonly requesterCountry: string;
  readonly authorityKind: AuthorityKind;
  readonly category: LegalCategory;
  readonly outcome: LegalState;
  readonly reason: RejectionReason | null;
  /** Null for a request still open. */
  readonly closedAt: string | null;
}

export interface BadRow {
  readonly line: number;
  readonly message: string;
}

/**
 * Reads a history CSV (RFC 4180, header `received_at,requester_country,authority_kind,
 * category,outcome,reason,closed_at` in any order). Every row is checked; the answer is
 * either every row, or every bad row by line.
 *
 * @example
 * parseHistory('received_at,…\n2021-08-03,DE,law_enforcement,technical_expertise,fulfilled,,2021-08-20\n', '2026-01-01');
 */
export function parseHistory(
  text: string,
  today: string,
): { rows: HistoricalRequest[]; bad: [] } | { rows: []; bad: BadRow[] } {
  let records: { record: Record<string, string>; info: { lines: number; invalid_field_length: number } }[];
  try {
    records = parse(text, {
      bom: true,
      columns: (header: string[]) => checkHeader(header.map((h) => h.trim())),
      skip_empty_lines: true,
      trim: true,
      info: true,
      relax_column_count: true,
    });
  } catch (error) {
    const lines = (error as { lines?: unknown }).lines;
    return {
      rows: [],
      bad: [{ line: typeof lines === 'number' ? lines : 1, message: (error as Error).message }],
    };
  }
  if (records.length > MAX_HISTORY_ROWS) {
    return {
      rows: [],
      bad: [{ line: MAX_HISTORY_ROWS + 2, message: `at most ${MAX_HISTORY_ROWS} rows a file` }],
    };
  }
  const rows: HistoricalRequest[] = [];
  const bad: BadRow[] = [];
  for (const { record, info } of records) {
    const checked =
      info.invalid_field_length > 0 ? 'wrong number of fields' : checkRow(record, info.lines, today);
    if (typeof checked === 'string') bad.push({ line: info.lines, message: checked });
    else rows.push(checked);
  }
  if (records.length === 0) bad.push({ line: 1, message: 'the file has a header and no rows' });
  return bad.length > 0 ? { rows: [], bad } : { rows, bad: [] };
}

function checkHeader(header: string[]): string[] {
  const unknown = header.filter((name) => !(HISTORY_COLUMNS as readonly string[]).includes(name));
  const missing = HISTORY_COLUMNS.filter((name) => !header.includes(name));
  if (unknown.length > 0 || missing.length > 0 || new Set(header).size !== header.length) {
    const problems = [
      unknown.length > 0 ? `unknown column(s) ${unknown.join(', ')}` : '',
      missing.length > 0 ? `missing column(s) ${missing.join(', ')}` : '',
    ].filter((p) => p !== '');
    throw Object.assign(new Error(`header: ${problems.join('; ') || 'a column is repeated'}`), { lines: 1 });
  }
  return header;
}

const OUTCOMES = FINAL_STATES;

function checkRow(record: Record<string, string>, line: number, today: string): HistoricalRequest | string {
  const r = (name: (typeof HISTORY_COLUMNS)[number]) => record[name] ?? '';
  const receivedAt = r('received_at');
  const closedAt = r('closed_at');
  if (!isCalendarDate(receivedAt)) return 'received_at is not a date (YYYY-MM-DD)';
  if (receivedAt > today) return 'received_at is in the future';
  const open = r('outcome') === '' && closedAt === '';
  if (!open) {
    if (!isCalendarDate(closedAt))
      return 'closed_at is not a date (YYYY-MM-DD), or empty with an empty outcome';
    if (closedAt < receivedAt) return 'closed_at is before received_at';
    if (closedAt > today) return 'closed_at is in the future';
  }
  if (!isCountryCode(r('requester_country'))) return 'requester_country is not an ISO 3166-1 alpha-2 code';
  if (!isMember<AuthorityKind>(AUTHORITY_KINDS, r('authority_kind'))) {
    return `authority_kind is not one of ${AUTHORITY_KINDS.join(', ')}`;
  }
  if (!isMember<LegalCategory>(LEGAL_CATEGORIES, r('category'))) {
    return `category is not one of ${LEGAL_CATEGORIES.join(', ')}`;
  }
  const outcome = open ? 'received' : r('outcome');
  if (!isMember<LegalState>(OUTCOMES, outcome) && !open) {
    return `outcome is not one of ${OUTCOMES.join(', ')} (or empty, with an empty closed_at, for a request still open)`;
  }
  const reason = r('reason');
  if (outcome === 'rejected' && !isMember<RejectionReason>(REJECTION_REASONS, reason)) {
    return `a rejected request needs a reason: ${REJECTION_REASONS.join(', ')}`;
  }
  if (outcome !== 'rejected' && reason !== '') return 'only a rejected request has a reason';
  return {
    line,
    receivedAt,
    requesterCountry: r('requester_country'),
    authorityKind: r('authority_kind') as AuthorityKind,
    category: r('category') as LegalCategory,
    outcome: outcome as LegalState,
    reason: outcome === 'rejected' ? (reason as RejectionReason) : null,
    closedAt: open ? null : closedAt,
  };
}
