import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { type ClickHouseClient, ClickHouseError, ClickHouseLogLevel, createClient } from '@clickhouse/client';
import {
  STATS_ROW_COLUMNS,
  type StatsAggregation,
  type StatsEventRow,
  type StatsGroup,
  type StatsStore,
  type TimeRange,
} from '../../../ports/storage.js';
import { StorageError } from '../../../shared/storage-errors.js';
import {
  aggregateSql,
  atOrAfter,
  before,
  EVENTS_TABLE_DDL,
  FORMER_LOAD_OBJECTS,
  installationId,
  LOAD_MARKER_DDL,
  LOAD_PENDING_DDL,
  LOAD_ROW_FIELDS,
  LOAD_ROWS_DDL,
  loadViewDdl,
  PARSE_INPUT_FAILED,
  quote,
  THROW_IF_ERROR,
} from './clickhouse-sql.js';
import { endsWithCompleteRow, tabSeparatedRows } from './tab-separated.js';

export interface ClickHouseStatsStoreOptions {
  /**
   * `clickhouse://host:8123/database` (the HTTP interface; `clickhouses://` for HTTPS, port
   * 8443 by default). The database must exist; the store creates its tables in it.
   */
  readonly url: string;
  /** Where `CLICKHOUSE_USER` and `CLICKHOUSE_PASSWORD` are read (credentials never come from config). */
  readonly env?: NodeJS.ProcessEnv;
  /** How long one statement may take (a large load, `OPTIMIZE … FINAL`). Default 10 minutes. */
  readonly requestTimeoutMs?: number;
  /** How long a deletion waits for its mutation to finish before failing. Default 10 minutes. */
  readonly mutationTimeoutMs?: number;
}

const ENGINE = 'ClickHouse';
const FIELD_SEPARATOR = String.fromCharCode(0x1f);
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
/**
 * A replicated table (or ClickHouse Cloud's) drops a block identical to one inserted before
 * as a retry of it; a load retried after `reconcile` deleted its first attempt is exactly
 * such a block, and must be kept. Plain `MergeTree` does not deduplicate; the setting says so
 * for every engine.
 */
const NO_DEDUPLICATION = { insert_deduplicate: 0 } as const;
/**
 * Blocks of at most 200,000 lines through the load view: with the defaults (blocks of 1,048,576
 * rows, which the view squashes up to 256 MiB) a load of a million rows needs more than the
 * 2 GB a query may use on a default server (measured on 18.16).
 */
const VIEW_BLOCKS = {
  max_insert_block_size: '200000',
  min_insert_block_size_rows: '200000',
  min_insert_block_size_bytes: String(64 * 1024 * 1024),
} as const;
/** Every event column but `ts`, as the load format names them. */
const VALUE_COLUMNS = STATS_ROW_COLUMNS.filter((column) => column !== 'ts');

/**
 * The `StatsStore` of a site at scale: one ClickHouse database per site, through the HTTP
 * interface, using only SQL that ClickHouse 18.16 accepts.
 *
 * Exactly once without transactions. ClickHouse commits an INSERT per block and per
 * partition, not as one transaction, and has no transaction across two tables, so:
 * - every row carries `load_seq`, the `through` of the load that inserted it;
 * - a load inserts its rows, and only once ClickHouse acknowledged all of them, one row
 *   `through` into `load_marker`: the marker is the commit. `loadedThrough` is
 *   `max(through)` of the marker table, never derived from the events, so retention or an
 *   erasure deleting the rows that held the highest `load_seq` changes nothing;
 * - rows with `load_seq` above the marker belong to a load that did not commit (the process
 *   died between the two inserts or mid-stream, or the insert failed half-way). Before the
 *   store answers `loadedThrough` at open, and before the next load after a failed one,
 *   `reconcile` waits until no load of this database is still running on the server (its
 *   query id says so), then deletes those rows and waits for the mutation: the write-ahead
 *   log, which drops a record only after `load` resolved, still holds them and loads them
 *   again.
 * The tables are plain `MergeTree`, and loads are inserted with `insert_deduplicate = 0`
 * (see `NO_DEDUPLICATION`).
 *
 * Writes (loads, deletions, compaction) are serialized, so a count taken before a mutation is
 * exactly what the mutation deletes; reads run alongside.
 */
