import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join, normalize, sep } from 'node:path';
import type { TileStore } from '../../../ports/storage.js';
import { StorageError } from '../../../shared/storage-errors.js';

/** Static log files under a directory, published by write, fsync, rename. */
export class FsTileStore implements TileStore {
  readonly #root: string;

  readonly #staging: string;

  /** Files are written under `root/.staging` first: never under a path a reader may fetch. */
  constructor(root: string) {
    this.#root = root;
    this.#staging = join(root, '.staging');
  }

  async removeLeftovers(): Promise<number> {
    const names = await readdir(this.#staging).catch(() => [] as string[]);
    await Promise.all(names.map((name) => rm(join(this.#staging, name), { force: true })));
    return names.length;
  }

  readonly #directories = new Set<string>();

  async put(path: string, data: Uint8Array): Promise<void> {
    const target = this.#resolve(path);
    const directory = dirname(target);
    if (!this.#directories.has(directory)) {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      this.#directories.add(directory);
    }
    if (!this.#directories.has(this.#staging)) {
      await mkdir(this.#staging, { recursive: true, mode: 0o700 });
      this.#directories.add(this.#staging);
    }
    const tmp = join(this.#staging, randomBytes(8).toString('hex'));
    const handle = await open(tmp, 'w', 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(tmp, target);
    // The rename is durable only once the directory is: a published checkpoint must survive.
    const dir = await open(directory, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  async get(path: string): Promise<Buffer | undefined> {
    return readFile(this.#resolve(path)).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') return undefined;
      throw error;
    });
  }

  /** Paths come from requests: never let one escape the root. */
  #resolve(path: string): string {
    const full = normalize(join(this.#root, path));
    if (!full.startsWith(this.#root + sep))
      throw new StorageError('INVALID_TILE_KEY', `path escapes the tile store: ${path}`);
    return full;
  }
}
