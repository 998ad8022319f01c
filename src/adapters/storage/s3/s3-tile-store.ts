import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import type { TileStore } from '../../../ports/storage.js';
import { StorageError } from '../../../shared/storage-errors.js';
import { isNotFound, openS3Bucket, type S3Bucket, type S3StoreOptions } from './s3-bucket.js';
import type { S3Location } from './s3-location.js';

/** What a C2SP tlog-tiles path is made of: `checkpoint`, `tile/0/x001/234`, `tile/entries/000.p/7`. */
const SEGMENT = /^[A-Za-z0-9._-]+$/;
/** The same as the log's own routes: full tiles never change, the rest must be revalidated. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/**
 * Opens the log files of an `s3://` location (docs/storage-s3.md), probing the bucket first
 * (`STORAGE_UNAVAILABLE` when it cannot be reached).
 *
 * @example
 * const tiles = await openS3TileStore('s3://zurich-public/log');
 * await tiles.put('checkpoint', bytes);
 */
export async function openS3TileStore(
  location: string | S3Location,
  options: S3StoreOptions = {},
): Promise<S3TileStore> {
  return new S3TileStore(await openS3Bucket(location, options));
}

/**
 * A log's static files as objects under the exact C2SP tlog-tiles paths below the prefix, so
 * that the bucket (or the prefix) can be served to the public as it is, with the headers a
 * static host would send. Each file is one `PutObject`, which S3 makes visible whole or not
 * at all: no temporary key is needed, and none would belong in a public bucket.
 */
export class S3TileStore implements TileStore {
  readonly #bucket: S3Bucket;

  constructor(bucket: S3Bucket) {
    this.#bucket = bucket;
  }

  async put(path: string, data: Uint8Array): Promise<void> {
    const key = this.#keyOf(path);
    const checkpoint = path === 'checkpoint';
    const full = !checkpoint && !path.includes('.p/');
    await this.#bucket.attempt(`writing ${key}`, (client) =>
      client.send(
        new PutObjectCommand({
          Bucket: this.#bucket.location.bucket,
          Key: key,
          Body: data,
          ContentLength: data.byteLength,
          ContentType: checkpoint ? 'text/plain; charset=utf-8' : 'application/octet-stream',
          CacheControl: full ? IMMUTABLE : REVALIDATE,
        }),
      ),
    );
  }

  async get(path: string): Promise<Buffer | undefined> {
    const key = this.#keyOf(path);
    try {
      const object = await this.#bucket.client.send(
        new GetObjectCommand({ Bucket: this.#bucket.location.bucket, Key: key }),
      );
      return Buffer.from((await object.Body?.transformToByteArray()) ?? []);
    } catch (cause) {
      if (isNotFound(cause)) return undefined;
      throw this.#bucket.failure(`reading ${key}`, cause);
    }
  }

  /** A `PutObject` leaves nothing half-written: there is never anything to remove. */
  async removeLeftovers(): Promise<number> {
    return 0;
  }

  /** Closes the client's connections; the store is unusable after. */
  destroy(): void {
    this.#bucket.client.destroy();
  }

  /** Paths come from requests: only plain segments, so no key escapes or aliases another. */
  #keyOf(path: string): string {
    const segments = path.split('/');
    if (segments.some((s) => !SEGMENT.test(s) || s === '.' || s === '..'))
      throw new StorageError('INVALID_TILE_KEY', `not a tile path: ${path}`);
    return `${this.#bucket.location.prefix}${path}`;
  }
}