export class ClickHouseStatsStore implements StatsStore {
  readonly #client: ClickHouseClient;
  readonly #database: string;
  readonly #origin: string;
  readonly #mutationTimeoutMs: number;
  #writes: Promise<unknown> = Promise.resolve();
  /** A load failed after it may have inserted rows: reconcile before the next one. */
  #uncertain = false;

  private constructor(client: ClickHouseClient, database: string, origin: string, mutationTimeoutMs: number) {
    this.#client = client;
    this.#database = database;
    this.#origin = origin;
    this.#mutationTimeoutMs = mutationTimeoutMs;
  }

  /**
   * Connects, creates the tables if absent and removes what an interrupted load left.
   * Rejects with a `StorageError` `STORAGE_UNAVAILABLE`, naming the engine and its message,
   * when the server cannot be reached, refuses the credentials or lacks the database.
   *
   * @example
   * const store = await ClickHouseStatsStore.open({ url: 'clickhouse://ch.zurich.internal:8123/glasshouse' });
   */
  static async open(options: ClickHouseStatsStoreOptions): Promise<ClickHouseStatsStore> {
    const target = parseClickHouseUrl(options.url);
    const env = options.env ?? process.env;
    const client = createClient({
      url: target.origin,
      database: target.database,
      username: env.CLICKHOUSE_USER || 'default',
      password: env.CLICKHOUSE_PASSWORD ?? '',
      request_timeout: options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS,
      // No HTTP compression: between a site and its ClickHouse it costs CPU for little.
      compression: { request: false, response: false },
      application: 'glasshouse',
      // Failures reach the caller as errors; the client's own logger would print them twice.
      log: { level: ClickHouseLogLevel.OFF },
    });
    const store = new ClickHouseStatsStore(
      client,
      target.database,
      target.origin,
      options.mutationTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    );
    try {
      await store.#connect();
      await store.#write(() => store.#reconcile());
    } catch (cause) {
      await client.close().catch(() => undefined);
      if (cause instanceof StorageError) throw cause;
      throw unavailable(target.origin, cause);
    }
    return store;
  }

