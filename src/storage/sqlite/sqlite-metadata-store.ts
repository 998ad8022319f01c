import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, type Migration, Migrator, SqliteDialect, sql } from 'kysely';
import type { MetadataStore } from '../ports.js';

export interface SqliteMetadataStoreOptions {
  readonly file: string;
  readonly migrations: Readonly<Record<string, Migration>>;
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
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = FULL');
  database.pragma('busy_timeout = 10000');
  database.pragma('foreign_keys = ON');
  const db = new Kysely<Tables>({ dialect: new SqliteDialect({ database }) });
  await migrate(db, options.migrations);
  return {
    db,
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
  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) } });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
}
