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
} from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import Database from 'better-sqlite3';
import { assertDatabaseIdle } from '../../adapters/storage/duckdb/duckdb-stats-store.js';
import { SqliteLogJournal } from '../../adapters/storage/sqlite/sqlite-log-journal.js';
import { CONTROL_NODE, keysDirectory, restrictNewFiles } from '../../config/data-dir.js';
import { loadConfig } from '../../config/load.js';
import { openGlasshouse } from '../../main.js';
import { StorageError } from '../../shared/storage-errors.js';
import { BackupError } from './backup-errors.js';
import { type BackupManifest, MANIFEST_FILE, readVerifiedManifest, sha256OfFile } from './backup-manifest.js';
import { appendToNodeLog } from './backup-record.js';
import { checkpointTree, journalLeaves, rootAt } from './log-state.js';
import { syncDirectory, walk, writeDurably } from './make-backup.js';
import {
  checkAgainstPublished,
  readPublishedCheckpoints,
  verifyPublishedSignatures,
} from './published-checkpoints.js';
import { erasedCommitments, RESTORE_ACTOR, reapplyErasures } from './reapply-erasures.js';
import { openSealedKeys, type SealedKeys } from './sealed-keys.js';

export interface RestoreOptions {
  /** A finished backup (its directory, with `manifest.json`). */
  readonly from: string;
  readonly dataDir: string;
  /** The data directory holds data, its server is stopped, and the operator says replace it. */
  readonly replace?: boolean;
  /** Restore even though the node's log already went past the backup's checkpoint. */
  readonly allowRollback?: boolean;
  /**
   * Signed checkpoints the node published (from a witness, a monitor or a mirror of
   * `/log/<node>/checkpoint`): a backup older than one is a rollback, refused unless allowed.
   * What a fresh directory has instead of the target's own log to compare with.
   */
  readonly publishedCheckpoints?: readonly string[];
  /** Opens the backup's sealed keys (needed when restoring into a fresh directory). */
  readonly passphrase?: string;
  /**
   * A restore test: the data directory of the deployment the backup is of (its server may be
   * running), whose control log records the test (`backup.restored`, target `test`), so that
   * the deployment's evidence pack lists it.
   */
  readonly testOf?: string;
  readonly now?: () => Date;
}

/** What the restore did, node by node. */
export interface RestoreResult {
  readonly nodes: Readonly<
    Record<
      string,
      {
        /** The log size the stores are restored to (the backup's checkpoint). */
        readonly restoredTo: number;
        /** The log the node keeps: the backup's, or the target's own when it extends the backup's. */
        readonly log: 'backup' | 'target';
        /** Set when the node's log had gone past the backup: the size it had (a rollback, logged). */
        readonly rolledBackFrom?: number;
        /** Set when a checkpoint given was past the backup: the size the node had published (a rollback, logged). */
        readonly publishedSize?: number;
      }
    >
  >;
  readonly erasuresReapplied: number;
  /** No key in the backup nor in the target: put the keys back in `keys/` before starting. */
  readonly keysMissing: boolean;
  /** The restore is on the restored node's log (`backup.restored`); not without keys to sign with. */
  readonly recorded: boolean;
}

