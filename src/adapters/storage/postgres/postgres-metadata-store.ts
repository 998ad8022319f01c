import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  type Migration,
  Migrator,
  PostgresDialect,
} from 'kysely';
import pg from 'pg';
import type { MetadataStore } from '../../../ports/storage.js';
import { StorageError } from '../../../shared/storage-errors.js';
import { SerializedTransactionsDriver } from './serialized-transactions-driver.js';
import { SqliteTypesPlugin } from './sqlite-types-plugin.js';

export interface PostgresMetadataStoreOptions {
  /**
   * `postgres://user@host:port/database?sslmode=…`. Whatever it leaves out (the password
   * above all) comes from the `PG*` environment variables libpq and `pg` read: `PGHOST`,
   * `PGPORT`, `PGDATABASE`, `PGUSER`, `PGPASSWORD`. Never put a password in configuration.
   */
  readonly url: string;
  readonly migrations: Readonly<Record<string, Migration>>;
  /** Connections of the pool (default 10). */
  readonly maxConnections?: number;
  /** How often `externalVersion` looks at the server (default 1000 ms). */
  readonly versionPollMs?: number;
}

/**
 * Opens a metadata store on PostgreSQL and brings its schema up to date with the same
 * migrations as SQLite (see {@link SqliteTypesPlugin} for what their column types become).
 *
 * What the port promises, and how it holds here:
 * - Transactions run one at a time, in a process and across processes, as on SQLite (one
 *   writer at a time, the next waiting): see {@link SerializedTransactionsDriver}.
 *   Statements outside a transaction run in parallel.
 * - `durable()` resolves at once: every connection commits with `synchronous_commit` on
 *   (set here if the server's default is `off`), so a commit has reached the WAL on disk
 *   (and any synchronous standby) before it returns.
 * - `externalVersion()`: see {@link WalPosition}.
 * - Integers: `count(*)`, `sum()` and `bigint` columns come back as numbers; a value past
 *   2^53 fails the query rather than coming back rounded.
 *
 * @example
 * const store = await openPostgresMetadataStore<ControlTables>({ url: 'postgres://glasshouse@db/glasshouse', migrations });
 */
export async function openPostgresMetadataStore<Tables>(
  options: PostgresMetadataStoreOptions,
): Promise<MetadataStore<Tables>> {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: 10_000,
    // Idle connections do not keep the process alive (nor does the version poll).
    allowExitOnIdle: true,
    types: { getTypeParser },
  });
  // An idle connection that the server drops (a restart, a timeout) is reported here and
  // removed from the pool; the next query opens a new one. Without a listener, it would
  // crash the process.
  pool.on('error', () => undefined);
  const plugins = [new SqliteTypesPlugin()];
  const onCreateConnection = (connection: DatabaseConnection) => keepCommitsSynchronous(connection);
  try {
    await checkReachable(pool);
    // Migrations run at READ COMMITTED, outside the serialized transactions below: the
    // migrator waits for its lock inside a transaction, and must then see what the
    // process that held the lock migrated.
    await migrate(
      new Kysely<unknown>({ dialect: new PostgresDialect({ pool, onCreateConnection }), plugins }),
      options,
    );
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw error;
  }
  const db = new Kysely<Tables>({
    dialect: new SerializedPostgresDialect({ pool, onCreateConnection }),
    plugins,
  });
  const wal = new WalPosition(pool, options.versionPollMs ?? 1000);
  return {
    db,
    durable: async () => undefined,
    externalVersion: () => wal.version,
    compact: () => compact(pool),
    async close() {
      wal.stop();
      await db.destroy();
    },
  };
}

const INT8 = 20;
const NUMERIC = 1700;

/** `bigint` (`count(*)`, `sum` of integers, every integer column here) as a number, exactly or not at all. */
function getTypeParser(oid: number, format?: string): (text: string) => unknown {
  if (oid === INT8) return parseExactInteger;
  // `sum` of a bigint column is numeric: integral sums come back as numbers too.
  if (oid === NUMERIC)
    return (text: string) => (/^-?\d+$/.test(text) ? parseExactInteger(text) : Number(text));
  return pg.types.getTypeParser(oid, format as 'text');
}

function parseExactInteger(text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value)) {
    throw new RangeError(`PostgreSQL returned ${text}, past the integers JavaScript holds exactly (2^53)`);
  }
  return value;
}

async function keepCommitsSynchronous(connection: DatabaseConnection): Promise<void> {
  // `local`, `remote_write`, `on` and `remote_apply` all flush the local WAL before a
  // commit returns; only `off` does not, so only `off` is raised.
  await connection.executeQuery(
    CompiledQuery.raw(
      "select set_config('synchronous_commit', 'on', false) where current_setting('synchronous_commit') = 'off'",
    ),
  );
}

