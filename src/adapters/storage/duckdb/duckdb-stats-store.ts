import { chmodSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type DuckDBConnection, DuckDBInstance, type DuckDBValue } from '@duckdb/node-api';
import {
  STATS_ROW_COLUMNS,
  type StatsAggregation,
  type StatsEventRow,
  type StatsGroup,
  type StatsGroupKey,
  type StatsStore,
  type TimeRange,
} from '../../../ports/storage.js';
import { StorageError } from '../../../shared/storage-errors.js';
import { writeFully } from '../../../shared/write-fully.js';

/** The events table; the benchmark's baseline creates the same shape. */
export const EVENTS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS events (
  ts TIMESTAMP NOT NULL,
  installation UUID NOT NULL,
  type VARCHAR NOT NULL,
  country VARCHAR NOT NULL,
  sha256 VARCHAR,
  md5 VARCHAR,
  verdict VARCHAR,
  threat VARCHAR,
  product VARCHAR,
  os VARCHAR
)`;

/** `read_csv` columns for the load format of `STATS_ROW_COLUMNS`. */
const LOAD_COLUMNS =
  "{'ts':'TIMESTAMP','installation':'UUID','type':'VARCHAR','country':'VARCHAR','sha256':'VARCHAR'," +
  "'md5':'VARCHAR','verdict':'VARCHAR','threat':'VARCHAR','product':'VARCHAR','os':'VARCHAR'}";
const FIELD_SEPARATOR = String.fromCharCode(0x1f);
/** The field separator is the character U+001F itself: DuckDB reads no escape sequence here. */
const LOAD_OPTIONS = `delim='${String.fromCharCode(0x1f)}', quote='', escape='', header=false, auto_detect=false, nullstr=''`;

/** The SQL of each group key, never caller text. */
export const GROUP_KEY_SQL: Readonly<Record<StatsGroupKey, string>> = {
  day: "strftime(ts, '%Y-%m-%d')",
  country: 'country',
  threat: 'threat',
  verdict: 'verdict',
  type: 'type',
};

export interface DuckDbStatsStoreOptions {
  /** The site's `stats/` directory: `stats.duckdb`, and `load/` for files being loaded. */
  readonly directory: string;
  /** DuckDB's `memory_limit`, in MiB. */
  readonly memoryLimitMb: number;
}

/**
 * The embedded `StatsStore`: one DuckDB database per site. Loads go through `read_csv` on a
 * scratch file, so DuckDB parses on its own threads instead of the event loop taking a
 * native call per value; the rows and the `loaded_through` marker commit in one
 * transaction. Writes and reads use separate connections, each serialized.
 */
export class DuckDbStatsStore implements StatsStore {
  #instance: DuckDBInstance;
  readonly #writer: Serialized;
  readonly #reader: Serialized;
  readonly #loadDirectory: string;
  readonly #options: DuckDbStatsStoreOptions;
  #loads = 0;

  private constructor(opened: OpenedDatabase, options: DuckDbStatsStoreOptions) {
    this.#instance = opened.instance;
    this.#writer = new Serialized(opened.writer);
    this.#reader = new Serialized(opened.reader);
    this.#loadDirectory = join(options.directory, 'load');
    this.#options = options;
  }

  /**
   * @example
   * const store = await DuckDbStatsStore.open({ directory: 'data/sites/zurich/stats', memoryLimitMb: 512 });
   */
  static async open(options: DuckDbStatsStoreOptions): Promise<DuckDbStatsStore> {
    const loadDirectory = join(options.directory, 'load');
    mkdirSync(loadDirectory, { recursive: true, mode: 0o700 });
    // Scratch files of loads a crash interrupted: their rows are still in the write-ahead log.
    for (const name of readdirSync(loadDirectory)) rmSync(join(loadDirectory, name), { force: true });
    // A rewrite a crash interrupted (see compact): the database it would have replaced is intact.
    rmSync(rewriteFile(options.directory), { force: true });
    rmSync(`${rewriteFile(options.directory)}.wal`, { force: true });
    // Databases that an older version left readable by others (0644) become owner-only.
    for (const entry of readdirSync(options.directory, { withFileTypes: true })) {
      if (entry.isFile()) chmodSync(join(options.directory, entry.name), 0o600);
    }
    return new DuckDbStatsStore(await openDatabase(options), options);
  }

  load(rows: readonly Uint8Array[], through: number): Promise<void> {
    return this.#writer.use(async (db) => {
      const file = join(this.#loadDirectory, `load-${process.pid}-${this.#loads++}.rows`);
      await writeScratch(file, rows);
      try {
        await inTransaction(db, async () => {
          await db.run(
            `INSERT INTO events SELECT * FROM read_csv('${file.replaceAll("'", "''")}', ${LOAD_OPTIONS}, columns=${LOAD_COLUMNS})`,
          );
          await db.run('UPDATE load_marker SET loaded_through = $1 WHERE id = 1', [through]);
        });
      } finally {
        await unlink(file).catch(() => undefined);
      }
    });
  }

  loadedThrough(): Promise<number> {
    return this.#writer.use(async (db) => {
      const reader = await db.runAndReadAll('SELECT loaded_through FROM load_marker WHERE id = 1');
      return Number(reader.getRows()[0]?.[0] ?? 0);
    });
  }

  aggregate(query: StatsAggregation): Promise<StatsGroup[]> {
    const { sql, values } = aggregateSql(query);
    return this.#reader.use(async (db) => {
      const reader = await db.runAndReadAll(sql, values);
      const width = query.groupBy.length;
      return reader.getRows().map((row) => ({
        key: row.slice(0, width).map((v) => (v === null ? null : String(v))),
        events: Number(row[width]),
        installations: Number(row[width + 1]),
      }));
    });
  }

  deleteBefore(cutoff: Date): Promise<number> {
    return this.#writer.use(async (db) => {
      const result = await db.run('DELETE FROM events WHERE ts < CAST($1 AS TIMESTAMP)', [
        toTimestamp(cutoff),
      ]);
      return result.rowsChanged;
    });
  }

  eventsOf(installationId: string, range: TimeRange): Promise<StatsEventRow[]> {
    const where = ['installation = CAST($1 AS UUID)'];
    const values: DuckDBValue[] = [installationId];
    if (range.from !== undefined) {
      values.push(toTimestamp(range.from));
      where.push(`ts >= CAST($${values.length} AS TIMESTAMP)`);
    }
    if (range.to !== undefined) {
      values.push(toTimestamp(range.to));
      where.push(`ts < CAST($${values.length} AS TIMESTAMP)`);
    }
    const columns = STATS_ROW_COLUMNS.map((c) =>
      c === 'ts' ? "strftime(ts, '%Y-%m-%dT%H:%M:%S.%gZ')" : `CAST(${c} AS VARCHAR)`,
    ).join(', ');
    return this.#reader.use(async (db) => {
      const reader = await db.runAndReadAll(
        `SELECT ${columns} FROM events WHERE ${where.join(' AND ')} ORDER BY ts`,
        values,
      );
      return reader
        .getRows()
        .map(
          (row) =>
            Object.fromEntries(
              STATS_ROW_COLUMNS.map((c, i) => [c, row[i] === null ? null : String(row[i])]),
            ) as StatsEventRow,
        );
    });
  }

  deleteInstallation(installationId: string): Promise<number> {
    return this.#writer.use(async (db) => {
      const result = await db.run('DELETE FROM events WHERE installation = CAST($1 AS UUID)', [
        installationId,
      ]);
      return result.rowsChanged;
    });
  }

  exportInstallation(installationId: string): Promise<string[]> {
    // The load format's columns, in its order and text forms.
    const fields = STATS_ROW_COLUMNS.map((column) =>
      column === 'ts'
        ? "strftime(ts, '%Y-%m-%d %H:%M:%S.%g')"
        : column === 'installation'
          ? 'CAST(installation AS VARCHAR)'
          : column,
    );
    return this.#writer.use(async (db) => {
      const reader = await db.runAndReadAll(
        `SELECT ${fields.join(', ')} FROM events WHERE installation = CAST($1 AS UUID)`,
        [installationId],
      );
      return reader
        .getRows()
        .map((row) => `${row.map((v) => (v === null ? '' : String(v))).join(FIELD_SEPARATOR)}\n`);
    });
  }

  countByInstallation(): Promise<Map<string, number>> {
    return this.#writer.use(async (db) => {
      const reader = await db.runAndReadAll(
        'SELECT CAST(installation AS VARCHAR), count(*) FROM events GROUP BY installation',
      );
      return new Map(reader.getRows().map((row) => [String(row[0]), Number(row[1])]));
    });
  }

  /**
   * Rewrites the database into a fresh file and swaps it in. DuckDB's CHECKPOINT returns
   * deleted rows' blocks to a free list without overwriting them, so an erased installation's
   * id stayed readable in the file; a copy holds only live rows. It costs a copy of the
   * events table, once per erasure.
   */
  compact(): Promise<void> {
    return this.#writer.use((writer) =>
      this.#reader.use(async (reader) => {
        const file = databaseFile(this.#options.directory);
        const fresh = rewriteFile(this.#options.directory);
        rmSync(fresh, { force: true });
        rmSync(`${fresh}.wal`, { force: true });
        await writer.run('CHECKPOINT');
        await writer.run(`ATTACH '${fresh.replaceAll("'", "''")}' AS fresh`);
        await writer.run(EVENTS_TABLE_DDL.replace('EXISTS events', 'EXISTS fresh.events'));
        await writer.run('INSERT INTO fresh.events SELECT * FROM events');
        await writer.run(LOAD_MARKER_DDL.replace('EXISTS load_marker', 'EXISTS fresh.load_marker'));
        await writer.run('INSERT INTO fresh.load_marker SELECT * FROM load_marker');
        await writer.run('CHECKPOINT fresh');
        await writer.run('DETACH fresh');
        writer.closeSync();
        reader.closeSync();
        this.#instance.closeSync();
        // Everything committed is in the copy; a leftover WAL of the old file must not replay into it.
        rmSync(`${file}.wal`, { force: true });
        await rename(fresh, file);
        await syncDirectory(this.#options.directory);
        const opened = await openDatabase(this.#options);
        this.#instance = opened.instance;
        this.#writer.swap(opened.writer);
        this.#reader.swap(opened.reader);
      }),
    );
  }

  /**
   * Writes a consistent copy of the database to `file` (a backup), under the writer's lock:
   * no load, deletion or compaction runs meanwhile, so the copy holds the rows and the
   * `loaded_through` marker of one moment. Aggregates keep running on the reader.
   */
  snapshotTo(file: string): Promise<void> {
    return this.#writer.use(async (writer) => {
      rmSync(file, { force: true });
      rmSync(`${file}.wal`, { force: true });
      await writer.run(`ATTACH '${file.replaceAll("'", "''")}' AS snapshot`);
      try {
        await writer.run(EVENTS_TABLE_DDL.replace('EXISTS events', 'EXISTS snapshot.events'));
        await writer.run(LOAD_MARKER_DDL.replace('EXISTS load_marker', 'EXISTS snapshot.load_marker'));
        await writer.run('BEGIN TRANSACTION');
        await writer.run('INSERT INTO snapshot.events SELECT * FROM events');
        await writer.run('INSERT INTO snapshot.load_marker SELECT * FROM load_marker');
        await writer.run('COMMIT');
        await writer.run('CHECKPOINT snapshot');
      } finally {
        await writer.run('DETACH snapshot');
      }
    });
  }

  async close(): Promise<void> {
    await this.#writer.use(async (db) => db.closeSync());
    await this.#reader.use(async (db) => db.closeSync());
    this.#instance.closeSync();
  }
}

