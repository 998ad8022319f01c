/*
 * One suite for every TileStore backend: the filesystem and an S3-compatible bucket (s3rver).
 * The files must land under the exact C2SP tlog-tiles paths, so that the directory or the
 * bucket can be served to the public as it is.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FsTileStore } from '../src/adapters/storage/fs/fs-tile-store.js';
import { openS3TileStore, type S3TileStore } from '../src/adapters/storage/s3/s3-tile-store.js';
import type { TileStore } from '../src/ports/storage.js';
import { StorageError } from '../src/shared/storage-errors.js';
import { type S3Engine, startS3Engine } from './support/engines/s3.js';
import { filesUnder } from './support/files.js';

interface TileFixture {
  open(): Promise<TileStore>;
  /** The published files' names relative to the store's root, sorted. */
  publishedPaths(): Promise<string[]>;
  /**
   * What a crash in the middle of a `put` of `path` leaves, where the test endpoint can show
   * it. S3 itself never stores a PUT whose body ends short of its length (and a tile is one
   * PutObject), but s3rver does store the truncated body: nothing to simulate there.
   */
  readonly interruptPut: ((path: string, data: Buffer) => Promise<void>) | undefined;
  close(): Promise<void>;
}

interface TileBackend {
  readonly name: string;
  start(): Promise<void>;
  fixture(): Promise<TileFixture>;
  stop(): Promise<void>;
}

const fsBackend = (): TileBackend => ({
  name: 'filesystem',
  async start() {},
  async fixture() {
    const root = mkdtempSync(join(tmpdir(), 'glasshouse-tiles-'));
    return {
      open: async () => new FsTileStore(root),
      publishedPaths: async () =>
        filesUnder(root)
          .map((path) => relative(root, path))
          .filter((path) => !path.startsWith('.staging'))
          .sort(),
      async interruptPut(_path, data) {
        // Written to the staging directory, never renamed into place.
        mkdirSync(join(root, '.staging'), { recursive: true });
        writeFileSync(join(root, '.staging', 'interrupted'), data.subarray(0, data.length / 2));
      },
      close: async () => rmSync(root, { recursive: true, force: true }),
    };
  },
  async stop() {},
});

const s3Backend = (): TileBackend => {
  let engine: S3Engine | undefined;
  return {
    name: 'S3 (s3rver)',
    async start() {
      engine = await startS3Engine();
    },
    async fixture() {
      const s3 = engine!;
      const bucket = await s3.createBucket();
      const opened: S3TileStore[] = [];
      return {
        async open() {
          const store = await openS3TileStore(s3.url(bucket, 'zurich/log'), { client: s3.clientConfig });
          opened.push(store);
          return store;
        },
        publishedPaths: async () => (await s3.keys(bucket)).map((key) => key.replace(/^zurich\/log\//, '')),
        interruptPut: undefined,
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

for (const backend of [fsBackend(), s3Backend()]) {
  describe(`TileStore over ${backend.name}`, () => {
    let fixture: TileFixture;
    let store: TileStore;

    beforeAll(() => backend.start());
    afterAll(() => backend.stop());
    beforeEach(async () => {
      fixture = await backend.fixture();
      store = await fixture.open();
    });
    afterEach(() => fixture.close());

    it('answers undefined for a file never put', async () => {
      expect(await store.get('checkpoint')).toBeUndefined();
      expect(await store.get('tile/0/x001/234')).toBeUndefined();
    });

    it('reads back what was put, and the new bytes after a replace', async () => {
      await store.put('checkpoint', Buffer.from('example.com/log\n1\nAAAA\n'));
      expect((await store.get('checkpoint'))?.toString()).toBe('example.com/log\n1\nAAAA\n');
      await store.put('checkpoint', Buffer.from('example.com/log\n2\nBBBB\n'));
      expect((await store.get('checkpoint'))?.toString()).toBe('example.com/log\n2\nBBBB\n');
    });

    it('publishes under exactly the C2SP tlog-tiles paths', async () => {
      const paths = [
        'checkpoint',
        'tile/0/x001/234',
        'tile/0/000.p/7',
        'tile/1/000',
        'tile/entries/x001/234.p/12',
      ];
      for (const [i, path] of paths.entries()) await store.put(path, Buffer.from([i, i, i]));
      expect(await fixture.publishedPaths()).toEqual([...paths].sort());
      for (const [i, path] of paths.entries()) expect(await store.get(path)).toEqual(Buffer.from([i, i, i]));
    });

    it('refuses a path that would leave the store', async () => {
      for (const path of ['../checkpoint', 'tile/../../x']) {
        await expect(store.put(path, Buffer.from('x'))).rejects.toSatisfy(
          (error) => error instanceof StorageError && error.code === 'INVALID_TILE_KEY',
        );
      }
    });

    describe('when a put was interrupted', () => {
      it('no reader sees a partial file, and the leftovers go', async () => {
        await store.put('tile/0/000', Buffer.alloc(32 * 256, 1));
        await fixture.interruptPut?.('tile/0/000', Buffer.alloc(32 * 256, 2));
        await fixture.interruptPut?.('tile/0/001', Buffer.alloc(32 * 256, 2));
        const restarted = await fixture.open();
        await restarted.removeLeftovers();
        expect(await restarted.removeLeftovers()).toBe(0);
        expect(await restarted.get('tile/0/000')).toEqual(Buffer.alloc(32 * 256, 1));
        expect(await restarted.get('tile/0/001')).toBeUndefined();
        expect(await fixture.publishedPaths()).toEqual(['tile/0/000']);
      });
    });
  });
}
