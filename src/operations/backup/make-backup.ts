import { randomUUID } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import Database from 'better-sqlite3';
import { snapshotIdleDatabase } from '../../adapters/storage/duckdb/duckdb-stats-store.js';
import type { Config } from '../../config/config.js';
import { CONTROL_NODE, keysDirectory } from '../../config/data-dir.js';
import { StorageError } from '../../shared/storage-errors.js';
import { requestSnapshot } from '../../site/stats/stats-snapshot-requests.js';
import { BackupError } from './backup-errors.js';
import {
  type BackupFile,
  type BackupManifest,
  MANIFEST_FILE,
  MANIFEST_FORMAT,
  sha256OfFile,
} from './backup-manifest.js';
import { recordBackup } from './backup-record.js';
import { assertEmbedded } from './engines.js';
import { readLogState } from './log-state.js';
import { sealKeys } from './sealed-keys.js';

export interface BackupOptions {
  readonly config: Config;
  /** Where the backup goes: a directory, written as `<out>.partial` and renamed at the end. */
  readonly out: string;
  /** One node only (`control` or a site); every node of the data directory otherwise. */
  readonly node?: string;
  /** Seals the keys under this passphrase into the backup; without it, no key is copied. */
  readonly passphrase?: string;
  /** How long to wait for the serving process to copy a site's statistics. */
  readonly snapshotTimeoutMs?: number;
  readonly now?: () => Date;
  readonly onProgress?: (files: number, bytes: number) => void;
}

/**
 * Backs up a node while it serves, in an order that makes the copy consistent with its log:
 * the stores first (SQLite's online backup, each in one read snapshot; the statistics through
 * the server, which loads what it acknowledged and copies DuckDB under its writer's lock;
 * then the immutable blobs the metadata copy names), the log's journal last. Every change
 * in the copied stores was on the log before it reached a store, so the journal copy holds
 * it: the journal's size and root are the checkpoint the backup is consistent with.
 *
 * @example
 * const manifest = await makeBackup({ config, out: '/backups/2026-12-07' });
 */
