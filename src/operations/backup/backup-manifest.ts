import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BackupError } from './backup-errors.js';
import type { LogState } from './log-state.js';

export const MANIFEST_FILE = 'manifest.json';
export const MANIFEST_FORMAT = 'glasshouse-backup/1';

export interface BackupFile {
  /** Relative to the backup (and to the data directory it restores into), `/`-separated. */
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/**
 * The last file a backup writes: without it (a backup killed midway) there is no backup.
 * Each node's log state is the checkpoint the stores are consistent with: every change in
 * them is on the log up to it (the stores were copied first, the journal last; the log is
 * written before the stores).
 */
export interface BackupManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly deployment: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly nodes: Readonly<Record<string, LogState>>;
  /**
   * The control log's size when the backup began (absent for a backup of a site alone): an
   * erasure completed after it may have reached some stores before they were copied and not
   * others, so a restore applies again every erasure completed from there on.
   */
  readonly controlLogSizeAtStart?: number;
  readonly files: readonly BackupFile[];
  /** `keys.sealed` is in the backup (`--with-keys`). */
  readonly keys: 'sealed' | 'absent';
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * Reads a backup's manifest and checks every file it lists against its size and SHA-256.
 * A half-written backup (`PATH.partial`, or no manifest) and any altered file are refused.
 */
export async function readVerifiedManifest(backup: string): Promise<BackupManifest> {
  const file = join(backup, MANIFEST_FILE);
  if (!existsSync(file)) {
    throw new BackupError('BACKUP_INVALID', `${backup} has no ${MANIFEST_FILE}: not a finished backup`);
  }
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(readFileSync(file, 'utf8')) as BackupManifest;
  } catch (cause) {
    throw new BackupError('BACKUP_INVALID', `${file} is not JSON`, { cause });
  }
  if (manifest.format !== MANIFEST_FORMAT || !Array.isArray(manifest.files)) {
    throw new BackupError('BACKUP_INVALID', `${file} is not a ${MANIFEST_FORMAT} manifest`);
  }
  for (const entry of manifest.files as readonly BackupFile[]) {
    if (entry.path.split('/').some((part) => part === '..' || part === '') || entry.path.startsWith('/')) {
      throw new BackupError('BACKUP_INVALID', `the manifest names a path outside the backup: ${entry.path}`);
    }
    const path = join(backup, entry.path);
    if (
      !existsSync(path) ||
      statSync(path).size !== entry.bytes ||
      (await sha256OfFile(path)) !== entry.sha256
    ) {
      throw new BackupError('BACKUP_INVALID', `${entry.path} is missing or does not match the manifest`);
    }
  }
  return manifest;
}
