import type { Readable, Writable } from 'node:stream';
import type { Kysely } from 'kysely';

/**
 * Relational metadata of one node (the control plane or a site). Domain code writes its
 * queries with Kysely against `db`; the adapter decides the dialect (SQLite embedded,
 * PostgreSQL at scale), so no domain module ever imports a driver.
 *
 * @example
 * const store = await openSqliteMetadataStore<SiteTables>({ file: 'site.db', migrations });
 * await store.db.selectFrom('samples').selectAll().execute();
 */
export interface MetadataStore<Tables> {
  readonly db: Kysely<Tables>;
  /**
   * Resolves once every transaction committed before the call is on stable storage. Stores
   * that sync on each commit resolve at once; others sync here, once for many commits.
   */
  durable(): Promise<void>;
  /**
   * A number that changes whenever another process commits to the store, so that a cache
   * can tell cheaply whether it may still be right (SQLite's `data_version`).
   */
  externalVersion(): number;
  /** Rewrites the store so that deleted rows leave nothing in free pages or journals. */
  compact(): Promise<void>;
  close(): Promise<void>;
}

/** A blob being written: bytes go to a temporary place until `commit` makes them durable. */
export interface BlobWriter {
  readonly stream: Writable;
  /** Flushes to stable storage, then publishes the blob under `key` atomically. */
  commit(key: string): Promise<void>;
  /** Discards the temporary bytes; safe to call after a failed write. */
  abort(): Promise<void>;
}

/** A finished {@link BlobWriter} and the key to publish it under. */
export interface BlobCommit {
  readonly writer: BlobWriter;
  readonly key: string;
}

/**
 * Opaque, content-addressed bytes (already encrypted by the vault), as streams: every store
 * implements these methods (the filesystem now, an S3-compatible bucket at scale).
 *
 * @example
 * const writer = await blobs.createWriter();
 * await pipeline(source, writer.stream);
 * await writer.commit(sha256);
 */
