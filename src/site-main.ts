import { join } from 'node:path';
import type { Migration } from 'kysely';
import { openBlobStore, openMetadataStore, openStatsStore } from './adapters/storage/open-stores.js';
import type { Config, SiteConfig } from './config/config.js';
import { readMasterKey, restrictNewFiles } from './config/data-dir.js';
import { openNodeLog } from './ledger/open-node-log.js';
import type { TransparencyLog } from './ledger/transparency-log.js';
import { catalogueMigrations } from './site/catalogue/catalogue-tables.js';
import { SiteNode, type SiteTables, siteDirectory } from './site/site-node.js';
import { StatsBuffer } from './site/stats/stats-buffer.js';
import { serveSnapshotRequests } from './site/stats/stats-snapshot-requests.js';
import { subjectMigrations } from './site/subjects/subject-tables.js';
import { vaultMigrations } from './site/vault/vault-tables.js';

/** Every migration of a site's metadata (its tables, `SiteTables`). */
export const SITE_MIGRATIONS: Readonly<Record<string, Migration>> = {
  ...subjectMigrations,
  ...vaultMigrations,
  ...catalogueMigrations,
};

/** One site as it runs: its services (vault, subjects, statistics) and its own log. */
export interface SiteService {
  readonly site: SiteNode;
  readonly log: TransparencyLog;
  /** Closes the statistics buffer, the log and the stores. */
  close(): Promise<void>;
}

export interface SiteServiceOptions {
  readonly now?: () => Date;
  /**
   * True for the serving process: it publishes the log's tiles and checkpoints and runs the
   * statistics buffer (a site's stats store admits one process).
   */
  readonly publish?: boolean;
  /** Where failures of background work (log publication, statistics) are reported. */
  readonly onBackgroundError?: (error: unknown, context: string) => void;
  /** Where background jobs (the fingerprint backfill) report how far they are. */
  readonly onBackgroundProgress?: (message: string) => void;
}

/**
 * Wires one site's adapters: `sites/<name>/` of `config.dataDir` (metadata, encrypted blobs,
 * statistics, log) and its keys in `keys/<name>.*`. `glasshouse up` opens one per configured
 * site in its own data directory; `glasshouse site` opens one in a data directory of its own.
 *
 * @example
 * const zurich = await openSiteService(config, { name: 'zurich', jurisdiction: 'CH' }, { publish: true });
 */
export async function openSiteService(
  config: Config,
  site: Pick<SiteConfig, 'name' | 'jurisdiction' | 'storage'>,
  options: SiteServiceOptions = {},
): Promise<SiteService> {
  restrictNewFiles();
  const now = options.now ?? (() => new Date());
  // Before any store opens: a missing key, or one whose rotation has not finished, stops here.
  const masterKey = readMasterKey(config.dataDir, site.name);
  const directory = siteDirectory(config.dataDir, site.name);
  const log = await openNodeLog(config, site.name, directory, {
    tiles: site.storage.tiles,
    publish: options.publish ?? false,
    onPublishError: (error, origin) => options.onBackgroundError?.(error, `publishing ${origin}`),
    onWitnessError: (error, origin) => options.onBackgroundError?.(error, `witnessing ${origin}`),
  });
  const stats = options.publish === true ? await openStats(config, site, options) : undefined;
  const metadata = await openMetadataStore<SiteTables>(site.storage.metadata, {
    file: join(directory, 'site.db'),
    groupSync: true,
    migrations: SITE_MIGRATIONS,
  });
  const node = new SiteNode({
    name: site.name,
    jurisdiction: site.jurisdiction,
    metadata,
    blobs: await openBlobStore(site.storage.blobs, directory),
    audit: log,
    log,
    masterKey,
    maxSampleBytes: config.limits.maxSampleBytes,
    fingerprints: config.samples.fingerprints,
    stats,
    now,
    onBackgroundError: options.onBackgroundError,
    onBackgroundProgress: options.onBackgroundProgress,
  });
  // Keys wrapped before key ids were recorded are under the one key the site had then.
  await node.subjects.recordKeyIds();
  // Backups ask the serving process for a copy of the statistics (it alone may open them).
  const snapshots =
    stats === undefined
      ? undefined
      : serveSnapshotRequests(join(siteDirectory(config.dataDir, site.name), 'stats'), stats);
  // SiteNode.close closes its statistics buffer, its log and its stores.
  return {
    site: node,
    log,
    close: () => {
      snapshots?.stop();
      return node.close();
    },
  };
}

/**
 * A site's statistics buffer: its write-ahead log under `stats/wal/` of the site's directory,
 * always on the site's own disk, and its store (DuckDB under `stats/` by default).
 */
async function openStats(
  config: Config,
  site: Pick<SiteConfig, 'name' | 'storage'>,
  options: SiteServiceOptions,
): Promise<StatsBuffer> {
  const directory = join(siteDirectory(config.dataDir, site.name), 'stats');
  return StatsBuffer.open({
    store: await openStatsStore(site.storage.stats, { directory, memoryLimitMb: config.stats.memoryLimitMb }),
    walDirectory: join(directory, 'wal'),
    flushIntervalMs: config.stats.flushIntervalMs,
    retentionDays: config.stats.retentionDays,
    now: options.now ?? (() => new Date()),
    onBackgroundError: (error, context) => options.onBackgroundError?.(error, `${context} at ${site.name}`),
  });
}