const LOAD_MARKER_DDL =
  'CREATE TABLE IF NOT EXISTS load_marker (id INTEGER PRIMARY KEY, loaded_through BIGINT NOT NULL)';

/**
 * Copies a stats database that no server holds (a backup of a stopped node) to `target`,
 * without touching anything else in its directory. Throws `DATA_DIR_IN_USE` when a server
 * holds it: then the copy is asked of that server (site/stats/stats-snapshot-requests.ts).
 */
export async function snapshotIdleDatabase(directory: string, target: string): Promise<void> {
  const instance = await DuckDBInstance.create(databaseFile(directory)).catch((cause: unknown) => {
    throw heldByAnotherProcess(cause, directory) ?? cause;
  });
  try {
    const db = await instance.connect();
    await db.run(EVENTS_TABLE_DDL);
    await db.run(LOAD_MARKER_DDL);
    await db.run(`ATTACH '${target.replaceAll("'", "''")}' AS snapshot`);
    await db.run(EVENTS_TABLE_DDL.replace('EXISTS events', 'EXISTS snapshot.events'));
    await db.run(LOAD_MARKER_DDL.replace('EXISTS load_marker', 'EXISTS snapshot.load_marker'));
    await db.run('INSERT INTO snapshot.events SELECT * FROM events');
    await db.run('INSERT INTO snapshot.load_marker SELECT * FROM load_marker');
    await db.run('CHECKPOINT snapshot');
    await db.run('DETACH snapshot');
    db.closeSync();
  } finally {
    instance.closeSync();
  }
}

