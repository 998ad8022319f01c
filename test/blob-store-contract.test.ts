/*
 * One suite for every BlobStore backend (as Kysely runs one suite over every dialect): the
 * filesystem and an S3-compatible bucket (s3rver, always available from npm).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FsBlobStore } from '../src/adapters/storage/fs/fs-blob-store.js';
import { openS3BlobStore, type S3BlobStore } from '../src/adapters/storage/s3/s3-blob-store.js';
import type { BlobStore } from '../src/ports/storage.js';
import { StorageError } from '../src/shared/storage-errors.js';
import { type S3Engine, startS3Engine } from './support/engines/s3.js';
import { filesUnder } from './support/files.js';

const HOUR = 60 * 60 * 1000;

/** One store's storage, opened as often as a test needs (a new instance is a restart). */
interface BlobFixture {
  /** `now` is where the new process's clock stands (leftovers are judged by age on S3). */
  open(now?: () => Date): Promise<BlobStore>;
  /** Everything the backend holds, published or temporary, as it names it. */
  rawKeys(): Promise<string[]>;
  close(): Promise<void>;
}

interface BlobBackend {
  readonly name: string;
  start(): Promise<void>;
  fixture(): Promise<BlobFixture>;
  stop(): Promise<void>;
}

const fsBackend = (): BlobBackend => ({
  name: 'filesystem',
  async start() {},
  async fixture() {
    const root = mkdtempSync(join(tmpdir(), 'glasshouse-blobs-'));
    return {
      open: () => new FsBlobStore(root).open(),
      rawKeys: async () => filesUnder(root).map((path) => relative(root, path)),
      close: async () => rmSync(root, { recursive: true, force: true }),
    };
  },
  async stop() {},
});

const s3Backend = (): BlobBackend => {
  let engine: S3Engine | undefined;
  return {
    name: 'S3 (s3rver)',
    async start() {
      engine = await startS3Engine();
    },
    async fixture() {
      const s3 = engine!;
      const bucket = await s3.createBucket();
      const opened: S3BlobStore[] = [];
      return {
        async open(now) {
          const store = await openS3BlobStore(s3.url(bucket, 'site/blobs'), {
            client: s3.clientConfig,
            ...(now === undefined ? {} : { now }),
          });
          opened.push(store);
          return store;
        },
        rawKeys: () => s3.keys(bucket),
        close: async () => {
          for (const store of opened) store.destroy();
        },
      };
    },
    async stop() {
      await engine?.stop();
    },
  };
};

async function writeBlob(store: BlobStore, bytes: Buffer): Promise<string> {
  const key = sha256(bytes);
  const writer = await store.createWriter();
  await pipeline(Readable.from([bytes]), writer.stream);
  await writer.commit(key);
  return key;
}

async function readAll(store: BlobStore, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read(key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function rejectionCode(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StorageError) return error.code;
    throw error;
  }
  return undefined;
}

/**
 * `size` bytes made on the fly, one MiB at a time (each MiB distinct), so nothing holds the
 * whole stream; the hash of what was produced comes with it.
 */
