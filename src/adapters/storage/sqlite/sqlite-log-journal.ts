import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { LogJournal, RecordHashReader } from '../../../ports/storage.js';

interface BatchRow {
  start: number;
  count: number;
  entries: Buffer;
  /** Per record, a uint32 BE: the end of its entry in `entries`. */
  ends: Buffer;
}

/** Batches kept decoded in memory: tiles and proofs read neighbouring records. */
const CACHED_BATCHES = 8;

/**
 * A log journal in its own SQLite database. Entries are stored one row per committed batch
 * (a batch of thousands of entries is one insert, and tiles read them by the bundle); the
 * stored hashes one small row per record, because proofs read a few dozen hashes scattered
 * over the whole tree. better-sqlite3 directly, not Kysely: this is the log's hot path and
 * its statements are fixed.
 */
export class SqliteLogJournal implements LogJournal {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[number, number, Buffer, Buffer]>;
  readonly #insertHashes: Database.Statement<[number, Buffer]>;
  readonly #hashesOf: Database.Statement<[number], Buffer>;
  readonly #size: Database.Statement<[], { size: number }>;
  readonly #batchOf: Database.Statement<[number], BatchRow>;
  readonly #cache = new Map<number, BatchRow>();

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 10000');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS log_batches (
      start INTEGER PRIMARY KEY, count INTEGER NOT NULL, entries BLOB NOT NULL, ends BLOB NOT NULL) STRICT;
      CREATE TABLE IF NOT EXISTS log_hashes (record INTEGER PRIMARY KEY, hashes BLOB NOT NULL) STRICT`);
    this.#insert = this.#db.prepare(
      'INSERT INTO log_batches (start, count, entries, ends) VALUES (?, ?, ?, ?)',
    );
    this.#insertHashes = this.#db.prepare('INSERT INTO log_hashes (record, hashes) VALUES (?, ?)');
    this.#hashesOf = this.#db
      .prepare<[number], Buffer>('SELECT hashes FROM log_hashes WHERE record = ?')
      .pluck();
    this.#size = this.#db.prepare(
      'SELECT COALESCE((SELECT start + count FROM log_batches ORDER BY start DESC LIMIT 1), 0) AS size',
    );
    this.#batchOf = this.#db.prepare(
      'SELECT start, count, entries, ends FROM log_batches WHERE start <= ? ORDER BY start DESC LIMIT 1',
    );
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
      const ends = Buffer.allocUnsafe(entries.length * 4);
      let entryEnd = 0;
      entries.forEach((entry, i) => {
        entryEnd += entry.length;
        ends.writeUInt32BE(entryEnd, i * 4);
        this.#insertHashes.run(start + i, hashes[i]!);
      });
      this.#insert.run(start, entries.length, Buffer.concat(entries), ends);
      return start;
    });
    return run.immediate();
  }

  async readRecordHashes(records: readonly number[]): Promise<Buffer[]> {
    // One read transaction for the lot, not one implicit transaction per batch.
    return this.#db.transaction(() => records.map((record) => this.#recordHashes(record))).deferred();
  }

  async readEntries(from: number, to: number): Promise<Buffer[]> {
    return this.#db
      .transaction(() => {
        const entries: Buffer[] = [];
        for (let record = from; record < to; ) {
          const batch = this.#batch(record);
          const last = Math.min(to, batch.start + batch.count);
          for (; record < last; record++) entries.push(entryOf(batch, record));
        }
        return entries;
      })
      .deferred();
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  #recordHashes(record: number): Buffer {
    const hashes = this.#hashesOf.get(record) as Buffer | undefined;
    if (hashes === undefined) throw new RangeError(`record ${record} is not in the journal`);
    return hashes;
  }

  #batch(record: number): BatchRow {
    for (const batch of this.#cache.values()) {
      if (record >= batch.start && record < batch.start + batch.count) return batch;
    }
    const batch = this.#batchOf.get(record);
    if (batch === undefined || record >= batch.start + batch.count) {
      throw new RangeError(`record ${record} is not in the journal`);
    }
    if (this.#cache.size >= CACHED_BATCHES) this.#cache.delete(this.#cache.keys().next().value!);
    this.#cache.set(batch.start, batch);
    return batch;
  }
}

function entryOf(batch: BatchRow, record: number): Buffer {
  const i = record - batch.start;
  const begin = i === 0 ? 0 : batch.ends.readUInt32BE((i - 1) * 4);
  return batch.entries.subarray(begin, batch.ends.readUInt32BE(i * 4));
}
