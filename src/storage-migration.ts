import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { copyBlobs, countBlobs, holdsBlobs } from './adapters/storage/migrate/copy-blobs.js';
import {
  copyMetadataToPostgres,
  postgresTablesWithRows,
  sqliteTables,
  type TableCopy,
} from './adapters/storage/migrate/copy-metadata.js';
import { copyStats, holdsStats } from './adapters/storage/migrate/copy-stats.js';
import {
  openBlobStore,
  openMetadataStore,
  openStatsStore,
  openTileStore,
} from './adapters/storage/open-stores.js';
import { openElsewhere } from './adapters/storage/sqlite/sqlite-in-use.js';
import type { Config } from './config/config.js';
import { CONTROL_NODE, controlDirectory, restrictNewFiles } from './config/data-dir.js';
import {
  EMBEDDED_SITE_STORAGE,
  type ObjectLocation,
  type SiteStorage,
  type StorageKey,
} from './config/storage-locations.js';
import { parseCheckpoint } from './ledger/note/index.js';
import { nodeSigner, openNodeLog } from './ledger/open-node-log.js';
import { verifyPublishedLog } from './ledger/verify-published-log.js';
import { CONTROL_MIGRATIONS } from './main.js';
import type { BlobStore, MetadataStore, StatsStore, TileStore } from './ports/storage.js';
import { StorageError } from './shared/storage-errors.js';
import { siteDirectory } from './site/site-node.js';
import { SITE_MIGRATIONS } from './site-main.js';

/*
 * Moving one node (the control plane or a site) from its embedded stores in the data
 * directory onto the engines config.yaml now names for it: `glasshouse storage migrate`.
 * Every store whose location is still embedded stays where it is; every other is copied
 * from its embedded files, then checked against them. The embedded files are left in place
 * for the operator to remove once the node runs on the engines.
 */

// biome-ignore lint/suspicious/noExplicitAny: the copy discovers tables at run time.
type AnyStore = MetadataStore<any>;

/** Reports the progress of one stage (rows, blobs, events, entry bundles). */
export interface StageProgress {
  update(done: number, total: number): void;
  done(): void;
}

export interface MigrationOptions {
  /** `control` or the name of a configured site. */
  readonly node: string;
  /** Count what would move, open no target, change nothing. */
  readonly dryRun?: boolean;
  readonly progress?: (stage: string, unit: string) => StageProgress;
}

/** What moved (or, in a dry run, would move) of one store, and where to. */
export interface StoreMove<Counts> {
  readonly to: string;
  readonly counts: Counts;
}

export interface MigrationReport {
  readonly node: string;
  readonly dataDir: string;
  readonly dryRun: boolean;
  readonly metadata?: StoreMove<{ readonly rows: number; readonly tables: readonly TableCopy[] }>;
  readonly blobs?: StoreMove<{ readonly blobs: number; readonly bytes?: number }>;
  readonly stats?: StoreMove<{
    readonly installations: number;
    readonly events: number;
    readonly loadedThrough: number;
  }>;
  readonly tiles?: StoreMove<{ readonly entries: number; readonly publishedBefore: number }>;
  /** The stores that stay embedded in the data directory. */
  readonly unchanged: readonly StorageKey[];
  /** Files of the data directory the node no longer reads once it runs on the engines. */
  readonly removableOnceVerified: readonly string[];
}

/** The nodes `--node` may name: `control` and every configured site. */
export function migratableNodes(config: Config): string[] {
  return [CONTROL_NODE, ...config.sites.map((site) => site.name)];
}

/**
 * Copies the node's embedded stores to the engines config.yaml names for it; refuses, before
 * anything is written, when nothing is configured to move, when a server holds the node's
 * data, or when a target already holds data.
 *
 * @example
 * await migrateNodeStorage(loadConfig({ dataDir }), { node: 'zurich' });
 */