/** Throws `DATA_DIR_IN_USE` when a server holds the stats database of `directory`. */
export async function assertDatabaseIdle(directory: string): Promise<void> {
  const instance = await DuckDBInstance.create(databaseFile(directory)).catch((cause: unknown) => {
    throw heldByAnotherProcess(cause, directory) ?? cause;
  });
  instance.closeSync();
}

interface OpenedDatabase {
  readonly instance: DuckDBInstance;
  readonly writer: DuckDBConnection;
  readonly reader: DuckDBConnection;
}

function databaseFile(directory: string): string {
  return join(directory, 'stats.duckdb');
}

function rewriteFile(directory: string): string {
  return join(directory, 'stats.duckdb.rewrite');
}

async function openDatabase(options: DuckDbStatsStoreOptions): Promise<OpenedDatabase> {
  const instance = await DuckDBInstance.create(databaseFile(options.directory), {
    memory_limit: `${options.memoryLimitMb}MB`,
    temp_directory: join(options.directory, 'tmp'),
    // Row order carries no meaning here; without it inserts from read_csv run in parallel.
    preserve_insertion_order: 'false',
    // Fewer, larger checkpoints: loads commit often, and each checkpoint rewrites row groups.
    checkpoint_threshold: '256MB',
  }).catch((cause: unknown) => {
    throw heldByAnotherProcess(cause, options.directory) ?? cause;
  });
  const writer = await instance.connect();
  await writer.run(EVENTS_TABLE_DDL);
  await writer.run(LOAD_MARKER_DDL);
  await writer.run('INSERT INTO load_marker VALUES (1, 0) ON CONFLICT DO NOTHING');
  return { instance, writer, reader: await instance.connect() };
}