/** Fails with the engine's own message, the password left out, when the server cannot be used. */
async function checkReachable(pool: pg.Pool): Promise<void> {
  try {
    const client = await pool.connect();
    client.release();
  } catch (error) {
    const message = error instanceof Error ? error.message || String(error) : String(error);
    const code = (error as { code?: unknown }).code;
    throw new StorageError(
      'STORAGE_UNAVAILABLE',
      `PostgreSQL metadata store at ${redactedUrl(pool.options.connectionString ?? '')} cannot be used: ${message}${
        typeof code === 'string' ? ` (${code})` : ''
      }`,
      { cause: error },
    );
  }
}

/** The URL without its password, for messages. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(an unparseable URL)';
  }
}

async function migrate(db: Kysely<unknown>, options: PostgresMetadataStoreOptions): Promise<void> {
  // Each domain numbers its own migrations (as on SQLite): order is kept within a domain.
  // The migrator takes a PostgreSQL advisory lock, so processes opening at once migrate
  // one after the other.
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...options.migrations }) },
    allowUnorderedMigrations: true,
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) throw error;
}

/**
 * What changes whenever another process commits, read without a round trip: the server's
 * WAL position, polled every `intervalMs`. Every commit writes WAL, so the position moves
 * after each one; it also moves for this process's own commits and for other databases of
 * the cluster, which only makes a cache look again. A poll was chosen over LISTEN/NOTIFY
 * because it needs no trigger on every table (nor the privilege to create them), no
 * dedicated connection to re-establish, and cannot miss a commit while reconnecting. The
 * price is staleness: another process's commit is seen up to `intervalMs` later (a token
 * revoked by the CLI stops working within about a second). A failed poll also counts as
 * a change: the cache cannot be trusted while the server is unreachable.
 */
class WalPosition {
  readonly #pool: pg.Pool;
  readonly #timer: NodeJS.Timeout;
  #version = 0;
  #last: string | undefined;
  #polling = false;

  constructor(pool: pg.Pool, intervalMs: number) {
    this.#pool = pool;
    this.#timer = setInterval(() => void this.#poll(), intervalMs);
    this.#timer.unref();
    void this.#poll();
  }

  get version(): number {
    return this.#version;
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      // On a standby, the position replayed so far.
      const result = await this.#pool.query<{ lsn: string }>(
        'select (case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end)::text as lsn',
      );
      const lsn = result.rows[0]?.lsn;
      if (lsn !== this.#last) {
        if (this.#last !== undefined) this.#version += 1;
        this.#last = lsn;
      }
    } catch {
      this.#version += 1;
      this.#last = undefined;
    } finally {
      this.#polling = false;
    }
  }
}

/**
 * `VACUUM FULL` rewrites each table of the store's schema (and its indexes) into new files
 * and drops the old ones, so deleted rows leave the table's files. `ANALYZE` then samples
 * the surviving rows only, and rewriting `pg_statistic` drops the samples taken before,
 * which may hold values of deleted rows (most common values, histogram bounds). Last,
 * `CHECKPOINT` has the old files unlinked and lets the server recycle the WAL that still
 * holds the rows, sooner than on its own schedule.
 *
 * Privileges: vacuuming a table needs its ownership (the database owner may vacuum
 * `pg_statistic`), `CHECKPOINT` superuser or `pg_checkpoint` (PostgreSQL 15). Without them
 * the server skips the table with a warning, and the checkpoint is left to
 * `checkpoint_timeout`. See docs/storage-postgres.md.
 */
async function compact(pool: pg.Pool): Promise<void> {
  const tables = await pool.query<{ name: string }>(
    "select quote_ident(tablename) as name from pg_tables where schemaname = current_schema() and tablename not like 'kysely\\_%'",
  );
  for (const { name } of tables.rows) await pool.query(`vacuum full ${name}`);
  for (const { name } of tables.rows) await pool.query(`analyze ${name}`);
  await pool.query('vacuum full pg_catalog.pg_statistic');
  await pool.query('checkpoint').catch((error: { code?: string }) => {
    // insufficient_privilege: the server checkpoints on its own schedule.
    if (error.code !== '42501') throw error;
  });
}

/** PostgreSQL with this process's transactions one at a time (see SerializedTransactionsDriver). */
class SerializedPostgresDialect extends PostgresDialect {
  override createDriver(): Driver {
    return new SerializedTransactionsDriver(super.createDriver());
  }
}
