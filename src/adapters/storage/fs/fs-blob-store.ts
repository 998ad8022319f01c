import { randomBytes } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { BlobCommit, BlobStore, BlobWriter, LocalBlobFiles } from '../../../ports/storage.js';
import { StorageError } from '../../../shared/storage-errors.js';

const KEY_PATTERN = /^[0-9a-f]{64}$/;

/**
 * Blobs as files under `root/blobs/ab/cd/<key>`, written under `root/tmp` first. A blob is
 * published by fsync, rename and fsync of the directory, so after a crash a key either
 * names complete bytes or does not exist; what is left in `tmp` is garbage by construction.
 * A group commit (`commitAll`) runs every file's fsync at once, then every rename, then
 * syncs each directory they changed once, at once: concurrent syncs share the file system's
 * journal commits, where one upload after another would each wait for their own.
 */
export class FsBlobStore implements BlobStore {
  readonly #blobs: string;
  readonly #tmp: string;

  constructor(root: string) {
    this.#blobs = join(root, 'blobs');
    this.#tmp = join(root, 'tmp');
  }

  async open(): Promise<this> {
    await mkdir(this.#blobs, { recursive: true, mode: 0o700 });
    await mkdir(this.#tmp, { recursive: true, mode: 0o700 });
    return this;
  }

  /** Blob files by path, for the vault's worker threads (see `BlobStore.localFiles`). */
  readonly localFiles: LocalBlobFiles = {
    pathOf: (key) => this.#pathOf(key),
    createFileWriter: async () => {
      const path = this.#tmpPath();
      return {
        path,
        commit: (key) => this.#publish(path, key),
        abort: () => rm(path, { force: true }),
      };
    },
  };

  async createWriter(): Promise<BlobWriter> {
    const tmpPath = this.#tmpPath();
    const stream = createWriteStream(tmpPath, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 });
    return new FsBlobWriter(stream, tmpPath, (key) => this.#publish(tmpPath, key));
  }

  async commitAll(commits: readonly BlobCommit[]): Promise<PromiseSettledResult<void>[]> {
    const placed = await Promise.allSettled(
      commits.map(async ({ writer, key }) => {
        if (!(writer instanceof FsBlobWriter)) throw new Error('a blob writer of another store');
        await writer.finish();
        return this.#place(writer.tmpPath, key);
      }),
    );
    // Each directory once, all at once; a blob is durable once every directory it changed is.
    const directories = new Map<string, Promise<void>>();
    for (const outcome of placed) {
      if (outcome.status !== 'fulfilled') continue;
      for (const directory of outcome.value) {
        if (!directories.has(directory)) directories.set(directory, syncPath(directory));
      }
    }
    return Promise.allSettled(
      placed.map(async (outcome) => {
        if (outcome.status === 'rejected') throw outcome.reason;
        await Promise.all(outcome.value.map((directory) => directories.get(directory)));
      }),
    );
  }

  #tmpPath(): string {
    return join(this.#tmp, `${Date.now()}-${randomBytes(8).toString('hex')}`);
  }

  /** fsync, rename into place, fsync of the directory (and of any it had to create). */
  async #publish(tmpPath: string, key: string): Promise<void> {
    for (const directory of await this.#place(tmpPath, key)) await syncPath(directory);
  }

  /**
   * fsync of the file, rename into place; returns the directories whose entries changed,
   * which must be synced before the blob is durable.
   */
  async #place(tmpPath: string, key: string): Promise<string[]> {
    const target = this.#pathOf(key);
    // fsync applies to the file, not the descriptor: a fresh one flushes what the writer wrote.
    await syncPath(tmpPath);
    const directory = join(target, '..');
    const firstCreated = await mkdir(directory, { recursive: true, mode: 0o700 });
    await rename(tmpPath, target);
    const changed = [directory];
    // New fan-out directories are entries in their parents: sync those too, or a power
    // cut could lose the whole directory and the blob with it.
    if (firstCreated !== undefined) {
      for (let parent = directory; parent !== this.#blobs; ) {
        parent = join(parent, '..');
        changed.push(parent);
      }
    }
    return changed;
  }

  async read(key: string) {
    const path = this.#pathOf(key);
    const handle = await open(path, 'r').catch((cause: NodeJS.ErrnoException) => {
      if (cause.code === 'ENOENT') throw new StorageError('BLOB_NOT_FOUND', `no blob ${key}`, { cause });
      throw cause;
    });
    return handle.createReadStream({ highWaterMark: 1 << 20 });
  }

  async has(key: string) {
    return stat(this.#pathOf(key)).then(
      () => true,
      () => false,
    );
  }

  async delete(key: string) {
    await rm(this.#pathOf(key), { force: true });
  }

  async *list(): AsyncIterable<string> {
    for (const first of await readdir(this.#blobs)) {
      for (const second of await readdir(join(this.#blobs, first))) {
        for (const name of await readdir(join(this.#blobs, first, second))) {
          if (KEY_PATTERN.test(name)) yield name;
        }
      }
    }
  }

  async removeLeftovers() {
    const names = await readdir(this.#tmp);
    await Promise.all(names.map((name) => rm(join(this.#tmp, name), { force: true })));
    return names.length;
  }

  #pathOf(key: string): string {
    if (!KEY_PATTERN.test(key))
      throw new StorageError('INVALID_BLOB_KEY', 'blob keys are lower-case SHA-256 hex');
    return join(this.#blobs, key.slice(0, 2), key.slice(2, 4), key);
  }
}

async function syncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** What `FsBlobStore.createWriter` returns; `commitAll` knows its temporary file. */
class FsBlobWriter implements BlobWriter {
  readonly stream: WriteStream;
  readonly tmpPath: string;
  readonly #publish: (key: string) => Promise<void>;

  constructor(stream: WriteStream, tmpPath: string, publish: (key: string) => Promise<void>) {
    this.stream = stream;
    this.tmpPath = tmpPath;
    this.#publish = publish;
  }

  /** Waits until the file is closed: every byte the stream took is in it. */
  async finish(): Promise<void> {
    if (!this.stream.closed) await finished(this.stream);
  }

  async commit(key: string): Promise<void> {
    await this.finish();
    await this.#publish(key);
  }

  async abort(): Promise<void> {
    this.stream.destroy();
    await finished(this.stream).catch(() => undefined);
    await rm(this.tmpPath, { force: true });
  }
}
