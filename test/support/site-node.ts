import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Migration } from 'kysely';
import { DuckDbStatsStore } from '../../src/adapters/storage/duckdb/duckdb-stats-store.js';
import { FsBlobStore } from '../../src/adapters/storage/fs/fs-blob-store.js';
import { openSqliteMetadataStore } from '../../src/adapters/storage/sqlite/sqlite-metadata-store.js';
import { initDataDir, readMasterKey } from '../../src/config/data-dir.js';
import { loadConfig, resolvePaths } from '../../src/config/load.js';
import { openNodeLog } from '../../src/ledger/open-node-log.js';
import type { TransparencyLog } from '../../src/ledger/transparency-log.js';
import type { BlobStore, MetadataStore } from '../../src/ports/storage.js';
import { catalogueMigrations } from '../../src/site/catalogue/catalogue-tables.js';
import { SiteNode, type SiteTables, siteDirectory } from '../../src/site/site-node.js';
import { StatsBuffer } from '../../src/site/stats/stats-buffer.js';
import { subjectMigrations } from '../../src/site/subjects/subject-tables.js';
import { vaultMigrations } from '../../src/site/vault/vault-tables.js';

export interface TestSite {
  readonly site: SiteNode;
  readonly log: TransparencyLog;
  readonly dataDir: string;
  /** Closes the site and removes its data directory. */
  close(): Promise<void>;
}

/**
 * One site of the example configuration (`zurich` unless named), wired as `main.ts` wires a
 * site in the serving process (SQLite, files, its own published log, DuckDB statistics), on a
 * new temporary data directory.
 */
export async function openTestSite(
  options: {
    name?: string;
    now?: () => Date;
    maxSampleBytes?: number;
    flushIntervalMs?: number;
    /** Another blob store than the site's files (an S3 bucket); the caller closes it. */
    blobs?: BlobStore;
    /** Another metadata store than the data directory's SQLite (for the PostgreSQL runs). */
    openMetadata?: (migrations: Record<string, Migration>) => Promise<MetadataStore<SiteTables>>;
  } = {},
): Promise<TestSite> {
  const name = options.name ?? 'zurich';
  const now = options.now ?? (() => new Date());
  const dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-site-'));
  initDataDir(resolvePaths({ dataDir }));
  const config = loadConfig({ dataDir, logLevel: 'silent' });
  const siteConfig = config.sites.find((s) => s.name === name);
  if (siteConfig === undefined) throw new Error(`the example configuration has no site ${name}`);
  const directory = siteDirectory(dataDir, name);
  const log = await openNodeLog(config, name, directory, { tiles: siteConfig.storage.tiles, publish: true });
  const statsDirectory = join(directory, 'stats');
  const stats = await StatsBuffer.open({
    store: await DuckDbStatsStore.open({
      directory: statsDirectory,
      memoryLimitMb: config.stats.memoryLimitMb,
    }),
    walDirectory: join(statsDirectory, 'wal'),
    flushIntervalMs: options.flushIntervalMs ?? 50,
    retentionDays: config.stats.retentionDays,
    now,
  });
  const migrations = { ...subjectMigrations, ...vaultMigrations, ...catalogueMigrations };
  const metadata =
    options.openMetadata === undefined
      ? await openSqliteMetadataStore<SiteTables>({
          file: join(directory, 'site.db'),
          groupSync: true,
          migrations,
        })
      : await options.openMetadata(migrations);
  const site = new SiteNode({
    name,
    jurisdiction: siteConfig.jurisdiction,
    metadata,
    blobs: options.blobs ?? (await new FsBlobStore(directory).open()),
    audit: log,
    log,
    masterKey: readMasterKey(dataDir, name),
    maxSampleBytes: options.maxSampleBytes ?? config.limits.maxSampleBytes,
    stats,
    now,
  });
  await site.vault.recover();
  return {
    site,
    log,
    dataDir,
    async close() {
      await site.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