function generated(size: number): { stream: Readable; digest: () => string } {
  const hash = createHash('sha256');
  const block = randomBytes(1 << 20);
  let produced = 0;
  const stream = new Readable({
    read() {
      if (produced >= size) {
        this.push(null);
        return;
      }
      const chunk = Buffer.from(block.subarray(0, Math.min(block.length, size - produced)));
      chunk.writeUInt32BE(produced / (1 << 20), 0);
      produced += chunk.length;
      hash.update(chunk);
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

/** A full collection on demand: garbage not yet collected is not memory a store holds. */
const collectGarbage = (() => {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
})();

/**
 * The highest resident set size seen while `action` runs, above what it was before, each
 * sample taken after a full collection (so that it counts what is held, not what is due).
 */
async function rssGrowthDuring(action: () => Promise<void>): Promise<number> {
  collectGarbage();
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => {
    collectGarbage();
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);
  try {
    await action();
  } finally {
    clearInterval(sampler);
  }
  return peak - before;
}

for (const backend of [fsBackend(), s3Backend()]) {
  describe(`BlobStore over ${backend.name}`, () => {
    let fixture: BlobFixture;
    let store: BlobStore;

    beforeAll(() => backend.start());
    afterAll(() => backend.stop());
    beforeEach(async () => {
      fixture = await backend.fixture();
      store = await fixture.open();
    });
    afterEach(() => fixture.close());

    it('reads back what was written and committed', async () => {
      const bytes = randomBytes(100_000);
      const key = await writeBlob(store, bytes);
      expect(await store.has(key)).toBe(true);
      expect((await readAll(store, key)).equals(bytes)).toBe(true);
    });

    it('lists, then deletes, exactly the committed blobs', async () => {
      const keys = await Promise.all([1, 2, 3].map(() => writeBlob(store, randomBytes(1000))));
      const listed: string[] = [];
      for await (const key of store.list()) listed.push(key);
      expect(listed.sort()).toEqual([...keys].sort());
      await store.delete(keys[0]!);
      expect(await store.has(keys[0]!)).toBe(false);
      await store.delete(keys[0]!);
      const after: string[] = [];
      for await (const key of store.list()) after.push(key);
      expect(after.sort()).toEqual(keys.slice(1).sort());
    });

    it('rejects the read of a missing blob with BLOB_NOT_FOUND', async () => {
      expect(await rejectionCode(store.read(sha256(Buffer.from('absent'))))).toBe('BLOB_NOT_FOUND');
      expect(await store.has(sha256(Buffer.from('absent')))).toBe(false);
    });

    it('refuses a key that is not a SHA-256', async () => {
      expect(await rejectionCode(store.read('../etc/passwd'))).toBe('INVALID_BLOB_KEY');
      const writer = await store.createWriter();
      await pipeline(Readable.from([randomBytes(100)]), writer.stream);
      expect(await rejectionCode(writer.commit('../../blobs/x'))).toBe('INVALID_BLOB_KEY');
      await writer.abort();
      expect(await fixture.rawKeys()).toEqual([]);
    });

    describe('when a write is aborted', () => {
      it('leaves nothing behind, also after the stream ended', async () => {
        const ended = await store.createWriter();
        await pipeline(Readable.from([randomBytes(50_000)]), ended.stream);
        await ended.abort();
        const midway = await store.createWriter();
        midway.stream.write(randomBytes(50_000));
        await midway.abort();
        await midway.abort();
        expect(await fixture.rawKeys()).toEqual([]);
      });
    });

    describe('when the stream fails midway', () => {
      it('shows nothing under any key, and abort leaves nothing', async () => {
        const bytes = randomBytes(12 << 20);
        const writer = await store.createWriter();
        const failing = Readable.from(
          (async function* () {
            yield bytes.subarray(0, 10 << 20);
            throw new Error('the client went away');
          })(),
        );
        await expect(pipeline(failing, writer.stream)).rejects.toThrow(/went away/);
        await writer.abort();
        expect(await store.has(sha256(bytes))).toBe(false);
        expect(await fixture.rawKeys()).toEqual([]);
      });
    });

    describe('when a process crashed before committing', () => {
      it('a new instance removes the leftovers and keeps the blobs', async () => {
        const kept = await writeBlob(store, randomBytes(1000));
        const orphan = await store.createWriter();
        await pipeline(Readable.from([randomBytes(20_000)]), orphan.stream);
        // Never committed nor aborted: the process is gone. The next start comes later.
        const restarted = await fixture.open(() => new Date(Date.now() + 2 * HOUR));
        expect(await restarted.removeLeftovers()).toBe(1);
        expect(await restarted.removeLeftovers()).toBe(0);
        const listed: string[] = [];
        for await (const key of restarted.list()) listed.push(key);
        expect(listed).toEqual([kept]);
        expect((await fixture.rawKeys()).length).toBe(1);
      });
    });

    describe('when two writers store the same key at once', () => {
      it('keeps one complete blob, never a mix, and no leftovers', async () => {
        const bytes = randomBytes(9 << 20);
        const key = sha256(bytes);
        const writers = await Promise.all([store.createWriter(), store.createWriter()]);
        // Interleaved: each gets a slice in turn.
        for (let at = 0; at < bytes.length; at += 1 << 20) {
          for (const writer of writers) writer.stream.write(bytes.subarray(at, at + (1 << 20)));
        }
        await Promise.all(writers.map((writer) => pipeline(Readable.from([]), writer.stream)));
        await Promise.all(writers.map((writer) => writer.commit(key)));
        expect(sha256(await readAll(store, key))).toBe(key);
        expect((await fixture.rawKeys()).length).toBe(1);
      });
    });

    describe('when several writers are committed together', () => {
      it('publishes each, fails only the one with a bad key, and leaves no leftovers', async () => {
        const samples = [randomBytes(1000), randomBytes(70_000), randomBytes(3)];
        const commits = await Promise.all(
          samples.map(async (bytes) => {
            const writer = await store.createWriter();
            await pipeline(Readable.from([bytes]), writer.stream);
            return { writer, key: sha256(bytes) };
          }),
        );
        const bad = await store.createWriter();
        await pipeline(Readable.from([randomBytes(10)]), bad.stream);
        const outcomes = await store.commitAll([...commits, { writer: bad, key: 'not-a-key' }]);
        expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
        await bad.abort();
        for (const [i, bytes] of samples.entries()) {
          expect((await readAll(store, commits[i]!.key)).equals(bytes)).toBe(true);
        }
        expect((await fixture.rawKeys()).length).toBe(samples.length);
      });
    });

    describe('when a blob is being written', () => {
      it('is invisible until committed', async () => {
        const bytes = randomBytes(10 << 20);
        const key = sha256(bytes);
        const writer = await store.createWriter();
        await pipeline(Readable.from([bytes]), writer.stream);
        expect(await store.has(key)).toBe(false);
        expect(await rejectionCode(store.read(key))).toBe('BLOB_NOT_FOUND');
        await writer.commit(key);
        expect(sha256(await readAll(store, key))).toBe(key);
      });
    });

    describe('when a blob is large', () => {
      const SIZE = 256 << 20;

      it('streams it both ways in bounded memory', async () => {
        // Once through first, so that loading code and filling pools is not counted as growth.
        const warmUp = generated(24 << 20);
        const warmUpWriter = await store.createWriter();
        await pipeline(warmUp.stream, warmUpWriter.stream);
        const warmUpKey = warmUp.digest();
        await warmUpWriter.commit(warmUpKey);
        await pipeline(await store.read(warmUpKey), new Writable({ write: (_c, _e, done) => done() }));
        const source = generated(SIZE);
        let key = '';
        const writeGrowth = await rssGrowthDuring(async () => {
          const writer = await store.createWriter();
          await pipeline(source.stream, writer.stream);
          key = source.digest();
          await writer.commit(key);
        });
        const hash = createHash('sha256');
        let read = 0;
        const readGrowth = await rssGrowthDuring(async () => {
          await pipeline(
            await store.read(key),
            new Writable({
              write(chunk: Buffer, _encoding, callback) {
                read += chunk.length;
                hash.update(chunk);
                callback();
              },
            }),
          );
        });
        expect(read).toBe(SIZE);
        expect(hash.digest('hex')).toBe(key);
        // A store that held the blob would grow by its size at least. S3 holds up to
        // (queueSize + 2) parts of 8 MiB while writing (docs/storage-s3.md), ~50 MiB, plus
        // what the allocator keeps: measured 50-100 MiB here, independent of the size.
        expect(writeGrowth).toBeLessThan(SIZE / 2);
        expect(readGrowth).toBeLessThan(SIZE / 2);
      }, 180_000);
    });
  });
}
