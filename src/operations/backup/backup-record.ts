import { existsSync, readFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Config } from '../../config/config.js';
import { CONTROL_NODE } from '../../config/data-dir.js';
import { openNodeLog } from '../../ledger/open-node-log.js';
import type { BackupManifest } from './backup-manifest.js';
import { syncDirectory, writeDurably } from './make-backup.js';

/** The CLI's actor on the log for a backup (no token: the operator runs it on the machine). */
export const BACKUP_ACTOR = { role: 'admin', token: 'backup' } as const;

/** `<nodeDir>/last-backup.json`: the latest backup of the node, read by `/metrics`. */
export const LAST_BACKUP_FILE = 'last-backup.json';

export interface LastBackup {
  readonly finishedAt: string;
  /** SHA-256 of the backup's `manifest.json`, hex: names the backup. */
  readonly backup: string;
  /** The node's log size the backup is consistent with. */
  readonly logSize: number;
}

/**
 * Records a finished backup where an auditor and the metrics find it: a `backup.made` entry
 * on the control log (on the site's own log for a backup of a site alone), and each node's
 * `last-backup.json`. Written after the backup is whole; the entry is past the checkpoint the
 * backup is consistent with, and a restore knows it changes nothing in the stores.
 */
export async function recordBackup(
  config: Config,
  manifest: BackupManifest,
  manifestSha256: string,
): Promise<void> {
  const nodes = Object.keys(manifest.nodes);
  const logNode = nodes.includes(CONTROL_NODE) ? CONTROL_NODE : nodes[0];
  if (logNode !== undefined) {
    await appendToNodeLog(config, logNode, {
      type: 'backup.made',
      time: manifest.finishedAt,
      actor: BACKUP_ACTOR,
      backup: manifestSha256,
      startedAt: manifest.startedAt,
      nodes: Object.fromEntries(
        Object.entries(manifest.nodes).map(([node, log]) => [node, { size: log.size, root: log.root }]),
      ),
      files: manifest.files.length,
      bytes: manifest.files.reduce((sum, f) => sum + f.bytes, 0),
      keys: manifest.keys,
    });
  }
  for (const [node, log] of Object.entries(manifest.nodes)) {
    const last: LastBackup = { finishedAt: manifest.finishedAt, backup: manifestSha256, logSize: log.size };
    const file = join(config.dataDir, nodeDirOf(node), LAST_BACKUP_FILE);
    writeDurably(`${file}.tmp`, Buffer.from(`${JSON.stringify(last)}\n`));
    renameSync(`${file}.tmp`, file);
    syncDirectory(dirname(file));
  }
}

/** The node's latest backup as `last-backup.json` says, or `undefined` (none, or unreadable). */
export function readLastBackup(nodeDir: string): LastBackup | undefined {
  const file = join(nodeDir, LAST_BACKUP_FILE);
  if (!existsSync(file)) return undefined;
  try {
    const value = JSON.parse(readFileSync(file, 'utf8')) as LastBackup;
    return Number.isFinite(Date.parse(value.finishedAt)) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Appends one entry to a node's log from a one-shot process (the server keeps publishing). */
export async function appendToNodeLog(
  config: Config,
  node: string,
  entry: { readonly type: string; readonly time: string; readonly actor: object } & Record<string, unknown>,
): Promise<void> {
  const site = config.sites.find((s) => s.name === node);
  const tiles = node === CONTROL_NODE ? config.storage.tiles : site?.storage.tiles;
  if (tiles === undefined) return;
  const log = await openNodeLog(config, node, join(config.dataDir, nodeDirOf(node)), {
    tiles,
    publish: false,
  });
  try {
    await log.append(entry as Parameters<typeof log.append>[0]);
  } finally {
    await log.close();
  }
}

export function nodeDirOf(node: string): string {
  return node === CONTROL_NODE ? 'control' : `sites/${node}`;
}
