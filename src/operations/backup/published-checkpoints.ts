import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_NODE } from '../../config/data-dir.js';
import {
  loadNoteSigner,
  openCheckpoint,
  parseCheckpoint,
  parseVerifierKey,
} from '../../ledger/note/index.js';
import { BackupError } from './backup-errors.js';
import type { BackupManifest } from './backup-manifest.js';
import { journalLeaves, rootAt } from './log-state.js';

/** A checkpoint the operator says the node published (from a witness, a monitor, a mirror). */
export interface PublishedCheckpoint {
  readonly node: string;
  readonly note: string;
  readonly size: number;
  readonly root: string;
}

/**
 * Reads the signed checkpoints given to a restore (`--checkpoint FILE`): each names its node
 * by its origin, `<deployment>/<node>`, which must be a node of the backup.
 */
export function readPublishedCheckpoints(
  notes: readonly string[],
  manifest: BackupManifest,
): Map<string, PublishedCheckpoint> {
  const published = new Map<string, PublishedCheckpoint>();
  for (const note of notes) {
    let parsed: ReturnType<typeof parseCheckpoint>;
    try {
      parsed = parseCheckpoint(note.slice(0, note.indexOf('\n\n') + 1));
    } catch (cause) {
      throw new BackupError('RESTORE_CHECKPOINT_INVALID', 'a checkpoint given is not a signed checkpoint', {
        cause,
      });
    }
    const prefix = `${manifest.deployment}/`;
    const node = parsed.origin.startsWith(prefix) ? parsed.origin.slice(prefix.length) : undefined;
    if (node === undefined || manifest.nodes[node] === undefined) {
      throw new BackupError(
        'RESTORE_CHECKPOINT_INVALID',
        `the checkpoint of ${parsed.origin} is not of a node in this backup (${Object.keys(manifest.nodes)
          .map((n) => `${prefix}${n}`)
          .join(', ')})`,
      );
    }
    const known = published.get(node);
    if (known === undefined || parsed.treeSize > known.size) {
      published.set(node, { node, note, size: parsed.treeSize, root: parsed.rootHash.toString('base64') });
    }
  }
  return published;
}

/**
 * Compares the backup's log of each node with the checkpoint the node published: a backup
 * whose log is a prefix of it is older than what readers have seen (a rollback: refused
 * unless allowed); one that does not contain it is not this node's history (refused).
 * Returns the nodes rolled back, with the size they had published.
 */
export async function checkAgainstPublished(
  backup: string,
  manifest: BackupManifest,
  published: ReadonlyMap<string, PublishedCheckpoint>,
  allowRollback: boolean,
): Promise<Map<string, number>> {
  const rolledBack = new Map<string, number>();
  for (const [node, checkpoint] of published) {
    const state = manifest.nodes[node]!;
    const leaves = await journalLeaves(join(backup, nodeDirOf(node)));
    const common = Math.min(checkpoint.size, state.size);
    const publishedRootAtCommon = checkpoint.size === common ? checkpoint.root : undefined;
    if (publishedRootAtCommon !== undefined && rootAt(leaves, common) !== publishedRootAtCommon) {
      throw new BackupError(
        'RESTORE_LOG_DIVERGED',
        `the log of ${node} in the backup does not contain the checkpoint it published (${checkpoint.size} entries): not this node's history`,
      );
    }
    if (checkpoint.size > state.size) {
      if (!allowRollback) {
        throw new BackupError(
          'RESTORE_ROLLBACK_REFUSED',
          `${node} published a checkpoint of ${checkpoint.size} entries, past the backup's (${state.size}): ` +
            'restoring would roll the node back behind what readers have seen; give --allow-rollback to do it on the record',
        );
      }
      rolledBack.set(node, checkpoint.size);
    }
  }
  return rolledBack;
}

/**
 * Checks each given checkpoint's signature under the node's key, once the restored directory
 * has its keys (without keys, the origin and the tree are all that was checked).
 */
export function verifyPublishedSignatures(
  keysDir: string,
  published: ReadonlyMap<string, PublishedCheckpoint>,
  manifest: BackupManifest,
): void {
  for (const [node, checkpoint] of published) {
    const pem = join(keysDir, `${node}.ed25519.pem`);
    if (!existsSync(pem)) continue;
    const origin = `${manifest.deployment}/${node}`;
    const key = loadNoteSigner(readFileSync(pem, 'utf8'), origin).verifierKey;
    try {
      openCheckpoint(checkpoint.note, [parseVerifierKey(key)], { origin });
    } catch (cause) {
      throw new BackupError(
        'RESTORE_CHECKPOINT_INVALID',
        `the checkpoint given for ${node} is not signed by the node's key`,
        { cause },
      );
    }
  }
}

function nodeDirOf(node: string): string {
  return node === CONTROL_NODE ? 'control' : `sites/${node}`;
}
