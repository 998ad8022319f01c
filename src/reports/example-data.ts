import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import type { AuditEntry } from '../ledger/audit-sink.js';
import { isCountryCode } from '../residency/countries.js';
import {
  AUTHORITY_KINDS,
  deskStates,
  LEGAL_CATEGORIES,
  PRIVACY_OUTCOMES,
  PRIVACY_TYPES,
  REJECTION_REASONS,
} from './desk-entries.js';
import { ReportError } from './report-errors.js';

/** The example requests (examples/generate.mjs writes them), in the desks' import layouts. */
export const EXAMPLE_FILES = {
  legal: fileURLToPath(new URL('../../examples/legal-requests.csv', import.meta.url)),
  privacy: fileURLToPath(new URL('../../examples/privacy-requests.csv', import.meta.url)),
} as const;

export const LEGAL_IMPORT_COLUMNS = [
  'received_at',
  'requester_country',
  'authority_kind',
  'category',
  'outcome',
  'reason',
  'closed_at',
] as const;
export const PRIVACY_IMPORT_COLUMNS = ['received_at', 'type', 'outcome', 'closed_at'] as const;
const LEGAL_OUTCOMES = ['fulfilled', 'partially_fulfilled', 'rejected', 'withdrawn'] as const;
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

export interface ExampleLog {
  size(): Promise<number>;
  readEntries(from: number, to: number): Promise<Buffer[]>;
}

/** A legal request of the example that is still open: it goes through the desk like a new one. */
export interface OpenLegalExample {
  readonly receivedAt: string;
  readonly requesterCountry: string;
  readonly authorityKind: (typeof AUTHORITY_KINDS)[number];
  readonly category: (typeof LEGAL_CATEGORIES)[number];
}

/** The desks' own ways in: the example is loaded exactly as an organisation loads its past. */
export interface ExampleDesks {
  /** The legal desk's history import (closed requests). */
  importLegalHistory(csv: string): Promise<unknown>;
  /** A request still open, registered with its original received date. */
  receiveLegal(request: OpenLegalExample): Promise<unknown>;
  /** The privacy desk's history import. */
  importPrivacyHistory(csv: string): Promise<unknown>;
}

export interface LoadExampleOptions {
  readonly log: ExampleLog;
  readonly desks: ExampleDesks;
  readonly files?: { readonly legal: string; readonly privacy: string };
}

/**
 * Loads the example requests through the desks (their history imports, and the legal desk
 * for the requests still open), once: a log that already holds desk entries is left alone.
 *
 * @example
 * const loaded = await loadExampleData({ log: glasshouse.logs.get('control')!, desks: exampleDesksOf(glasshouse) });
 */
export async function loadExampleData(
  options: LoadExampleOptions,
): Promise<{ loaded: boolean; legal: number; privacy: number }> {
  const size = await options.log.size();
  const existing = deskStates(await options.log.readEntries(0, size));
  if (existing.legal.size > 0 || existing.privacy.size > 0) return { loaded: false, legal: 0, privacy: 0 };
  const files = options.files ?? EXAMPLE_FILES;
  const legalCsv = await readFile(files.legal, 'utf8');
  const privacyCsv = await readFile(files.privacy, 'utf8');
  // Checked whole first (the same rules as the desks), so a bad file loads nothing at all.
  const base = { time: new Date().toISOString(), actor: { role: 'admin', token: 'example' } };
  const legal = legalImportEntries(legalCsv, base);
  const privacy = privacyImportEntries(privacyCsv, base);
  const { closed, open } = splitOpen(legalCsv);
  await options.desks.importLegalHistory(closed);
  await options.desks.importPrivacyHistory(privacyCsv);
  for (const entry of legal.filter((e) => e.closedAt === null)) {
    await options.desks.receiveLegal({
      receivedAt: entry.receivedAt as string,
      requesterCountry: entry.requesterCountry as string,
      authorityKind: entry.authorityKind as OpenLegalExample['authorityKind'],
      category: entry.category as OpenLegalExample['category'],
    });
  }
  if (open !== legal.filter((e) => e.closedAt === null).length) {
    throw new ReportError('INVALID_EXAMPLE_DATA', 'the open legal requests were miscounted');
  }
  return { loaded: true, legal: legal.length, privacy: privacy.length };
}

