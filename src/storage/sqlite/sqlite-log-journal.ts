import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { LogJournal, RecordHashReader } from '../ports.js';

/**
 * A log journal in its own SQLite database: one row per entry, holding the entry and the
 * stored hashes it added. better-sqlite3 directly, not Kysely: the journal is the log's hot
 * path (a million appends in the benchmark) and its three statements are fixed.
 */
export class SqliteLogJournal implements LogJournal {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[number, Uint8Array, Buffer]>;
  readonly #size: Database.Statement<[], { size: number }>;
  readonly #hashes: Database.Statement<[number], { hashes: Buffer }>;
  readonly #entries: Database.Statement<[number, number], { entry: Buffer }>;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 10000');
    this.#db.exec(
      'CREATE TABLE IF NOT EXISTS log_records (idx INTEGER PRIMARY KEY, entry BLOB NOT NULL, hashes BLOB NOT NULL) STRICT',
    );
    this.#insert = this.#db.prepare('INSERT INTO log_records (idx, entry, hashes) VALUES (?, ?, ?)');
    this.#size = this.#db.prepare('SELECT COALESCE(MAX(idx) + 1, 0) AS size FROM log_records');
    this.#hashes = this.#db.prepare('SELECT hashes FROM log_records WHERE idx = ?');
    this.#entries = this.#db.prepare('SELECT entry FROM log_records WHERE idx >= ? AND idx < ? ORDER BY idx');
  }

  async size(): Promise<number> {
    return this.#size.get()!.size;
  }

  async append(
    entries: readonly Uint8Array[],
    sequence: (start: number, readRecord: RecordHashReader) => readonly Buffer[],
  ): Promise<number> {
    // IMMEDIATE: take the write lock before reading the size, so two processes never
    // sequence the same index.
    const run = this.#db.transaction(() => {
      const start = this.#size.get()!.size;
      const hashes = sequence(start, (record) => this.#recordHashes(record));
      entries.forEach((entry, i) => {
        this.#insert.run(start + i, entry, hashes[i]!);
      });
      return start;
    });
    return run.immediate();
  }

  async readRecordHashes(records: readonly number[]): Promise<Buffer[]> {
    return records.map((record) => this.#recordHashes(record));
  }

  async readEntries(from: number, to: number): Promise<Buffer[]> {
    const rows = this.#entries.all(from, to);
    if (rows.length !== to - from) throw new RangeError(`entries ${from}..${to} are not all in the journal`);
    return rows.map((row) => row.entry);
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  #recordHashes(record: number): Buffer {
    const row = this.#hashes.get(record);
    if (row === undefined) throw new RangeError(`record ${record} is not in the journal`);
    return row.hashes;
  }
}
