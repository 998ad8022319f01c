import { closeSync, mkdirSync, openSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, type Migration, Migrator, SqliteDialect, sql } from 'kysely';
import type { MetadataStore } from '../../../ports/storage.js';

export interface SqliteMetadataStoreOptions {
  readonly file: string;
  readonly migrations: Readonly<Record<string, Migration>>;
  /**
   * Commit without fsync and make commits durable in `durable()` instead, one fsync of the
   * WAL for every commit before it. For hot paths: better-sqlite3 fsyncs on the event loop,
   * which stalls every other request for the length of a disk flush.
   */
  readonly groupSync?: boolean;
}

/**
 * Opens (creating if needed) a SQLite database in WAL mode and brings its schema up to date.
 * `synchronous = FULL` because an acknowledged upload must survive a power cut, not only a
 * `kill -9`; `busy_timeout` lets the CLI write tokens while the server runs.
 */
export async function openSqliteMetadataStore<Tables>(
  options: SqliteMetadataStoreOptions,
): Promise<MetadataStore<Tables>> {
  mkdirSync(dirname(options.file), { recursive: true, mode: 0o700 });
  // Owner-only from the first byte; SQLite gives its -wal and -shm files the same mode.
  closeSync(openSync(options.file, 'a', 0o600));
  const database = new Database(options.file);
  // First: another process may be switching the new file to WAL, or migrating it.
  database.pragma('busy_timeout = 10000');
  database.pragma('journal_mode = WAL');
  // FULL syncs the WAL at every commit; NORMAL leaves it to `durable()` (see groupSync).
  database.pragma(options.groupSync === true ? 'synchronous = NORMAL' : 'synchronous = FULL');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database }) });
  // Kysely takes no lock to migrate SQLite, and runs each migration outside a transaction:
  // two processes opening a new file at once (a server and the CLI) would both create its
  // tables. One write transaction around it all makes the second wait, then find them made
  // (and a migration that fails leaves nothing half done).
  database.exec('BEGIN IMMEDIATE');
  try {
    await migrate(db, options.migrations);
    database.exec('COMMIT');
  } catch (error) {
    if (database.inTransaction) database.exec('ROLLBACK');
    await db.destroy();
    throw error;
  }
  const walSync = new GroupedSync(`${options.file}-wal`);
  const dataVersion = database.prepare('PRAGMA data_version').pluck();
  return {
    db,
    durable: options.groupSync === true ? () => walSync.sync() : async () => undefined,
    externalVersion: () => dataVersion.get() as number,
    async compact() {
      await sql`VACUUM`.execute(db);
      database.pragma('wal_checkpoint(TRUNCATE)');
    },
    async close() {
      await db.destroy();
    },
  };
}

async function migrate<Tables>(db: Kysely<Tables>, migrations: Readonly<Record<string, Migration>>) {
  // Each domain numbers its own migrations, so a domain's new one may sort before another
  // domain's last: order is kept within a domain, not across them.
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
    allowUnorderedMigrations: true,
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
}

/**
 * fdatasync of the WAL file, off the event loop, shared: callers that arrive while a sync
 * runs wait for the next one, which covers them all. Committed frames are already written to
 * the WAL, so once it is synced the commits are as durable as with `synchronous = FULL`.
 */
class GroupedSync {
  readonly #file: string;
  #running: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(file: string) {
    this.#file = file;
  }

  sync(): Promise<void> {
    if (this.#running === undefined) {
      this.#running = this.#syncOnce().finally(() => {
        this.#running = undefined;
      });
      return this.#running;
    }
    this.#next ??= this.#running.then(() => {
      this.#next = undefined;
      return this.sync();
    });
    return this.#next;
  }

  async #syncOnce(): Promise<void> {
    // Opened per sync: SQLite may delete and recreate the WAL when connections close.
    const handle = await open(this.#file, 'r').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (handle === undefined) return;
    try {
      await handle.datasync();
    } finally {
      await handle.close();
    }
  }
}