/** The legal CSV without its open rows (empty outcome), which the history import refuses. */
function splitOpen(csv: string): { closed: string; open: number } {
  const lines = csv.split('\n').filter((line) => line.trim() !== '');
  const header = lines[0] ?? '';
  const outcomeAt = header.split(',').indexOf('outcome');
  const rows = lines.slice(1);
  const closed = rows.filter((line) => line.split(',')[outcomeAt] !== '');
  return { closed: `${[header, ...closed].join('\n')}\n`, open: rows.length - closed.length };
}

type Base = Pick<AuditEntry, 'time' | 'actor'>;

/** One `legal.request` entry (`event: imported`) per row of the legal desk's import CSV. */
export function legalImportEntries(csv: string, base: Base): AuditEntry[] {
  return rowsOf(csv, LEGAL_IMPORT_COLUMNS).map((row, i) => {
    const line = i + 2;
    const outcome = row.outcome === '' ? null : choose(LEGAL_OUTCOMES, row.outcome, 'outcome', line);
    const reason = outcome === 'rejected' ? choose(REJECTION_REASONS, row.reason, 'reason', line) : null;
    if (outcome !== 'rejected' && row.reason !== '')
      throw bad(line, 'a reason is given only for rejected requests');
    if (!isCountryCode(row.requester_country))
      throw bad(line, `"${row.requester_country}" is not a country code`);
    return {
      type: 'legal.request',
      ...base,
      request: randomUUID(),
      event: 'imported',
      receivedAt: date(row.received_at, 'received_at', line),
      requesterCountry: row.requester_country,
      authorityKind: choose(AUTHORITY_KINDS, row.authority_kind, 'authority_kind', line),
      category: choose(LEGAL_CATEGORIES, row.category, 'category', line),
      state: outcome ?? 'received',
      reason,
      closedAt: outcome === null ? null : date(row.closed_at, 'closed_at', line),
      // Imported history carries no details: a commitment to nothing, under a salt thrown away.
      details: createHmac('sha256', randomBytes(32)).update('').digest('hex'),
    };
  });
}

/** One `privacy.request` entry (`event: imported`) per row of the privacy desk's import CSV. */
export function privacyImportEntries(csv: string, base: Base): AuditEntry[] {
  return rowsOf(csv, PRIVACY_IMPORT_COLUMNS).map((row, i) => {
    const line = i + 2;
    const outcome = row.outcome === '' ? null : choose(PRIVACY_OUTCOMES, row.outcome, 'outcome', line);
    return {
      type: 'privacy.request',
      ...base,
      request: randomUUID(),
      event: 'imported',
      requestType: choose(PRIVACY_TYPES, row.type, 'type', line),
      receivedAt: date(row.received_at, 'received_at', line),
      state: outcome ?? 'received',
      outcome,
      reason: null,
      closedAt: outcome === null ? null : date(row.closed_at, 'closed_at', line),
      installation: null,
    };
  });
}

function rowsOf<C extends string>(csv: string, columns: readonly C[]): Record<C, string>[] {
  const rows = parse(csv, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  const header = Object.keys(rows[0] ?? {});
  if (rows.length > 0 && columns.some((c) => !header.includes(c))) {
    throw new ReportError('INVALID_EXAMPLE_DATA', `the CSV needs the columns ${columns.join(',')}`);
  }
  return rows as Record<C, string>[];
}

function choose<T extends string>(
  values: readonly T[],
  value: string | undefined,
  field: string,
  line: number,
): T {
  if (value !== undefined && (values as readonly string[]).includes(value)) return value as T;
  throw bad(line, `${field} must be one of ${values.join(', ')}, not "${value ?? ''}"`);
}

function date(value: string | undefined, field: string, line: number): string {
  if (value !== undefined && DATE.test(value) && !Number.isNaN(Date.parse(`${value}T00:00:00Z`)))
    return value;
  throw bad(line, `${field} must be a date, YYYY-MM-DD`);
}

function bad(line: number, message: string): ReportError {
  return new ReportError('INVALID_EXAMPLE_DATA', `line ${line}: ${message}`);
}
