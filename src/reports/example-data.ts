import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { writeCsv } from '../shared/csv.js';
import { type AUTHORITY_KINDS, deskStates, type LEGAL_CATEGORIES } from './desk-entries.js';
import { ReportError } from './report-errors.js';

/** The example requests (examples/generate.mjs writes them), in the desks' import layouts. */
export const EXAMPLE_FILES = {
  legal: fileURLToPath(new URL('../../examples/legal-requests.csv', import.meta.url)),
  privacy: fileURLToPath(new URL('../../examples/privacy-requests.csv', import.meta.url)),
} as const;

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
 * Loads the example requests through the desks (their history imports, which check every
 * row, and the legal desk for the requests still open), once: a log that already holds desk
 * entries is left alone.
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
  const legal = rowsOf(await readFile(files.legal, 'utf8'));
  const privacyCsv = await readFile(files.privacy, 'utf8');
  // The history import takes closed requests only; an empty outcome marks one still open.
  const open = legal.rows.filter((row) => row.outcome === '');
  const closed = legal.rows.filter((row) => row.outcome !== '');
  await options.desks.importLegalHistory(toCsv(legal.columns, closed));
  await options.desks.importPrivacyHistory(privacyCsv);
  for (const row of open) {
    await options.desks.receiveLegal({
      receivedAt: row.received_at ?? '',
      requesterCountry: row.requester_country ?? '',
      authorityKind: row.authority_kind as OpenLegalExample['authorityKind'],
      category: row.category as OpenLegalExample['category'],
    });
  }
  return { loaded: true, legal: legal.rows.length, privacy: rowsOf(privacyCsv).rows.length };
}

function rowsOf(csv: string): { columns: string[]; rows: Record<string, string>[] } {
  const rows = parse(csv, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  const columns = csv.slice(0, csv.indexOf('\n')).trim().split(',');
  if (rows.length === 0) throw new ReportError('INVALID_EXAMPLE_DATA', 'the example file holds no request');
  return { columns, rows };
}

function toCsv(columns: readonly string[], rows: readonly Record<string, string>[]): string {
  return writeCsv([columns, ...rows.map((row) => columns.map((c) => row[c] ?? ''))], 'lf');
}
