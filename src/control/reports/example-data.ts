import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { deskStates } from './desk-entries.js';
import { ReportError } from './report-errors.js';

/** The example requests (examples/generate.mjs writes them), in the desks' import layouts. */
export const EXAMPLE_FILES = {
  legal: fileURLToPath(new URL('../../../examples/legal-requests.csv', import.meta.url)),
  privacy: fileURLToPath(new URL('../../../examples/privacy-requests.csv', import.meta.url)),
} as const;

export interface ExampleLog {
  size(): Promise<number>;
  readEntries(from: number, to: number): Promise<Buffer[]>;
}

/** The desks' own ways in: the example is loaded exactly as an organisation loads its past. */
export interface ExampleDesks {
  /** The legal desk's history import (closed requests, and open ones as received). */
  importLegalHistory(csv: string): Promise<unknown>;
  /** The privacy desk's history import. */
  importPrivacyHistory(csv: string): Promise<unknown>;
}

export interface LoadExampleOptions {
  readonly log: ExampleLog;
  readonly desks: ExampleDesks;
  readonly files?: { readonly legal: string; readonly privacy: string };
}

/**
 * Loads the example requests through the desks' history imports (which check every row;
 * the legal requests still open enter the desk as received), once: a log that already holds desk
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
  const legalCsv = await readFile(files.legal, 'utf8');
  const privacyCsv = await readFile(files.privacy, 'utf8');
  await options.desks.importLegalHistory(legalCsv);
  await options.desks.importPrivacyHistory(privacyCsv);
  return { loaded: true, legal: rowsOf(legalCsv).rows.length, privacy: rowsOf(privacyCsv).rows.length };
}

function rowsOf(csv: string): { rows: Record<string, string>[] } {
  const rows = parse(csv, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
  if (rows.length === 0) throw new ReportError('INVALID_EXAMPLE_DATA', 'the example file holds no request');
  return { rows };
}
