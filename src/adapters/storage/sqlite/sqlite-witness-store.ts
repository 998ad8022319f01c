import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { WitnessedCheckpoint, WitnessedLog, WitnessStore } from '../../../witness/witness-store.js';

interface LogRow {
  origin: string;
  verifier_key: string;
  size: number;
  root_hash: Buffer;
}

/**
 * A witness's state in SQLite: one row per log, its latest cosigned checkpoint. WAL with
 * synchronous=FULL, so a checkpoint is on disk before its cosignature leaves; `advance` runs
 * in an IMMEDIATE transaction, so two witness processes on one file never both advance
 * from the same size.
 */
export class SqliteWitnessStore implements WitnessStore {
  readonly #db: Database.Database;
  readonly #select: Database.Statement<[string], LogRow>;

  constructor(file: string) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    closeSync(openSync(file, 'a', 0o600));
    this.#db = new Database(file);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 10000');
    this.#db.exec(`CREATE TABLE IF NOT EXISTS witnessed_logs (
      origin TEXT PRIMARY KEY, verifier_key TEXT NOT NULL,
      size INTEGER NOT NULL, root_hash BLOB NOT NULL) STRICT`);
    this.#select = this.#db.prepare('SELECT * FROM witnessed_logs WHERE origin = ?');
  }

  addLog(origin: string, verifierKey: string, empty: WitnessedCheckpoint): void {
    this.#db
      .prepare('INSERT INTO witnessed_logs (origin, verifier_key, size, root_hash) VALUES (?, ?, ?, ?)')
      .run(origin, verifierKey, empty.size, empty.rootHash);
  }

  addKey(origin: string, verifierKey: string): void {
    // The keys are one per line in verifier_key: a key text holds no newline.
    this.#db
      .prepare('UPDATE witnessed_logs SET verifier_key = verifier_key || char(10) || ? WHERE origin = ?')
      .run(verifierKey, origin);
  }

  log(origin: string): WitnessedLog | undefined {
    const row = this.#select.get(origin);
    return row === undefined ? undefined : toLog(row);
  }

  logs(): readonly WitnessedLog[] {
    return this.#db.prepare<[], LogRow>('SELECT * FROM witnessed_logs ORDER BY origin').all().map(toLog);
  }

  advance(origin: string, decide: (recorded: WitnessedCheckpoint) => WitnessedCheckpoint): void {
    const update = this.#db.prepare('UPDATE witnessed_logs SET size = ?, root_hash = ? WHERE origin = ?');
    this.#db
      .transaction(() => {
        const row = this.#select.get(origin);
        if (row === undefined) throw new Error(`no witnessed log ${origin}`);
        const next = decide(toLog(row).latest);
        update.run(next.size, next.rootHash, origin);
      })
      .immediate();
  }

  close(): void {
    this.#db.close();
  }
}

function toLog(row: LogRow): WitnessedLog {
  const keys = row.verifier_key.split('\n');
  return {
    origin: row.origin,
    verifierKey: keys[0]!,
    verifierKeys: keys,
    latest: { size: row.size, rootHash: Buffer.from(row.root_hash) },
  };
}