/**
 * Restores a backup into a data directory, as steps: the backup is checked (manifest,
 * hashes, each log against its recorded checkpoint); the target is checked (stopped, and
 * its own log either behind the backup or, on a rollback the operator allowed, extending
 * it); the restored directory is built beside the target; erasures the control log recorded
 * after the backup are applied again and a rollback is logged, before anything serves it;
 * then it takes the target's place.
 *
 * @example
 * await restoreBackup({ from: '/backups/2026-12-07', dataDir: '/srv/glasshouse', replace: true });
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreResult> {
  restrictNewFiles();
  const manifest = await readVerifiedManifest(options.from);
  await verifyBackupLogs(options.from, manifest);
  const target = options.dataDir;
  resumeInterruptedSwap(target);
  const occupied = existsSync(target) && readdirSync(target).length > 0;
  if (occupied) await assertStoppedAndReplaceable(target, options.replace === true);
  const plan = occupied
    ? await planAgainstTarget(target, options.from, manifest, options.allowRollback === true)
    : undefined;
  const published = readPublishedCheckpoints(options.publishedCheckpoints ?? [], manifest);
  const pastPublished = await checkAgainstPublished(
    options.from,
    manifest,
    published,
    options.allowRollback === true,
  );

  const staging = stagingOf(target);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true, mode: 0o700 });
  const keptLogs = new Set(Object.entries(plan?.logs ?? {}).flatMap(([n, p]) => (p.keep ? [n] : [])));
  for (const entry of manifest.files) {
    if (entry.path === 'keys.sealed' || isLogFile(entry.path, keptLogs)) continue;
    copyInto(join(options.from, entry.path), join(staging, entry.path));
  }
  if (occupied) keepOtherNodes(target, staging, Object.keys(manifest.nodes));
  for (const node of keptLogs) await copyLog(join(target, nodeDirOf(node)), join(staging, nodeDirOf(node)));
  const keysMissing = !(await placeKeys(options, manifest, target, occupied, staging));
  verifyPublishedSignatures(keysDirectory(staging), published, manifest);

  const rollbacks: [string, NodePlan][] = [
    ...Object.entries(plan?.logs ?? {}).filter(([, p]) => p.rollback),
    ...[...pastPublished]
      .filter(([node]) => plan?.logs[node]?.rollback !== true)
      .map(([node, size]): [string, NodePlan] => [
        node,
        { backupSize: manifest.nodes[node]!.size, targetSize: size, keep: false, rollback: true },
      ]),
  ];
  const commitments = erasedCommitments(await controlEntriesSinceStart(manifest, staging));
  if (keysMissing && (rollbacks.length > 0 || commitments.size > 0)) {
    throw new BackupError('BACKUP_PASSPHRASE', 'the keys are needed to re-apply erasures');
  }
  const erasuresReapplied = keysMissing
    ? 0
    : await reapplyAndRecord(staging, manifest, {
        commitments,
        rollbacks,
        manifestSha256: await sha256OfFile(join(options.from, MANIFEST_FILE)),
        target: occupied ? 'replaced' : 'fresh',
        now: options.now,
      });
  swapInto(staging, target, occupied);
  if (options.testOf !== undefined) await recordTest(options, manifest, erasuresReapplied);
  return {
    nodes: Object.fromEntries(
      Object.entries(manifest.nodes).map(([node, state]) => {
        const p = plan?.logs[node];
        return [
          node,
          {
            restoredTo: state.size,
            log: p?.keep === true ? 'target' : 'backup',
            ...(p?.rollback === true ? { rolledBackFrom: p.targetSize } : {}),
            ...(pastPublished.has(node) ? { publishedSize: pastPublished.get(node)! } : {}),
          },
        ];
      }),
    ),
    erasuresReapplied,
    keysMissing,
    recorded: !keysMissing,
  };
}

/** Each node's journal in the backup has the size and root the manifest recorded, and extends its checkpoint. */
async function verifyBackupLogs(backup: string, manifest: BackupManifest): Promise<void> {
  for (const [node, state] of Object.entries(manifest.nodes)) {
    const leaves = await journalLeaves(join(backup, nodeDirOf(node)));
    if (leaves.length !== state.size || rootAt(leaves, leaves.length) !== state.root) {
      throw new BackupError(
        'BACKUP_INVALID',
        `the log of ${node} does not match the checkpoint the backup recorded`,
      );
    }
    if (state.checkpoint !== null) {
      const tree = checkpointTree(state.checkpoint);
      if (tree.size > leaves.length || rootAt(leaves, tree.size) !== tree.root) {
        throw new BackupError(
          'BACKUP_INVALID',
          `the log of ${node} does not extend its published checkpoint`,
        );
      }
    }
  }
}