export async function migrateNodeStorage(
  config: Config,
  options: MigrationOptions,
): Promise<MigrationReport> {
  const node = nodeOf(config, options.node);
  const moving = (Object.keys(node.storage) as StorageKey[]).filter(
    (key) => node.storage[key]?.engine !== EMBEDDED_SITE_STORAGE[key].engine,
  );
  const unchanged = (Object.keys(node.storage) as StorageKey[]).filter((key) => !moving.includes(key));
  if (moving.length === 0) {
    throw new StorageError(
      'NOTHING_TO_MIGRATE',
      `${config.configFile} names no engine for ${describeNode(node)}: every store of it is embedded; name the new ones under ${node.key} first (see docs/storage.md)`,
    );
  }
  if (!existsSync(node.directory)) {
    throw new StorageError(
      'NOTHING_TO_MIGRATE',
      `${node.directory} does not exist: ${config.dataDir} holds no embedded data of ${describeNode(node)}`,
    );
  }
  restrictNewFiles();
  refuseWhileOpenElsewhere(config, node);
  const held = new Held();
  try {
    // The embedded statistics admit one process: holding them keeps a server from starting
    // on this data until the copy is done (and shows that none runs).
    const statsSources = await holdStatistics(config, node, held);
    const source = await openSources(node, moving, statsSources, held);
    const counts = await countSources(config, node, source);
    if (options.dryRun === true) {
      return report(config, node, moving, unchanged, true, {
        ...(source.metadata === undefined ? {} : { metadata: counts.metadata }),
        ...(source.blobs === undefined ? {} : { blobs: counts.blobs }),
        ...(moving.includes('stats')
          ? { stats: counts.stats ?? { installations: 0, events: 0, loadedThrough: 0 } }
          : {}),
        ...(source.tiles === undefined ? {} : { tiles: counts.tiles }),
      });
    }
    const target = await openTargets(config, node, source, held);
    await refuseUnlessEmpty(node, target, source);
    const progress = options.progress ?? (() => ({ update: () => undefined, done: () => undefined }));
    const moved: Moved = {};
    if (source.metadata !== undefined && target.metadata !== undefined) {
      const stage = progress(`${node.name} metadata`, 'rows');
      const tables = await copyMetadataToPostgres(source.metadata.db, target.metadata.db, (d, t) =>
        stage.update(d, t),
      );
      stage.done();
      moved.metadata = { rows: tables.reduce((sum, t) => sum + t.rows, 0), tables };
    }
    if (source.blobs !== undefined && target.blobs !== undefined) {
      const stage = progress(`${node.name} blobs`, 'blobs');
      moved.blobs = await copyBlobs(source.blobs, target.blobs, counts.blobs.blobs, (d, t) =>
        stage.update(d, t),
      );
      stage.done();
    }
    if (target.stats !== undefined) {
      if (source.stats === undefined) {
        // A site that never served has no statistics: the target starts empty, as it is.
        moved.stats = { installations: 0, events: 0, loadedThrough: 0 };
      } else {
        const stage = progress(`${node.name} events`, 'events');
        moved.stats = await copyStats(source.stats, target.stats, (d, t) => stage.update(d, t));
        stage.done();
      }
    }
    if (source.tiles !== undefined && target.tiles !== undefined) {
      const stage = progress(`${node.name} log`, 'entry bundles');
      moved.tiles = await republishLog(config, node, source.tiles, target.tiles, (d, t) =>
        stage.update(d, t),
      );
      stage.done();
    }
    return report(config, node, moving, unchanged, false, moved);
  } finally {
    await held.closeAll();
  }
}

interface Node {
  readonly name: string;
  readonly kind: 'control' | 'site';
  readonly directory: string;
  /** Where its stores now go; a control plane has no blobs and no statistics. */
  readonly storage: Partial<SiteStorage> & Pick<SiteStorage, 'metadata' | 'tiles'>;
  /** The config key of its storage. */
  readonly key: string;
}

function nodeOf(config: Config, name: string): Node {
  if (name === CONTROL_NODE) {
    return {
      name,
      kind: 'control',
      directory: controlDirectory(config.dataDir),
      storage: config.storage,
      key: 'storage:',
    };
  }
  const site = config.sites.find((s) => s.name === name);
  if (site === undefined) {
    throw new StorageError(
      'NOTHING_TO_MIGRATE',
      `${config.configFile} names no node ${name} (nodes: ${migratableNodes(config).join(', ')})`,
    );
  }
  return {
    name,
    kind: 'site',
    directory: siteDirectory(config.dataDir, name),
    storage: site.storage,
    key: `sites.${name}.storage:`,
  };
}

