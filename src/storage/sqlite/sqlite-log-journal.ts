import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { LogJournal, RecordHashReader } from '../ports.js';

interface BatchRow {
  start: number;
  count: number;
  entries: Buffer;
  hashes: Buffer;
  /** Per record, two uint32 BE: the end of its entry in `entries` and of its hashes in `hashes`. */
  ends: Buffer;
}

/** Batches kept decoded in memory: tiles and proofs read neighbouring records. */
const CACHED_BATCHES = 8;

/**
 * A log journal in its own SQLite database, one row per committed batch (entries, the stored
 * hashes they added, and where each record ends): a batch of thousands of entries is one
 * insert, not thousands. better-sqlite3 directly, not Kysely: this is the log's hot path and
 * its statements are fixed.
 */
export class SqliteLogJournal implements LogJournal {
  readonly #db: Database.Database;
  readonly #insert: Database.Statement<[number, number, Buffer, Buffer, Buffer]>;
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
      start INTEGER PRIMARY KEY, count INTEGER NOT NULL,
      entries BLOB NOT NULL, hashes BLOB NOT NULL, ends BLOB NOT NULL) STRICT`);
    this.#insert = this.#db.prepare(
      'INSERT INTO log_batches (start, count, entries, hashes, ends) VALUES (?, ?, ?, ?, ?)',
    );
    this.#size = this.#db.prepare(
      'SELECT COALESCE((SELECT start + count FROM log_batches ORDER BY start DESC LIMIT 1), 0) AS size',
    );
    this.#batchOf = this.#db.prepare(
      'SELECT start, count, entries, hashes, ends FROM log_batches WHERE start <= ? ORDER BY start DESC LIMIT 1',
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
      const ends = Buffer.allocUnsafe(entries.length * 8);
      let entryEnd = 0;
      let hashEnd = 0;
      entries.forEach((entry, i) => {
        entryEnd += entry.length;
        hashEnd += hashes[i]!.length;
        ends.writeUInt32BE(entryEnd, i * 8);
        ends.writeUInt32BE(hashEnd, i * 8 + 4);
      });
      this.#insert.run(start, entries.length, Buffer.concat(entries), Buffer.concat(hashes), ends);
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
          for (; record < last; record++) entries.push(slice(batch, record, 'entries'));
        }
        return entries;
      })
      .deferred();
  }

  async close(): Promise<void> {
    this.#db.close();
  }

  #recordHashes(record: number): Buffer {
    return slice(this.#batch(record), record, 'hashes');
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

function slice(batch: BatchRow, record: number, what: 'entries' | 'hashes'): Buffer {
  const i = record - batch.start;
  const column = what === 'entries' ? 0 : 4;
  const begin = i === 0 ? 0 : batch.ends.readUInt32BE((i - 1) * 8 + column);
  const end = batch.ends.readUInt32BE(i * 8 + column);
  return batch[what].subarray(begin, end);
}
