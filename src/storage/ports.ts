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

/**
 * Opaque, content-addressed bytes (already encrypted by the vault).
 *
 * @example
 * const writer = await blobs.createWriter();
 * await pipeline(source, writer.stream);
 * await writer.commit(sha256);
 */
export interface BlobStore {
  createWriter(): Promise<BlobWriter>;
  /** Streams the blob; rejects with a `StorageError` `BLOB_NOT_FOUND` when absent. */
  read(key: string): Promise<Readable>;
  has(key: string): Promise<boolean>;
  delete(key: string): Promise<void>;
  list(): AsyncIterable<string>;
  /** Removes what a crash left half-written; returns how many leftovers it removed. */
  removeLeftovers(): Promise<number>;
}