function describeNode(node: Node): string {
  return node.kind === 'control' ? 'the control plane' : `site ${node.name}`;
}

/** Everything opened, closed in reverse order whatever happens. */
class Held {
  readonly #closers: (() => Promise<void> | void)[] = [];

  add<T>(value: T, close: (value: T) => Promise<void> | void): T {
    this.#closers.push(() => close(value));
    return value;
  }

  async closeAll(): Promise<void> {
    for (const close of this.#closers.reverse()) await Promise.resolve(close()).catch(() => undefined);
  }
}

/**
 * A server keeps the node's log journal (and its SQLite metadata) open as long as it runs,
 * whatever engines it uses: refuses while another process has one of them open.
 */
function refuseWhileOpenElsewhere(config: Config, node: Node): void {
  for (const file of [join(node.directory, 'log', 'journal.db'), metadataFile(node)]) {
    if (openElsewhere(file)) {
      throw new StorageError(
        'DATA_DIR_IN_USE',
        `a glasshouse server runs on ${config.dataDir} (${file} is open in another process): stop it before moving ${describeNode(node)}, then run this again`,
      );
    }
  }
}

/**
 * Opens the embedded statistics this node's server would hold: a site's own, or, for the
 * control plane, those of the sites that `glasshouse up` runs beside it on this data
 * directory. Opening fails with `DATA_DIR_IN_USE` while a server holds them. Returns the
 * node's own, when it has them.
 */
async function holdStatistics(config: Config, node: Node, held: Held): Promise<StatsStore | undefined> {
  const sites =
    node.kind === 'site'
      ? config.sites.filter((s) => s.name === node.name)
      : config.sites.filter((s) => s.storage.stats.engine === 'duckdb');
  let own: StatsStore | undefined;
  for (const site of sites) {
    const directory = join(siteDirectory(config.dataDir, site.name), 'stats');
    if (!existsSync(join(directory, 'stats.duckdb'))) continue;
    const store = await openStatsStore(
      { engine: 'duckdb' },
      { directory, memoryLimitMb: config.stats.memoryLimitMb },
    ).catch((error: unknown) => {
      if (error instanceof StorageError && error.code === 'DATA_DIR_IN_USE') {
        throw new StorageError(
          'DATA_DIR_IN_USE',
          `a glasshouse server runs on ${config.dataDir} (${directory} is locked): stop it before moving ${describeNode(node)}, then run this again`,
          { cause: error },
        );
      }
      throw error;
    });
    held.add(store, (s) => s.close());
    if (site.name === node.name) own = store;
  }
  return own;
}

interface Sources {
  readonly metadata?: AnyStore;
  readonly blobs?: BlobStore;
  readonly stats?: StatsStore;
  /** The node's published log as the embedded tile store holds it. */
  readonly tiles?: TileStore;
}

async function openSources(
  node: Node,
  moving: readonly StorageKey[],
  stats: StatsStore | undefined,
  held: Held,
): Promise<Sources> {
  const embedded = { engine: 'fs' } as const;
  return {
    ...(moving.includes('metadata')
      ? {
          metadata: held.add(
            await openMetadataStore(
              { engine: 'sqlite' },
              { file: metadataFile(node), migrations: migrationsOf(node) },
            ),
            (s) => s.close(),
          ),
        }
      : {}),
    ...(moving.includes('blobs') ? { blobs: await openBlobStore(embedded, node.directory) } : {}),
    ...(moving.includes('stats') && stats !== undefined ? { stats } : {}),
    ...(moving.includes('tiles') ? { tiles: await openTileStore(embedded, node.directory) } : {}),
  };
}

function metadataFile(node: Node): string {
  return join(node.directory, node.kind === 'control' ? 'control.db' : 'site.db');
}

function migrationsOf(node: Node) {
  return node.kind === 'control' ? CONTROL_MIGRATIONS : SITE_MIGRATIONS;
}

interface SourceCounts {
  readonly metadata: { readonly rows: number; readonly tables: readonly TableCopy[] };
  readonly blobs: { readonly blobs: number; readonly bytes?: number };
  readonly stats?: {
    readonly installations: number;
    readonly events: number;
    readonly loadedThrough: number;
  };
  readonly tiles: { readonly entries: number; readonly publishedBefore: number };
}

async function countSources(config: Config, node: Node, source: Sources): Promise<SourceCounts> {
  const tables =
    source.metadata === undefined
      ? []
      : (await sqliteTables(source.metadata.db as Kysely<unknown>)).map((t) => ({
          table: t.name,
          rows: t.rows,
        }));
  const events = source.stats === undefined ? undefined : await source.stats.countByInstallation();
  return {
    metadata: { rows: tables.reduce((sum, t) => sum + t.rows, 0), tables },
    blobs: source.blobs === undefined ? { blobs: 0 } : await countBlobs(source.blobs),
    ...(events === undefined || source.stats === undefined
      ? {}
      : {
          stats: {
            installations: events.size,
            events: [...events.values()].reduce((sum, n) => sum + n, 0),
            loadedThrough: await source.stats.loadedThrough(),
          },
        }),
    tiles:
      source.tiles === undefined
        ? { entries: 0, publishedBefore: 0 }
        : await countLog(config, node, source.tiles),
  };
}

/** The entries the journal holds (all of which the target will publish) and what the embedded tiles published. */
async function countLog(config: Config, node: Node, tiles: TileStore): Promise<SourceCounts['tiles']> {
  const log = await openNodeLog(config, node.name, node.directory, {
    tiles: { engine: 'fs' },
    publish: false,
  });
  try {
    return { entries: await log.size(), publishedBefore: await publishedSize(tiles) };
  } finally {
    await log.close();
  }
}

async function publishedSize(tiles: TileStore): Promise<number> {
  const text = (await tiles.get('checkpoint'))?.toString('utf8');
  if (text === undefined) return 0;
  return parseCheckpoint(text.slice(0, text.indexOf('\n\n') + 1)).treeSize;
}

interface Targets {
  readonly metadata?: AnyStore;
  readonly blobs?: BlobStore;
  readonly stats?: StatsStore;
  readonly tiles?: TileStore;
}

async function openTargets(config: Config, node: Node, source: Sources, held: Held): Promise<Targets> {
  const { metadata, blobs, stats, tiles } = node.storage;
  const release = (store: unknown) => (store as { destroy?: () => void }).destroy?.();
  return {
    ...(source.metadata !== undefined && metadata?.engine === 'postgres'
      ? {
          metadata: held.add(
            await openMetadataStore(metadata, { file: metadataFile(node), migrations: migrationsOf(node) }),
            (s) => s.close(),
          ),
        }
      : {}),
    ...(source.blobs !== undefined && blobs !== undefined && blobs.engine !== 'fs'
      ? { blobs: held.add(await openBlobStore(blobs, node.directory), release) }
      : {}),
    ...(stats !== undefined && stats.engine !== 'duckdb'
      ? {
          stats: held.add(
            await openStatsStore(stats, { directory: '', memoryLimitMb: config.stats.memoryLimitMb }),
            (s) => s.close(),
          ),
        }
      : {}),
    ...(source.tiles !== undefined && tiles !== undefined && tiles.engine !== 'fs'
      ? { tiles: held.add(await openTileStore(tiles, node.directory), release) }
      : {}),
  };
}

/** Refuses, naming each store, when any target already holds data: nothing is copied then. */
async function refuseUnlessEmpty(node: Node, target: Targets, source: Sources): Promise<void> {
  const problems: string[] = [];
  if (target.metadata !== undefined && source.metadata !== undefined) {
    const tables = (await sqliteTables(source.metadata.db as Kysely<unknown>)).map((t) => t.name);
    const holding = await postgresTablesWithRows(target.metadata.db as Kysely<unknown>, tables);
    if (holding.length > 0)
      problems.push(`metadata at ${url(node.storage.metadata)} (rows in ${holding.join(', ')})`);
  }
  if (target.blobs !== undefined && (await holdsBlobs(target.blobs))) {
    problems.push(`blobs at ${url(node.storage.blobs)}`);
  }
  if (target.stats !== undefined && (await holdsStats(target.stats))) {
    problems.push(`stats at ${url(node.storage.stats)}`);
  }
  if (target.tiles !== undefined && (await target.tiles.get('checkpoint')) !== undefined) {
    problems.push(`tiles at ${url(node.storage.tiles)} (a checkpoint is there)`);
  }
  if (problems.length > 0) {
    throw new StorageError(
      'STORAGE_NOT_EMPTY',
      `nothing was copied: the new stores of ${describeNode(node)} already hold data: ${problems.join('; ')}. Give empty ones (a new database, bucket or prefix), or empty these`,
    );
  }
}

function url(location: { readonly engine: string; readonly url?: string } | undefined): string {
  return location?.url ?? location?.engine ?? '?';
}

/**
 * Publishes the node's whole log into the new tile store, from the journal (which stays in
 * the data directory), as its server would on an empty store; then verifies what the target
 * holds from its files alone (signature, every entry bundle and tile), and that the log the
 * embedded tiles published is a prefix of it.
 */
async function republishLog(
  config: Config,
  node: Node,
  source: TileStore,
  target: TileStore,
  onProgress: (done: number, total: number) => void,
): Promise<{ entries: number; publishedBefore: number }> {
  const log = await openNodeLog(config, node.name, node.directory, {
    tiles: node.storage.tiles as ObjectLocation,
    publish: true,
  });
  const entries = await log.size();
  await log.close();
  const before = (await source.get('checkpoint'))?.toString('utf8');
  const verified = await verifyPublishedLog({
    read: (path) => target.get(path),
    verifierKey: nodeSigner(config, node.name).verifierKey,
    ...(before === undefined ? {} : { previousCheckpoint: before }),
    onProgress,
  }).catch((cause: unknown) => {
    throw new StorageError(
      'MIGRATION_MISMATCH',
      `the log published at ${url(node.storage.tiles)} does not verify: ${cause instanceof Error ? cause.message : String(cause)}`,
      { cause },
    );
  });
  if (verified.size !== entries) {
    throw new StorageError(
      'MIGRATION_MISMATCH',
      `the log published at ${url(node.storage.tiles)} covers ${verified.size} entries, the journal holds ${entries}`,
    );
  }
  return { entries, publishedBefore: before === undefined ? 0 : (verified.previous?.size ?? 0) };
}

interface Moved {
  metadata?: { readonly rows: number; readonly tables: readonly TableCopy[] };
  blobs?: { readonly blobs: number; readonly bytes?: number };
  stats?: { readonly installations: number; readonly events: number; readonly loadedThrough: number };
  tiles?: { readonly entries: number; readonly publishedBefore: number };
}

function report(
  config: Config,
  node: Node,
  moving: readonly StorageKey[],
  unchanged: readonly StorageKey[],
  dryRun: boolean,
  moved: Moved,
): MigrationReport {
  const to = (key: StorageKey) => url(node.storage[key]);
  return {
    node: node.name,
    dataDir: config.dataDir,
    dryRun,
    ...(moved.metadata === undefined ? {} : { metadata: { to: to('metadata'), counts: moved.metadata } }),
    ...(moved.blobs === undefined ? {} : { blobs: { to: to('blobs'), counts: moved.blobs } }),
    ...(moved.stats === undefined ? {} : { stats: { to: to('stats'), counts: moved.stats } }),
    ...(moved.tiles === undefined ? {} : { tiles: { to: to('tiles'), counts: moved.tiles } }),
    unchanged,
    removableOnceVerified: moving.flatMap((key) => leftBehind(node, key)),
  };
}

/** The embedded files of a store that moved; never the log's journal nor the statistics' write-ahead log. */
function leftBehind(node: Node, key: StorageKey): string[] {
  switch (key) {
    case 'metadata': {
      const file = metadataFile(node);
      return [file, `${file}-wal`, `${file}-shm`];
    }
    case 'blobs':
      return [join(node.directory, 'blobs'), join(node.directory, 'tmp')];
    case 'stats':
      return [
        join(node.directory, 'stats', 'stats.duckdb'),
        join(node.directory, 'stats', 'stats.duckdb.wal'),
      ];
    case 'tiles':
      return [join(node.directory, 'log', 'public')];
  }
}