/** DuckDB's "Could not set lock" as what it means here: another server serves this data. */
function heldByAnotherProcess(cause: unknown, directory: string): StorageError | undefined {
  const message = cause instanceof Error ? cause.message : '';
  if (!message.includes('Could not set lock')) return undefined;
  const pid = /\(PID (\d+)\)/.exec(message)?.[1];
  return new StorageError(
    'DATA_DIR_IN_USE',
    `the data directory is in use by another glasshouse server${pid === undefined ? '' : ` (pid ${pid})`} ` +
      `(${directory} is locked); stop it first, or give this one another --data`,
    { cause },
  );
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * The aggregate as SQL over whitelisted expressions, with every caller value a parameter; the
 * groups in key order.
 */
export function aggregateSql(query: StatsAggregation): { sql: string; values: DuckDBValue[] } {
  const values: DuckDBValue[] = [];
  const where: string[] = [];
  const param = (value: DuckDBValue) => {
    values.push(value);
    return `$${values.length}`;
  };
  if (query.from !== undefined) where.push(`ts >= CAST(${param(toTimestamp(query.from))} AS TIMESTAMP)`);
  if (query.to !== undefined) where.push(`ts < CAST(${param(toTimestamp(query.to))} AS TIMESTAMP)`);
  if (query.types !== undefined) where.push(`type IN (${query.types.map(param).join(', ')})`);
  if (query.country !== undefined) where.push(`country = ${param(query.country)}`);
  if (query.withThreat === true) where.push('threat IS NOT NULL');
  const keys = query.groupBy.map((key, i) => `${GROUP_KEY_SQL[key]} AS k${i}`);
  const names = query.groupBy.map((_, i) => `k${i}`);
  const sql = [
    `SELECT ${[...keys, 'count(*) AS events', 'count(DISTINCT installation) AS installations'].join(', ')}`,
    'FROM events',
    where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`,
    keys.length === 0 ? '' : `GROUP BY ${names.join(', ')}`,
    // Key order, as the control plane merges the sites' runs (`firstGroupsByKey`).
    keys.length === 0 ? '' : `ORDER BY ${names.map((name) => `${name} ASC NULLS LAST`).join(', ')}`,
  ].join(' ');
  return { sql, values };
}

function toTimestamp(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

async function inTransaction(db: DuckDBConnection, work: () => Promise<void>): Promise<void> {
  await db.run('BEGIN TRANSACTION');
  try {
    await work();
  } catch (error) {
    await db.run('ROLLBACK').catch(() => undefined);
    throw error;
  }
  await db.run('COMMIT');
}

/** No fsync: a crash loses the scratch file, never data (the write-ahead log still holds it). */
async function writeScratch(file: string, rows: readonly Uint8Array[]): Promise<void> {
  const handle = await open(file, 'wx', 0o600);
  try {
    await writeFully(handle, rows);
  } finally {
    await handle.close();
  }
}

/** One statement at a time per connection. */
class Serialized {
  #db: DuckDBConnection;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(db: DuckDBConnection) {
    this.#db = db;
  }

  /** Replaces the connection; only from inside `use`, so no statement sees the old one closed. */
  swap(db: DuckDBConnection): void {
    this.#db = db;
  }

  use<T>(work: (db: DuckDBConnection) => Promise<T>): Promise<T> {
    const run = this.#tail.then(() => work(this.#db));
    this.#tail = run.catch(() => undefined);
    return run;
  }
}
