/*
 * What only the S3 stores have to say, beyond the contract suites: a clear error at open,
 * leftovers judged by age (another process may be mid-upload), a publication that fails
 * leaves nothing, and tiles carry the headers a public bucket must serve.
 */

import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openS3BlobStore } from '../src/adapters/storage/s3/s3-blob-store.js';
import { openS3TileStore } from '../src/adapters/storage/s3/s3-tile-store.js';
import { StorageError } from '../src/shared/storage-errors.js';
import { type S3Engine, startS3Engine } from './support/engines/s3.js';

const HOUR = 60 * 60 * 1000;

async function rejection(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof StorageError) return error;
    throw error;
  }
  throw new Error('expected a StorageError');
}

/** A port on 127.0.0.1 nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('S3 stores', () => {
  let s3: S3Engine;

  beforeAll(async () => {
    s3 = await startS3Engine();
  });
  afterAll(() => s3.stop());

  describe('when opened', () => {
    it('names the engine, the location and its answer for an unreachable endpoint', async () => {
      const endpoint = `http://127.0.0.1:${await closedPort()}`;
      const error = await rejection(
        openS3BlobStore(`s3://samples/blobs?endpoint=${endpoint}`, {
          client: { ...s3.clientConfig, maxAttempts: 1 },
        }),
      );
      expect(error.code).toBe('STORAGE_UNAVAILABLE');
      expect(error.message).toContain(`S3 s3://samples/blobs/ at ${endpoint}: HeadBucket`);
      expect(error.message).toContain('ECONNREFUSED');
    });

    it('says that the bucket does not exist', async () => {
      const error = await rejection(
        openS3TileStore(s3.url('no-such-bucket', 'log'), { client: s3.clientConfig }),
      );
      expect(error.code).toBe('STORAGE_UNAVAILABLE');
      expect(error.message).toBe(`S3 s3://no-such-bucket/log/ at ${s3.endpoint}: no such bucket`);
    });

    it('says that the credentials were refused', async () => {
      const bucket = await s3.createBucket();
      const error = await rejection(
        openS3BlobStore(s3.url(bucket), {
          client: { credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'wrong' } },
        }),
      );
      expect(error.code).toBe('STORAGE_UNAVAILABLE');
      expect(error.message).toContain('access denied (HeadBucket answered 403)');
    });
  });

  describe('when leftovers are young', () => {
    it('keeps them: another process may still be writing', async () => {
      const bucket = await s3.createBucket();
      const store = await openS3BlobStore(s3.url(bucket, 'blobs'), { client: s3.clientConfig });
      const writer = await store.createWriter();
      await pipeline(Readable.from([randomBytes(1000)]), writer.stream);
      const [temporary] = await s3.keys(bucket);
      expect(temporary).toMatch(/^blobs\/tmp\//);
      // The object's own time is the server's: judge the restart relative to it.
      const head = await s3.admin.send(new HeadObjectCommand({ Bucket: bucket, Key: temporary }));
      const written = head.LastModified!.getTime();
      const soon = await openS3BlobStore(s3.url(bucket, 'blobs'), {
        client: s3.clientConfig,
        now: () => new Date(written + HOUR / 2),
      });
      expect(await soon.removeLeftovers()).toBe(0);
      expect(await s3.keys(bucket)).toEqual([temporary]);
      const later = await openS3BlobStore(s3.url(bucket, 'blobs'), {
        client: s3.clientConfig,
        leftoverAgeMs: 10 * HOUR,
        now: () => new Date(written + 11 * HOUR),
      });
      expect(await later.removeLeftovers()).toBe(1);
      expect(await s3.keys(bucket)).toEqual([]);
      for (const opened of [store, soon, later]) opened.destroy();
    });
  });

  describe('when a bucket holds more blobs than one page lists', () => {
    it('pages through ListObjectsV2 and lists each once', async () => {
      const bucket = await s3.createBucket();
      const store = await openS3BlobStore(s3.url(bucket), { client: s3.clientConfig, listPageSize: 2 });
      const keys: string[] = [];
      for (let i = 0; i < 5; i++) {
        const bytes = randomBytes(100);
        const writer = await store.createWriter();
        await pipeline(Readable.from([bytes]), writer.stream);
        keys.push(createHash('sha256').update(bytes).digest('hex'));
        await writer.commit(keys[i]!);
      }
      const listed: string[] = [];
      for await (const key of store.list()) listed.push(key);
      expect(listed).toEqual([...keys].sort());
      store.destroy();
    });
  });

  describe('when publishing fails', () => {
    it('shows nothing under the key, and abort leaves nothing', async () => {
      // Above maxSingleCopy the copy goes part by part (UploadPartCopy), which s3rver lacks.
      const bucket = await s3.createBucket();
      const store = await openS3BlobStore(s3.url(bucket), {
        client: s3.clientConfig,
        upload: { maxSingleCopy: 1000 },
      });
      const bytes = randomBytes(5000);
      const key = createHash('sha256').update(bytes).digest('hex');
      const writer = await store.createWriter();
      await pipeline(Readable.from([bytes]), writer.stream);
      const error = await rejection(writer.commit(key));
      expect(error.code).toBe('STORAGE_UNAVAILABLE');
      expect(error.message).toContain('multipart copy');
      expect(await store.has(key)).toBe(false);
      await writer.abort();
      expect(await s3.keys(bucket)).toEqual([]);
      store.destroy();
    });
  });

  describe('when tiles are published', () => {
    it('sends the headers of a static host: full tiles immutable, the rest revalidated', async () => {
      const bucket = await s3.createBucket();
      const tiles = await openS3TileStore(s3.url(bucket, 'log'), { client: s3.clientConfig });
      await tiles.put('checkpoint', Buffer.from('example.com/log\n1\nAAAA\n'));
      await tiles.put('tile/0/000', Buffer.alloc(32 * 256));
      await tiles.put('tile/0/001.p/3', Buffer.alloc(32 * 3));
      const head = (key: string) => s3.admin.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      expect(await head('log/checkpoint')).toMatchObject({
        ContentType: 'text/plain; charset=utf-8',
        CacheControl: 'no-cache',
      });
      expect(await head('log/tile/0/000')).toMatchObject({
        ContentType: 'application/octet-stream',
        CacheControl: 'public, max-age=31536000, immutable',
      });
      expect((await head('log/tile/0/001.p/3')).CacheControl).toBe('no-cache');
      tiles.destroy();
    });
  });
});