  load(rows: readonly Uint8Array[], through: number): Promise<void> {
    if (!Number.isSafeInteger(through) || through < 0)
      return Promise.reject(new RangeError(`not a load sequence: ${through}`));
    return this.#write(async () => {
      if (this.#uncertain) await this.#reconcile();
      this.#uncertain = true;
      if (rows.some((chunk) => chunk.length > 0)) {
        if (!endsWithCompleteRow(rows))
          throw new Error('load format: the last row does not end in a line feed');
        // The view stamps this on every row as load_seq (see loadViewDdl).
        await this.#client.command({ query: 'TRUNCATE TABLE load_pending' });
        await this.#client.command({ query: `INSERT INTO load_pending (through) VALUES (${through})` });
        try {
          await this.#client.insert({
            table: 'load_rows',
            columns: LOAD_ROW_FIELDS,
            format: 'TabSeparated',
            values: Readable.from(tabSeparated(rows), { objectMode: false }),
            query_id: `${this.#loadQueryPrefix()}${randomUUID()}`,
            clickhouse_settings: { ...NO_DEDUPLICATION, ...VIEW_BLOCKS },
          });
        } catch (cause) {
          throw await this.#loadFailure(cause);
        }
      }
      await this.#client.command({
        query: `INSERT INTO load_marker (id, through) VALUES (1, ${through})`,
        clickhouse_settings: NO_DEDUPLICATION,
      });
      this.#uncertain = false;
    });
  }

  async loadedThrough(): Promise<number> {
    const [row] = await this.#rows<{ through: string }>('SELECT max(through) AS through FROM load_marker');
    return Number(row?.through ?? 0);
  }

  /**
   * Read as one `JSONCompact` document (rows as arrays, one `JSON.parse`): a group costs no
   * object with named fields and no per-line parse, which dominate once there are many groups.
   */
  async aggregate(query: StatsAggregation): Promise<StatsGroup[]> {
    const width = query.groupBy.length;
    const result = await this.#client.query({ query: aggregateSql(query), format: 'JSONCompact' });
    const { data } = await result.json<(string | number | null)[]>();
    const groups = new Array<StatsGroup>(data.length);
    for (let r = 0; r < data.length; r += 1) {
      const row = data[r]!;
      groups[r] = {
        key: row.slice(0, width) as (string | null)[],
        events: Number(row[width]),
        installations: Number(row[width + 1]),
      };
    }
    return groups;
  }

  deleteBefore(cutoff: Date): Promise<number> {
    return this.#write(() => this.#delete(before(cutoff)));
  }

  async eventsOf(id: string, range: TimeRange): Promise<StatsEventRow[]> {
    const rows = await this.#eventRows(id, range);
    return rows.map(
      (row) =>
        ({
          ts: `${row.ts.replace(' ', 'T')}.${milliseconds(row.ts_ms)}Z`,
          ...Object.fromEntries(VALUE_COLUMNS.map((column) => [column, row[column] ?? null])),
        }) as StatsEventRow,
    );
  }

  /**
   * The mutation names the installation by a hash of its id, not the id: ClickHouse keeps the
   * text of finished mutations (`system.mutations`, a `mutation_*.txt` file per mutation in
   * the table's directory, the last 100 by default), and an erasure should not leave the id
   * it erased there. If the hash matches rows of another installation (a 64-bit collision),
   * the mutation names the id after all rather than delete those rows.
   */
  deleteInstallation(id: string): Promise<number> {
    const installation = installationId(id);
    if (installation === undefined) return Promise.resolve(0);
    return this.#write(async () => {
      const literal = `toUUID(${quote(installation)})`;
      const hashOf = 'cityHash64(toString(installation))';
      const [counts] = await this.#rows<{ exact: string; hashed: string; hash: string }>(
        `SELECT countIf(installation = ${literal}) AS exact, countIf(${hashOf} = cityHash64(toString(${literal}))) AS hashed, ` +
          `toString(cityHash64(toString(${literal}))) AS hash FROM events`,
      );
      const exact = Number(counts?.exact ?? 0);
      if (exact === 0) return 0;
      const byHash = counts?.hashed === counts?.exact && /^[0-9]+$/.test(counts?.hash ?? '');
      return this.#delete(byHash ? `${hashOf} = ${counts?.hash}` : `installation = ${literal}`, exact);
    });
  }

  async exportInstallation(id: string): Promise<string[]> {
    const rows = await this.#eventRows(id, {});
    return rows.map(
      (row) =>
        `${[`${row.ts}.${milliseconds(row.ts_ms)}`, ...VALUE_COLUMNS.map((column) => row[column] ?? '')].join(FIELD_SEPARATOR)}\n`,
    );
  }

  async countByInstallation(): Promise<Map<string, number>> {
    const rows = await this.#rows<{ id: string; events: string }>(
      'SELECT toString(installation) AS id, count() AS events FROM events GROUP BY installation',
    );
    return new Map(rows.map((row) => [row.id, Number(row.events)]));
  }

  /**
   * Merges every partition into one part (`OPTIMIZE … FINAL`). A deletion's mutation has
   * already rewritten the parts that held deleted rows; the parts it replaced stay on disk,
   * inactive, until the server's cleanup removes them (`old_parts_lifetime`, 8 minutes by
   * default), which no statement of 18.16 can hasten. See docs/storage-clickhouse.md.
   */
  compact(): Promise<void> {
    return this.#write(async () => {
      await this.#client.command({ query: 'OPTIMIZE TABLE events FINAL' });
      await this.#client.command({ query: 'OPTIMIZE TABLE load_marker FINAL' });
    });
  }

  async close(): Promise<void> {
    await this.#writes;
    await this.#client.close();
  }

  async #connect(): Promise<void> {
    const ping = await this.#client.ping();
    if (!ping.success) throw unavailable(this.#origin, ping.error);
    // The first statement that authenticates: a refused user or password fails here.
    const databases = await this.#rows<{ name: string }>(
      `SELECT name FROM system.databases WHERE name = ${quote(this.#database)}`,
    );
    if (databases.length === 0) {
      throw new StorageError(
        'STORAGE_UNAVAILABLE',
        `${ENGINE} at ${this.#origin} has no database ${this.#database}: create it first (CREATE DATABASE ${this.#database})`,
      );
    }
    await this.#client.command({ query: EVENTS_TABLE_DDL });
    await this.#client.command({ query: LOAD_MARKER_DDL });
    // Added after the first release: databases made before get them at their next open.
    await this.#client.command({ query: LOAD_PENDING_DDL });
    await this.#client.command({ query: LOAD_ROWS_DDL });
    await this.#client.command({ query: loadViewDdl(this.#database) });
    for (const object of FORMER_LOAD_OBJECTS)
      await this.#client.command({ query: `DROP TABLE IF EXISTS ${object}` });
  }

  /**
   * ClickHouse's parser refused a row with another number of fields (`PARSE_INPUT_FAILED`);
   * the view refused a row (`THROW_IF_ERROR`) when `load_pending` still holds the load's one
   * `through`; otherwise the server lost it (a restart between the two statements) or the
   * insert failed for another reason, reported as it is.
   */
  async #loadFailure(cause: unknown): Promise<unknown> {
    if (cause instanceof Error && errorCode(cause) === PARSE_INPUT_FAILED) {
      return new Error(
        `load format: ClickHouse read a row with another number of fields than the load format (${cause.message.trim()})`,
        { cause },
      );
    }
    if (!(cause instanceof Error) || !cause.message.includes(THROW_IF_ERROR)) return cause;
    const [row] = await this.#rows<{ pending: string }>('SELECT count() AS pending FROM load_pending');
    if (Number(row?.pending ?? 0) !== 1) return cause;
    return new Error(
      `load format: ClickHouse refused a row that is not the load format (${cause.message.trim()})`,
      {
        cause,
      },
    );
  }

  /** Deletes the rows of interrupted loads (see the class comment). */
  async #reconcile(): Promise<void> {
    await this.#waitUntil(async () => {
      const [row] = await this.#rows<{ running: string }>(
        `SELECT count() AS running FROM system.processes WHERE substring(query_id, 1, ${Buffer.byteLength(this.#loadQueryPrefix())}) = ${quote(this.#loadQueryPrefix())}`,
      );
      return Number(row?.running ?? 0) === 0;
    }, 'an interrupted load to end on the server');
    const through = await this.loadedThrough();
    await this.#delete(`load_seq > ${through}`);
    this.#uncertain = false;
  }

  /** Counts the rows `where` matches, deletes them with a mutation and waits until it is done. */
  async #delete(where: string, known?: number): Promise<number> {
    let count = known;
    if (count === undefined) {
      const [row] = await this.#rows<{ count: string }>(`SELECT count() AS count FROM events WHERE ${where}`);
      count = Number(row?.count ?? 0);
    }
    // 18.16 rewrites every part for a mutation: none when nothing matches.
    if (count === 0) return 0;
    await this.#client.command({ query: `ALTER TABLE events DELETE WHERE ${where}` });
    await this.#waitUntil(async () => {
      const [row] = await this.#rows<{ pending: string }>(
        `SELECT count() AS pending FROM system.mutations WHERE database = ${quote(this.#database)} AND table = 'events' AND is_done = 0`,
      );
      return Number(row?.pending ?? 0) === 0;
    }, 'a deletion (mutation) to finish');
    return count;
  }

  async #eventRows(id: string, range: TimeRange): Promise<EventRow[]> {
    const installation = installationId(id);
    if (installation === undefined) return [];
    const where = [`installation = toUUID(${quote(installation)})`];
    if (range.from !== undefined) where.push(atOrAfter(range.from));
    if (range.to !== undefined) where.push(before(range.to));
    // Aliases other than the column names: ClickHouse resolves an alias in WHERE too.
    const columns = VALUE_COLUMNS.map(
      (c) => `${c === 'installation' ? 'toString(installation)' : c} AS out_${c}`,
    );
    const rows = await this.#rows<Record<string, string | number | null>>(
      `SELECT toString(ts) AS out_ts, ts_ms AS out_ts_ms, ${columns.join(', ')} ` +
        `FROM events WHERE ${where.join(' AND ')} ORDER BY ts, ts_ms`,
    );
    return rows.map((row) => ({
      ts: String(row.out_ts),
      ts_ms: Number(row.out_ts_ms),
      ...Object.fromEntries(
        VALUE_COLUMNS.map((c) => [c, row[`out_${c}`] === null ? null : String(row[`out_${c}`])]),
      ),
    })) as EventRow[];
  }

  async #rows<T>(query: string): Promise<T[]> {
    const result = await this.#client.query({ query, format: 'JSONEachRow' });
    return result.json<T>();
  }

  /** Loads of this database carry this prefix as their query id, so `reconcile` can wait for them. */
  #loadQueryPrefix(): string {
    return `glasshouse-load-${this.#database}-`;
  }

  #write<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#writes.then(work);
    this.#writes = run.catch(() => undefined);
    return run;
  }

  async #waitUntil(done: () => Promise<boolean>, what: string): Promise<void> {
    const deadline = Date.now() + this.#mutationTimeoutMs;
    for (let delay = 10; !(await done()); delay = Math.min(delay * 2, 500)) {
      if (Date.now() > deadline) {
        throw new StorageError(
          'STORAGE_UNAVAILABLE',
          `${ENGINE} at ${this.#origin}: waited ${this.#mutationTimeoutMs} ms for ${what}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

type EventRow = { ts: string; ts_ms: number } & Record<(typeof VALUE_COLUMNS)[number], string | null>;

function* tabSeparated(rows: readonly Uint8Array[]): Generator<Uint8Array> {
  for (const chunk of rows) if (chunk.length > 0) yield tabSeparatedRows(chunk);
}

/**
 * ClickHouse's code of a failure: the client parses it from the newer wording
 * (`Code: 27. DB::Exception: …`), not from 18.16's (`Code: 27, e.displayText() = …`).
 */
function errorCode(cause: Error): string | undefined {
  if (cause instanceof ClickHouseError) return cause.code;
  return /^Code: (\d+)[,.]/.exec(cause.message)?.[1];
}

function milliseconds(ms: number): string {
  return String(ms).padStart(3, '0');
}

/**
 * `clickhouse://host[:port][/database]` as the HTTP origin and the database (`default` when
 * absent); `clickhouses://` is HTTPS. User and password in the URL are refused: they come
 * from `CLICKHOUSE_USER` and `CLICKHOUSE_PASSWORD`.
 *
 * @example
 * parseClickHouseUrl('clickhouse://ch.zurich.internal:8123/glasshouse');
 * // { origin: 'http://ch.zurich.internal:8123', database: 'glasshouse' }
 */
export function parseClickHouseUrl(url: string): { origin: string; database: string } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidUrl(url, 'it is not a URL');
  }
  const secure = parsed.protocol === 'clickhouses:';
  if (!secure && parsed.protocol !== 'clickhouse:')
    throw invalidUrl(url, 'the scheme is not clickhouse:// or clickhouses://');
  if (parsed.username !== '' || parsed.password !== '')
    throw invalidUrl(url, 'credentials come from CLICKHOUSE_USER and CLICKHOUSE_PASSWORD, not the URL');
  if (parsed.hostname === '') throw invalidUrl(url, 'it names no host');
  const path = decodeURIComponent(parsed.pathname.replace(/^\/+|\/+$/g, ''));
  const database = path === '' ? 'default' : path;
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database))
    throw invalidUrl(url, `${database} is not a plain database name`);
  const port = parsed.port === '' ? (secure ? '8443' : '8123') : parsed.port;
  return { origin: `${secure ? 'https' : 'http'}://${parsed.hostname}:${port}`, database };
}

function invalidUrl(url: string, problem: string): StorageError {
  // The URL is repeated without what might be a password in it.
  const shown = url.replace(/\/\/[^@/]*@/, '//…@');
  return new StorageError('INVALID_STORAGE_URL', `${ENGINE} URL ${shown}: ${problem}`);
}

function unavailable(origin: string, cause: unknown): StorageError {
  const message = cause instanceof Error ? cause.message : String(cause);
  return new StorageError('STORAGE_UNAVAILABLE', `${ENGINE} at ${origin} is unavailable: ${message.trim()}`, {
    cause,
  });
}
