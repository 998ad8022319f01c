import { join } from 'node:path';
import type { Migration } from 'kysely';
import type { MetadataLocation, ObjectLocation, StatsLocation } from '../../config/storage-locations.js';
import type { BlobStore, MetadataStore, StatsStore, TileStore } from '../../ports/storage.js';
import { StorageError } from '../../shared/storage-errors.js';
import { DuckDbStatsStore } from './duckdb/duckdb-stats-store.js';
import { FsBlobStore } from './fs/fs-blob-store.js';
import { FsTileStore } from './fs/fs-tile-store.js';
import { openSqliteMetadataStore } from './sqlite/sqlite-metadata-store.js';

/*
 * One place that turns a node's configured locations into stores, so that the control plane
 * and the sites never name an engine: each embedded engine keeps its files in the node's
 * directory, each other engine is reached at its URL. An engine that cannot be opened is
 * reported under the config key that names it, with the engine's own message. Engines'
 * clients are loaded only when a node uses them: the embedded default never loads a driver.
 */

/** Opens an engine's store; its storage errors are prefixed with the config key that names it. */
async function atKey<T>(location: { readonly key: string }, open: () => Promise<T>): Promise<T> {
  try {
    return await open();
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    throw new StorageError(error.code, `${location.key}: ${error.message}`, {
      cause: error,
      details: { ...error.details, key: location.key },
    });
  }
}

export interface MetadataOptions {
  /** The SQLite file, when the metadata is embedded. */
  readonly file: string;
  readonly migrations: Readonly<Record<string, Migration>>;
  /** See `SqliteMetadataStoreOptions.groupSync`; a server engine makes each commit durable itself. */
  readonly groupSync?: boolean;
}

export function openMetadataStore<Tables>(
  location: MetadataLocation,
  options: MetadataOptions,
): Promise<MetadataStore<Tables>> {
  switch (location.engine) {
    case 'sqlite':
      return openSqliteMetadataStore<Tables>({
        file: options.file,
        migrations: options.migrations,
        ...(options.groupSync === undefined ? {} : { groupSync: options.groupSync }),
      });
    case 'postgres':
      return atKey(location, async () => {
        const { openPostgresMetadataStore } = await import('./postgres/postgres-metadata-store.js');
        return openPostgresMetadataStore<Tables>({ url: location.url, migrations: options.migrations });
      });
  }
}

/** A site's encrypted samples: `blobs/` of the site's directory when embedded. */
export function openBlobStore(location: ObjectLocation, siteDirectory: string): Promise<BlobStore> {
  switch (location.engine) {
    case 'fs':
      return new FsBlobStore(siteDirectory).open();
    case 's3':
      return atKey(location, async () =>
        (await import('./s3/s3-blob-store.js')).openS3BlobStore(location.url),
      );
  }
}

/** A node's published log: `log/public/` of the node's directory when embedded. */
export async function openTileStore(location: ObjectLocation, nodeDirectory: string): Promise<TileStore> {
  switch (location.engine) {
    case 'fs':
      return new FsTileStore(join(nodeDirectory, 'log', 'public'));
    case 's3':
      return atKey(location, async () =>
        (await import('./s3/s3-tile-store.js')).openS3TileStore(location.url),
      );
  }
}

/** A site's telemetry events: `stats/` of the site's directory when embedded. */
export function openStatsStore(
  location: StatsLocation,
  options: { readonly directory: string; readonly memoryLimitMb: number },
): Promise<StatsStore> {
  switch (location.engine) {
    case 'duckdb':
      return DuckDbStatsStore.open(options);
    case 'clickhouse':
      return atKey(location, async () => {
        const { ClickHouseStatsStore } = await import('./clickhouse/clickhouse-stats-store.js');
        return ClickHouseStatsStore.open({ url: location.url });
      });
  }
}