async function assertStoppedAndReplaceable(target: string, replace: boolean): Promise<void> {
  for (const statsDir of statsDirectories(target)) {
    try {
      await assertDatabaseIdle(statsDir);
    } catch (error) {
      if (error instanceof StorageError && error.code === 'DATA_DIR_IN_USE') {
        throw new BackupError(
          'RESTORE_TARGET_IN_USE',
          `${target} is in use by a running server: stop it first`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  }
  if (!replace) {
    throw new BackupError(
      'RESTORE_TARGET_NOT_EMPTY',
      `${target} holds data: stop its server and give --replace to restore over it`,
    );
  }
}

interface NodePlan {
  readonly backupSize: number;
  readonly targetSize: number;
  /** The target's own log extends the backup's and is kept (append-only, published checkpoints stay valid). */
  readonly keep: boolean;
  /**
   * The node goes back behind entries that changed its stores (logged as `log.rollback`): not
   * when the entries past the backup only record backups and restores.
   */
  readonly rollback: boolean;
}

/**
 * Compares each node's log in the target with the backup's: behind it and a prefix of it
 * (the backup is newer: fine), or extending it (a rollback: refused unless allowed, and then
 * the target's log is kept, so everything already published stays consistent, and the
 * rollback is appended to it), or neither (not this node's backup: refused).
 */
async function planAgainstTarget(
  target: string,
  backup: string,
  manifest: BackupManifest,
  allowRollback: boolean,
): Promise<{ logs: Record<string, NodePlan> }> {
  const logs: Record<string, NodePlan> = {};
  for (const [node, state] of Object.entries(manifest.nodes)) {
    const nodeDir = join(target, nodeDirOf(node));
    const leaves = await journalLeaves(nodeDir);
    const common = Math.min(leaves.length, state.size);
    const backupRootAtCommon =
      common === state.size ? state.root : rootAt(await journalLeaves(join(backup, nodeDirOf(node))), common);
    if (rootAt(leaves, common) !== backupRootAtCommon) {
      throw new BackupError(
        'RESTORE_LOG_DIVERGED',
        `the log of ${node} in ${target} is not an extension of the backup's: not a backup of this node`,
      );
    }
    const rollback =
      leaves.length > state.size && !(await onlyRecordsAfter(nodeDir, state.size, leaves.length));
    if (rollback && !allowRollback) {
      throw new BackupError(
        'RESTORE_ROLLBACK_REFUSED',
        `the log of ${node} is at ${leaves.length} entries, past the backup's checkpoint (${state.size}): ` +
          'restoring would roll the node back; give --allow-rollback to do it on the record',
      );
    }
    logs[node] = {
      backupSize: state.size,
      targetSize: leaves.length,
      keep: leaves.length > state.size,
      rollback,
    };
  }
  return { logs };
}

/**
 * The control log's entries since the backup began, from the log the restored node keeps
 * (the target's own when it went further, else the backup's): the erasures among them are
 * applied again. Those completed while the backup ran are included, since each store was
 * copied at its own moment.
 */
async function controlEntriesSinceStart(manifest: BackupManifest, staging: string): Promise<Buffer[]> {
  const from = manifest.controlLogSizeAtStart ?? manifest.nodes[CONTROL_NODE]?.size;
  const file = join(staging, 'control', 'log', 'journal.db');
  if (from === undefined || !existsSync(file)) return [];
  const journal = new SqliteLogJournal(file);
  try {
    const size = await journal.size();
    return from >= size ? [] : await journal.readEntries(from, size);
  } finally {
    await journal.close();
  }
}

/** Keys: the target's own, else the backup's sealed ones. False when there are none. */
async function placeKeys(
  options: RestoreOptions,
  manifest: BackupManifest,
  target: string,
  occupied: boolean,
  staging: string,
): Promise<boolean> {
  const keys = keysDirectory(staging);
  mkdirSync(keys, { recursive: true, mode: 0o700 });
  if (occupied && existsSync(keysDirectory(target)) && readdirSync(keysDirectory(target)).length > 0) {
    for (const name of readdirSync(keysDirectory(target))) {
      copyInto(join(keysDirectory(target), name), join(keys, name));
    }
    return true;
  }
  if (manifest.keys !== 'sealed') return false;
  if (options.passphrase === undefined) {
    throw new BackupError('BACKUP_PASSPHRASE', "the backup's keys are sealed: give the passphrase");
  }
  const sealed = JSON.parse(readFileSync(join(options.from, 'keys.sealed'), 'utf8')) as SealedKeys;
  for (const [name, content] of Object.entries(await openSealedKeys(sealed, options.passphrase))) {
    if (name.includes('/') || name.startsWith('.'))
      throw new BackupError('BACKUP_INVALID', `bad key name ${name}`);
    writeDurably(join(keys, name), content);
  }
  return true;
}

/**
 * Works on the restored directory, offline (no port), before it takes the target's place:
 * erases again what the control log erased after the backup (then compacts control.db, so
 * that no raw file keeps an erased installation), appends each rollback and the restore
 * itself (`backup.restored`) to the node's log.
 */
async function reapplyAndRecord(
  staging: string,
  manifest: BackupManifest,
  work: {
    readonly commitments: ReadonlySet<string>;
    readonly rollbacks: readonly [string, NodePlan][];
    readonly manifestSha256: string;
    readonly target: 'fresh' | 'replaced';
    readonly now: (() => Date) | undefined;
  },
): Promise<number> {
  const config = loadConfig({ dataDir: staging, logLevel: 'silent' });
  const now = work.now;
  let erased = 0;
  if (work.commitments.size > 0) {
    const glasshouse = await openGlasshouse(config, { publish: true, ...(now === undefined ? {} : { now }) });
    try {
      erased = await reapplyErasures(glasshouse, work.commitments);
    } finally {
      await glasshouse.close();
    }
    compactSqlite(join(staging, 'control', 'control.db'));
  }
  // Each node's own log only: a backup of one site restores into that site's data directory.
  const time = (now ?? (() => new Date()))().toISOString();
  for (const [node, plan] of work.rollbacks) {
    await appendToNodeLog(config, node, {
      type: 'log.rollback',
      time,
      actor: RESTORE_ACTOR,
      node,
      restoredTo: plan.backupSize,
      restoredRoot: manifest.nodes[node]?.root ?? '',
      logSize: plan.targetSize,
      logKept: plan.keep,
      backupFinishedAt: manifest.finishedAt,
      erasuresReapplied: node === CONTROL_NODE ? erased : 0,
    });
  }
  for (const [node, state] of Object.entries(manifest.nodes)) {
    await appendToNodeLog(config, node, {
      type: 'backup.restored',
      time,
      actor: RESTORE_ACTOR,
      node,
      backup: work.manifestSha256,
      backupFinishedAt: manifest.finishedAt,
      restoredTo: state.size,
      restoredRoot: state.root,
      target: work.target,
      erasuresReapplied: node === CONTROL_NODE ? erased : 0,
    });
  }
  return erased;
}

/** Appends the restore test to the control log (or the node's, for a site alone) of the deployment it tested. */
async function recordTest(options: RestoreOptions, manifest: BackupManifest, erased: number): Promise<void> {
  const config = loadConfig({ dataDir: options.testOf!, logLevel: 'silent' });
  const nodes = Object.keys(manifest.nodes);
  const node = nodes.includes(CONTROL_NODE) ? CONTROL_NODE : nodes[0];
  if (node === undefined) return;
  await appendToNodeLog(config, node, {
    type: 'backup.restored',
    time: (options.now ?? (() => new Date()))().toISOString(),
    actor: RESTORE_ACTOR,
    node,
    backup: await sha256OfFile(join(options.from, MANIFEST_FILE)),
    backupFinishedAt: manifest.finishedAt,
    restoredTo: manifest.nodes[node]!.size,
    restoredRoot: manifest.nodes[node]!.root,
    target: 'test',
    erasuresReapplied: erased,
  });
}

/** Whether the entries `from..to` of a node's log only record backups and restores (they change no store). */
async function onlyRecordsAfter(nodeDir: string, from: number, to: number): Promise<boolean> {
  const journal = new SqliteLogJournal(join(nodeDir, 'log', 'journal.db'));
  try {
    for (let start = from; start < to; start += 256) {
      for (const entry of await journal.readEntries(start, Math.min(to, start + 256))) {
        const type = (JSON.parse(entry.toString('utf8')) as { type?: unknown }).type;
        if (type !== 'backup.made' && type !== 'backup.restored') return false;
      }
    }
    return true;
  } finally {
    await journal.close();
  }
}

function compactSqlite(file: string): void {
  const db = new Database(file);
  try {
    db.pragma('wal_checkpoint(TRUNCATE)');
    db.exec('VACUUM');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
}

/** The restored directory takes the target's place; the replaced one is deleted, not kept (it may hold erased data). */
/**
 * A restore with `--replace` killed between the two renames of {@link swapInto} left the old
 * data directory as `<target>.replaced` and no target: put it back, so that this restore
 * compares with its log and re-applies its erasures as the interrupted one would have.
 */
function resumeInterruptedSwap(target: string): void {
  const replaced = `${target}.replaced`;
  if (existsSync(replaced) && !existsSync(target) && existsSync(stagingOf(target))) {
    renameSync(replaced, target);
    syncDirectory(dirname(target));
  }
}

function swapInto(staging: string, target: string, occupied: boolean): void {
  syncDirectory(staging);
  if (occupied) {
    const replaced = `${target}.replaced`;
    rmSync(replaced, { recursive: true, force: true });
    renameSync(target, replaced);
    renameSync(staging, target);
    rmSync(replaced, { recursive: true, force: true });
  } else {
    rmSync(target, { recursive: true, force: true });
    renameSync(staging, target);
  }
  syncDirectory(dirname(target));
}

async function copyLog(fromNodeDir: string, toNodeDir: string): Promise<void> {
  const journal = join(fromNodeDir, 'log', 'journal.db');
  if (existsSync(journal)) {
    mkdirSync(join(toNodeDir, 'log'), { recursive: true, mode: 0o700 });
    const db = new Database(journal, { readonly: true });
    try {
      await db.backup(join(toNodeDir, 'log', 'journal.db'));
    } finally {
      db.close();
    }
  }
  for (const file of walk(join(fromNodeDir, 'log', 'public'))) {
    copyInto(file, join(toNodeDir, relative(fromNodeDir, file)));
  }
}

/** A backup of one node (`--node`) restores that node only: the target's other nodes stay as they are. */
function keepOtherNodes(target: string, staging: string, restored: readonly string[]): void {
  const restoredDirs = restored.map((node) => `${nodeDirOf(node)}/`);
  for (const file of walk(target)) {
    const path = relative(target, file).split(sep).join('/');
    if (path === 'config.yaml' || path.startsWith('keys/')) continue;
    if (restoredDirs.some((dir) => path.startsWith(dir))) continue;
    if (!path.startsWith('control/') && !path.startsWith('sites/')) continue;
    copyInto(file, join(staging, path));
  }
}

function copyInto(from: string, to: string): void {
  mkdirSync(dirname(to), { recursive: true, mode: 0o700 });
  copyFileSync(from, to);
  // On disk before the staging directory takes the target's place: a restore that reads as
  // finished after a power loss is whole.
  const fd = openSync(to, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Where a restore builds the data directory before it takes the target's place. */
function stagingOf(dataDir: string): string {
  return `${dataDir}.restoring`;
}

/**
 * Refuses to start on, or create, a data directory a restore was building when it was killed:
 * the target is then absent (or still the old one), and a server started there would serve
 * an empty deployment (or the data the operator meant to replace) instead of the backup.
 */
export function assertNoInterruptedRestore(dataDir: string): void {
  const staging = stagingOf(dataDir);
  if (existsSync(staging)) {
    throw new BackupError(
      'RESTORE_INTERRUPTED',
      `a restore into ${dataDir} was interrupted (${staging} is left): run the same restore again, or delete ${staging} to give up on it`,
    );
  }
}

function isLogFile(path: string, keptLogs: ReadonlySet<string>): boolean {
  return [...keptLogs].some((node) => path.startsWith(`${nodeDirOf(node)}/log/`));
}

function nodeDirOf(node: string): string {
  return node === CONTROL_NODE ? 'control' : `sites/${node}`;
}

function statsDirectories(dataDir: string): string[] {
  const sites = join(dataDir, 'sites');
  if (!existsSync(sites)) return [];
  return readdirSync(sites)
    .map((site) => join(sites, site, 'stats'))
    .filter((dir) => existsSync(join(dir, 'stats.duckdb')));
}