export interface BlobStore {
  createWriter(): Promise<BlobWriter>;
  /**
   * Group commit: commits several writers of this store, each as its own `commit` would, and
   * shares what they can share (on files, the flushes run together and each directory is
   * synced once for all). Resolves, in order, to each one's outcome once every blob that
   * succeeded is durable; one failure fails only its own.
   */
  commitAll(commits: readonly BlobCommit[]): Promise<PromiseSettledResult<void>[]>;
  /** Streams the blob; rejects with a `StorageError` `BLOB_NOT_FOUND` when absent. */
  read(key: string): Promise<Readable>;
  has(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  list(): AsyncIterable<string>;
  /** Removes what a crash left half-written; returns how many leftovers it removed. */
  removeLeftovers(): Promise<number>;
  /**
   * An optional capability, not a second way to do the same: present only when the blobs are
   * files on this machine, which the vault's worker threads then read and write by path (off
   * the event loop, every core busy). A store without it, an object store, is used through
   * the streams above, and the vault takes that path visibly (site/vault/sample-copy.ts).
   */
  readonly localFiles?: LocalBlobFiles;
}

/**
 * A blob store's files, for code that reads and writes them itself (off the event loop).
 * Whatever is written through it follows the store's own rules: a temporary file, then
 * `commit` publishes it as atomically and durably as {@link BlobWriter.commit}.
 */
export interface LocalBlobFiles {
  /** The file of the blob `key` (which may not exist). */
  pathOf(key: string): string;
  /** A temporary file not yet created (create it exclusively), and how to publish or discard it. */
  createFileWriter(): Promise<BlobFileWriter>;
}

/** {@link BlobWriter} for bytes written to `path` by someone else. */
export interface BlobFileWriter {
  readonly path: string;
  /** Flushes the file to stable storage, then publishes it under `key` atomically. */
  commit(key: string): Promise<void>;
  /** Removes the file, if it was created. */
  abort(): Promise<void>;
}

/**
 * Where a log publishes its static files: tiles, entry bundles and the checkpoint, under
 * the exact C2SP tlog-tiles paths. Filesystem now; an S3-compatible bucket at scale.
 *
 * @example
 * await tiles.put('tile/0/x001/234', bytes);
 * const checkpoint = await tiles.get('checkpoint');
 */
export interface TileStore {
  /** Replaces the file atomically and durably (readers see the old or the new bytes, never a mix). */
  put(path: string, data: Uint8Array): Promise<void>;
  /** `undefined` when absent. */
  get(path: string): Promise<Buffer | undefined>;
  /** Removes what a crash left half-written (only the publishing process calls it). */
  removeLeftovers(): Promise<number>;
}

/** Reads stored hashes of the log by record: see `LogJournal.append`. */
export type RecordHashReader = (record: number) => Buffer;

/**
 * The durable, append-only record of a log's entries, in sequence, with the Merkle hashes
 * each entry adds. Several processes may append (the server and the CLI), so sequencing
 * happens inside the journal's own exclusive transaction: `sequence` is called there with
 * the index the batch starts at, and returns, per entry, the stored hashes it adds.
 *
 * @example
 * const start = await journal.append(entries, (start, readRecord) => hashesFor(start, entries, readRecord));
 */
export interface LogJournal {
  size(): Promise<number>;
  /** Durable when it resolves; returns the index of the first entry of the batch. */
  append(
    entries: readonly Uint8Array[],
    sequence: (start: number, readRecord: RecordHashReader) => readonly Buffer[],
  ): Promise<number>;
  /** The stored hashes each record added (leaf hash first, then each subtree it completed). */
  readRecordHashes(records: readonly number[]): Promise<Buffer[]>;
  /** Entries `from` (inclusive) to `to` (exclusive). */
  readEntries(from: number, to: number): Promise<Buffer[]>;
  close(): Promise<void>;
}

/**
 * The columns of a telemetry row, in the order of the load format of `StatsStore.load`:
 * UTF-8 text, one row per line (`\n`), fields separated by U+001F, an empty field is null,
 * `ts` as `YYYY-MM-DD HH:MM:SS.mmm` in UTC. Fields never hold control characters, so the
 * format needs no quoting; DuckDB reads it as CSV, ClickHouse (18.16, which lacks
 * `CustomSeparated`) as `TabSeparated` converted on the way.
 */
export const STATS_ROW_COLUMNS = [
  'ts',
  'installation',
  'type',
  'country',
  'sha256',
  'md5',
  'verdict',
  'threat',
  'product',
  'os',
] as const;

/** What statistics can be grouped by; `day` is the UTC date of `ts`. */
export type StatsGroupKey = 'day' | 'country' | 'threat' | 'verdict' | 'type';

/** An aggregate over a site's events; every filter is optional. */
export interface StatsAggregation {
  readonly groupBy: readonly StatsGroupKey[];
  /** Inclusive. */
  readonly from?: Date;
  /** Exclusive. */
  readonly to?: Date;
  readonly types?: readonly string[];
  readonly country?: string;
  /** Only events that name a threat. */
  readonly withThreat?: boolean;
}

/** One telemetry event as stored, `ts` in ISO 8601; for the installation's own data requests. */
export type StatsEventRow = { readonly [K in (typeof STATS_ROW_COLUMNS)[number]]: string | null };

/** A time range: `from` inclusive, `to` exclusive; either may be absent. */
export interface TimeRange {
  readonly from?: Date;
  readonly to?: Date;
}

/** One group: its key values in `groupBy` order, its events and its distinct installations. */
export interface StatsGroup {
  readonly key: readonly (string | null)[];
  readonly events: number;
  readonly installations: number;
}

/**
 * A site's telemetry events, for aggregates; raw rows are read only for one installation at a
 * time (`eventsOf`), for the desks that answer data requests about it, never for analysts. DuckDB
 * embedded now, ClickHouse at scale. Loads are exactly-once: each carries the sequence
 * number of the last write-ahead record it holds, and its rows and that number become
 * visible together or not at all (one transaction in DuckDB; in ClickHouse a marker written
 * after the rows, and rows without their marker deleted before the next load), so a replay
 * after a crash skips what `loadedThrough` reports.
 *
 * @example
 * await store.load([rows], 42);
 * await store.loadedThrough(); // 42
 * await store.aggregate({ groupBy: ['day', 'country'], from, to });
 */
export interface StatsStore {
  /** Appends rows (the format of `STATS_ROW_COLUMNS`) and records `through`, atomically and durably. */
  load(rows: readonly Uint8Array[], through: number): Promise<void>;
  /** The `through` of the last load (0 before any). */
  loadedThrough(): Promise<number>;
  /**
   * The groups in key order: each key ascending by its UTF-8 bytes, nulls last (the control
   * plane merges the sites' runs; it checks the order and sorts a run that is not in it).
   */
  aggregate(query: StatsAggregation): Promise<StatsGroup[]>;
  /** Deletes events with `ts` before `cutoff`; returns how many. */
  deleteBefore(cutoff: Date): Promise<number>;
  /** Every event of one installation in the range, oldest first. */
  eventsOf(installationId: string, range: TimeRange): Promise<StatsEventRow[]>;
  /** Deletes every event of the installation; returns how many. */
  deleteInstallation(installationId: string): Promise<number>;
  /**
   * Every event of the installation, as rows of the load format (each ending in `\n`), for
   * relocation to another site. Never exposed as a route.
   */
  exportInstallation(installationId: string): Promise<string[]>;
  /** How many events each installation has here (for the residency audit). */
  countByInstallation(): Promise<Map<string, number>>;
  /** Rewrites storage so deleted rows leave no trace in free blocks. */
  compact(): Promise<void>;
  /**
   * A consistent copy of the store in one file, for a backup: only an embedded store has
   * one (an engine of the operator's own is backed up with the engine's tools).
   */
  snapshotTo?(file: string): Promise<void>;
  close(): Promise<void>;
}
