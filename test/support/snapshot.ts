import { relative } from 'node:path';
import Database from 'better-sqlite3';
import { filesUnder } from './files.js';
import type { Harness } from './harness.js';
import { publishAll } from './ledger.js';

export interface StoresAndLogs {
  /** Entries in every node's log. */
  readonly logSizes: Readonly<Record<string, number>>;
  /** Samples and bytes at every site. */
  readonly usage: Readonly<Record<string, { samples: number; bytes: number }>>;
  /** `<file>/<table>` → rows, for every table of every SQLite store in the data directory. */
  readonly rows: Readonly<Record<string, number>>;
}

/**
 * What a refused request must leave as it was: the size of every log, every site's usage and
 * the row count of every table of every store. The logs publish their tiles in the
 * background, so each is brought up to date first: a tile published late is not a change.
 *
 * @example
 * const before = await storesAndLogs(h); … ; expect(await storesAndLogs(h)).toEqual(before);
 */
export async function storesAndLogs(h: Harness): Promise<StoresAndLogs> {
  const logSizes: Record<string, number> = {};
  for (const [node, log] of h.glasshouse.logs) {
    await publishAll(log);
    logSizes[node] = await log.size();
  }
  const usage: Record<string, { samples: number; bytes: number }> = {};
  for (const [name, site] of h.glasshouse.sites) {
    // Only what is stored: usage also reports when the log last caught up, which is not a change.
    const { samples, bytes } = await site.usage();
    usage[name] = { samples, bytes };
  }
  return { logSizes, usage, rows: rowCounts(h.dataDir) };
}

function rowCounts(dataDir: string): Record<string, number> {
  const rows: Record<string, number> = {};
  for (const path of filesUnder(dataDir).filter((file) => file.endsWith('.db'))) {
    const db = new Database(path, { readonly: true, fileMustExist: true });
    try {
      const tables = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .pluck()
        .all() as string[];
      for (const table of tables) {
        const count = db
          .prepare(`SELECT count(*) FROM "${table.replaceAll('"', '""')}"`)
          .pluck()
          .get();
        rows[`${relative(dataDir, path)}/${table}`] = Number(count);
      }
    } finally {
      db.close();
    }
  }
  return rows;
}