export async function makeBackup(options: BackupOptions): Promise<BackupManifest> {
  const { config } = options;
  const now = options.now ?? (() => new Date());
  const startedAt = now().toISOString();
  const nodes = nodesOf(config, options.node);
  assertEmbedded(config, nodes);
  if (existsSync(options.out)) {
    throw new BackupError('BACKUP_INVALID', `${options.out} exists: a backup never overwrites another`);
  }
  const controlLogSizeAtStart = nodes.includes(CONTROL_NODE)
    ? journalSize(join(config.dataDir, 'control'))
    : undefined;
  const partial = `${options.out}.partial`;
  // A backup killed earlier left this; it was never a backup (it has no manifest).
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(partial, { recursive: true, mode: 0o700 });
  const copier = new Copier(config.dataDir, partial, options.onProgress);

  for (const node of nodes) {
    if (node === CONTROL_NODE) {
      await copier.sqlite('control/control.db');
      await copier.sqlite('control/verdicts.db');
      copier.tree('control/legal');
    } else {
      await copier.sqlite(`sites/${node}/site.db`);
      await copyStats(copier, node, options.snapshotTimeoutMs ?? 120_000);
      copyBlobs(copier, node);
    }
  }
  const logs: Record<string, Awaited<ReturnType<typeof readLogState>>> = {};
  for (const node of nodes) {
    const nodeDir = node === CONTROL_NODE ? 'control' : `sites/${node}`;
    // Tiles before the journal: their checkpoint is then never past the journal copied.
    copier.tree(`${nodeDir}/log/public`);
    await copier.sqlite(`${nodeDir}/log/journal.db`);
    logs[node] = await readLogState(join(partial, nodeDir));
  }
  copier.file('config.yaml', readFileSync(join(config.dataDir, 'config.yaml')));
  if (options.passphrase !== undefined) {
    const sealed = await sealKeys(keyFiles(config.dataDir, nodes), options.passphrase);
    copier.file('keys.sealed', Buffer.from(JSON.stringify(sealed)));
  }
  const manifest: BackupManifest = {
    format: MANIFEST_FORMAT,
    deployment: config.deployment,
    startedAt,
    finishedAt: now().toISOString(),
    nodes: logs,
    ...(controlLogSizeAtStart === undefined ? {} : { controlLogSizeAtStart }),
    files: await listFiles(partial),
    keys: options.passphrase === undefined ? 'absent' : 'sealed',
  };
  writeDurably(join(partial, MANIFEST_FILE), Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`));
  syncDirectory(partial);
  renameSync(partial, options.out);
  syncDirectory(dirname(options.out));
  await recordBackup(config, manifest, await sha256OfFile(join(options.out, MANIFEST_FILE)));
  return manifest;
}

/** A node's log size now, read without writing to the journal the server appends to. */
function journalSize(nodeDir: string): number {
  const file = join(nodeDir, 'log', 'journal.db');
  if (!existsSync(file)) return 0;
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(
        'SELECT COALESCE((SELECT start + count FROM log_batches ORDER BY start DESC LIMIT 1), 0) AS size',
      )
      .get() as { size: number };
    return row.size;
  } finally {
    db.close();
  }
}

function nodesOf(config: Config, node: string | undefined): string[] {
  const all = [CONTROL_NODE, ...config.sites.map((s) => s.name)];
  if (node === undefined) return all;
  if (!all.includes(node)) {
    throw new BackupError('BACKUP_INVALID', `no node ${node} here; the nodes are ${all.join(', ')}`);
  }
  return [node];
}

/**
 * The statistics: from the serving process when it holds them (the usual case), else
 * straight from the idle file, with the write-ahead log's records not loaded yet.
 */
async function copyStats(copier: Copier, site: string, timeoutMs: number): Promise<void> {
  const stats = join(copier.from, 'sites', site, 'stats');
  if (!existsSync(join(stats, 'stats.duckdb'))) return;
  const target = copier.target(`sites/${site}/stats/stats.duckdb`);
  try {
    await snapshotIdleDatabase(stats, target);
    rmSync(`${target}.wal`, { force: true });
    copier.counted(target);
    copier.tree(`sites/${site}/stats/wal`);
    return;
  } catch (error) {
    rmSync(target, { force: true });
    if (!(error instanceof StorageError && error.code === 'DATA_DIR_IN_USE')) throw error;
  }
  const snapshot = await requestSnapshot(stats, randomUUID(), timeoutMs);
  try {
    copyFileSync(snapshot, target);
    copier.counted(target);
  } finally {
    rmSync(snapshot, { force: true });
  }
}

/**
 * Blobs are immutable and named by their SHA-256, so a copy made after the metadata's is
 * consistent with it as long as every sample that copy names is there: a sample erased
 * meanwhile would be missing, and the backup fails rather than restore a row without bytes.
 */
function copyBlobs(copier: Copier, site: string): void {
  copier.tree(`sites/${site}/blobs`);
  const db = new Database(copier.target(`sites/${site}/site.db`));
  try {
    const rows = db.prepare('SELECT sha256 FROM samples').pluck().all() as string[];
    const missing = rows.filter(
      (sha256) =>
        !existsSync(
          copier.target(`sites/${site}/blobs/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`),
        ),
    );
    if (missing.length > 0) {
      throw new BackupError(
        'BACKUP_INVALID',
        `${missing.length} sample(s) of ${site} were deleted while the backup ran (an erasure?); run it again`,
      );
    }
  } finally {
    db.close();
  }
}

function keyFiles(dataDir: string, nodes: readonly string[]): Record<string, Buffer> {
  const files: Record<string, Buffer> = {};
  const keys = keysDirectory(dataDir);
  for (const name of readdirSync(keys)) {
    if (nodes.some((node) => name.startsWith(`${node}.`))) files[name] = readFileSync(join(keys, name));
  }
  return files;
}

async function listFiles(root: string): Promise<BackupFile[]> {
  const files: BackupFile[] = [];
  for (const path of walk(root)) {
    files.push({
      path: relative(root, path).split(sep).join('/'),
      bytes: statSync(path).size,
      sha256: await sha256OfFile(path),
    });
  }
  return files.sort((a, b) => a.path.localeCompare(b.path));
}

export function* walk(directory: string): Generator<string> {
  if (!existsSync(directory)) return;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) yield* walk(path);
    else if (entry.isFile()) yield path;
  }
}

/** Copies into the backup, durably, counting files and bytes for the progress line. */
class Copier {
  #files = 0;
  #bytes = 0;

  constructor(
    readonly from: string,
    readonly to: string,
    readonly onProgress: ((files: number, bytes: number) => void) | undefined,
  ) {}

  target(path: string): string {
    const file = join(this.to, path);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    return file;
  }

  /** SQLite's online backup: one read snapshot, so the server's writers carry on meanwhile. */
  async sqlite(path: string): Promise<void> {
    const source = join(this.from, path);
    if (!existsSync(source)) return;
    const db = new Database(source, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 10000');
      // The whole database in one step: a step-wise copy restarts whenever the server writes
      // between two steps, and under load it might never finish.
      await db.backup(this.target(path), { progress: ({ remainingPages }) => Math.max(remainingPages, 1) });
    } finally {
      db.close();
    }
    // One self-contained file: the copy leaves write-ahead mode, so no -wal file goes with it.
    const copy = new Database(this.target(path));
    try {
      copy.pragma('journal_mode = DELETE');
    } finally {
      copy.close();
    }
    this.counted(this.target(path));
  }

  /** Files of a folder, as they are; one that disappears meanwhile (a deleted blob) is skipped. */
  tree(path: string): void {
    for (const source of walk(join(this.from, path))) {
      const rel = relative(this.from, source);
      try {
        copyFileSync(source, this.target(rel));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
        throw error;
      }
      this.counted(this.target(rel));
    }
  }

  file(path: string, content: Buffer): void {
    writeDurably(this.target(path), content);
    this.counted(this.target(path));
  }

  counted(file: string): void {
    const fd = openSync(file, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    this.#files += 1;
    this.#bytes += statSync(file).size;
    this.onProgress?.(this.#files, this.#bytes);
  }
}

export function writeDurably(file: string, content: Buffer): void {
  writeFileSync(file, content, { mode: 0o600 });
  const fd = openSync(file, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function syncDirectory(directory: string): void {
  const fd = openSync(directory, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
