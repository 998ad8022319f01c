import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { KeyError } from './key-errors.js';

/**
 * A site's master key at rest, in `keys/` of the data directory:
 * - `<site>.master.key`: the key in use, 32 raw bytes;
 * - `<site>.master.json`: its identity (id, created, last rotation); never key material;
 * - while a rotation runs, `<site>.master.next.key` (the key being rotated to) and
 *   `<site>.master.rotation.json` (which rotation: from which id to which, since when).
 */
export const MASTER_KEY_SIZE = 32;

/** Domain separation: a key id is never the hash of anything but a master key. */
const KEY_ID_PREFIX = Buffer.from('glasshouse/master-key-id/v1\n', 'utf8');

/**
 * A master key's id: the first 8 bytes of SHA-256 over the key (with a prefix of its own),
 * in hex. It names the key in rows, files and the log without revealing it.
 *
 * @example
 * masterKeyId(randomBytes(32)); // 'mk-3f9a0c12d4e5b6a7'
 */
export function masterKeyId(key: Buffer): string {
  return `mk-${createHash('sha256').update(KEY_ID_PREFIX).update(key).digest('hex').slice(0, 16)}`;
}

export interface MasterKeyFiles {
  readonly key: string;
  readonly meta: string;
  readonly next: string;
  readonly rotation: string;
}

export function masterKeyFiles(keysDir: string, site: string): MasterKeyFiles {
  return {
    key: join(keysDir, `${site}.master.key`),
    meta: join(keysDir, `${site}.master.json`),
    next: join(keysDir, `${site}.master.next.key`),
    rotation: join(keysDir, `${site}.master.rotation.json`),
  };
}

export interface MasterKeyMeta {
  readonly id: string;
  /** ISO time the key was created (for a key older than its metadata: its file's time). */
  readonly created: string;
  /** ISO time the rotation that made this key finished; absent for a key never rotated to. */
  readonly rotated?: string;
  /** The id of the key this one replaced. */
  readonly previous?: string;
}

/** An unfinished rotation, as `<site>.master.rotation.json` records it. */
export interface RotationState {
  readonly from: string;
  readonly to: string;
  readonly started: string;
}

/** Reads a 32-byte key file, or fails naming the file. */
export function readKeyFile(file: string): Buffer {
  const key = readFileSync(file);
  if (key.length !== MASTER_KEY_SIZE) {
    throw new KeyError('MASTER_KEY_NOT_FOUND', `${file}: a master key is exactly ${MASTER_KEY_SIZE} bytes`);
  }
  return key;
}

/**
 * The key's identity: its metadata when that describes this very key, else what the file
 * tells (a key from before metadata existed: created when its file was last written).
 */
export function readMasterKeyMeta(files: MasterKeyFiles, key: Buffer): MasterKeyMeta {
  const id = masterKeyId(key);
  const meta = readJson<MasterKeyMeta>(files.meta);
  if (meta?.id === id) return meta;
  return { id, created: statSync(files.key).mtime.toISOString() };
}

export function readRotationState(files: MasterKeyFiles): RotationState | undefined {
  return readJson<RotationState>(files.rotation);
}

/** Fails with `KEY_ROTATION_UNFINISHED` while a rotation of the site's key is under way. */
export function refuseUnfinishedRotation(files: MasterKeyFiles, site: string): void {
  if (existsSync(files.rotation) || existsSync(files.next)) {
    throw new KeyError(
      'KEY_ROTATION_UNFINISHED',
      `the master key rotation of site ${site} has not finished: run \`glasshouse keys rotate --site ${site}\` again to complete it`,
    );
  }
}

/** Writes `content` to `file` durably and atomically: temporary file, fsync, rename, fsync of the directory. */
export function writeFileDurably(file: string, content: string | Buffer): void {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  const fd = openSync(temporary, 'wx', 0o600);
  try {
    writeSync(fd, typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
  fsyncDirectoryOf(file);
}

/**
 * Destroys a key file as far as a file system allows: its bytes overwritten in place and
 * synced, then the name removed and the directory synced. (A copy-on-write file system or
 * an SSD may keep old blocks; the docs say so.)
 */
export function destroyKeyFile(file: string): void {
  if (!existsSync(file)) return;
  const fd = openSync(file, 'r+');
  try {
    const size = statSync(file).size;
    writeSync(fd, randomBytes(size), 0, size, 0);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  unlinkSync(file);
  fsyncDirectoryOf(file);
}

export function removeFileDurably(file: string): void {
  if (!existsSync(file)) return;
  unlinkSync(file);
  fsyncDirectoryOf(file);
}

export function fsyncDirectoryOf(file: string): void {
  const fd = openSync(join(file, '..'), 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readJson<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}
