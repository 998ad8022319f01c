import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  paginateListObjectsV2,
} from '@aws-sdk/client-s3';
import type { BlobCommit, BlobStore, BlobWriter } from '../../../ports/storage.js';
import { StorageError } from '../../../shared/storage-errors.js';
import { DEFAULT_UPLOAD_LIMITS, S3BlobWriter, type S3UploadLimits } from './s3-blob-writer.js';
import {
  isNotFound,
  isNotImplemented,
  openS3Bucket,
  type S3Bucket,
  type S3StoreOptions,
} from './s3-bucket.js';
import type { S3Location } from './s3-location.js';

const KEY_PATTERN = /^[0-9a-f]{64}$/;

export interface S3BlobStoreOptions extends S3StoreOptions {
  /** Only leftovers older than this are removed: another process may be mid-upload. One hour by default. */
  readonly leftoverAgeMs?: number;
  readonly now?: () => Date;
  /** Part size and parallelism of uploads, which bound a writer's memory (see {@link S3UploadLimits}). */
  readonly upload?: Partial<S3UploadLimits>;
  /** Keys per `ListObjectsV2` page; the engine's own (1,000 on S3) by default. */
  readonly listPageSize?: number;
}

/**
 * Opens the blobs of an `s3://` location (docs/storage-s3.md), probing the bucket first: an
 * unreachable endpoint, a missing bucket or refused credentials reject with
 * `STORAGE_UNAVAILABLE`. Credentials come from the environment the SDK reads (`AWS_*`).
 *
 * @example
 * const blobs = await openS3BlobStore('s3://zurich-samples/blobs?region=eu-central-2');
 * await blobs.removeLeftovers();
 */
export async function openS3BlobStore(
  location: string | S3Location,
  options: S3BlobStoreOptions = {},
): Promise<S3BlobStore> {
  return new S3BlobStore(await openS3Bucket(location, options), options);
}

/**
 * Blobs as objects `<prefix>blobs/<sha256>`, uploaded under `<prefix>tmp/` first and
 * published by a copy inside the bucket (see {@link S3BlobWriter}); a key names complete
 * bytes or nothing. No `localFiles`: the vault reads and writes these through the streams,
 * in bounded memory both ways.
 */
export class S3BlobStore implements BlobStore {
  readonly #bucket: S3Bucket;
  readonly #blobs: string;
  readonly #tmp: string;
  readonly #leftoverAgeMs: number;
  readonly #now: () => Date;
  readonly #limits: S3UploadLimits;
  readonly #listPageSize: number | undefined;

  constructor(bucket: S3Bucket, options: S3BlobStoreOptions = {}) {
    this.#bucket = bucket;
    this.#blobs = `${bucket.location.prefix}blobs/`;
    this.#tmp = `${bucket.location.prefix}tmp/`;
    this.#leftoverAgeMs = options.leftoverAgeMs ?? 60 * 60 * 1000;
    this.#now = options.now ?? (() => new Date());
    this.#limits = { ...DEFAULT_UPLOAD_LIMITS, ...options.upload };
    this.#listPageSize = options.listPageSize;
  }

  async createWriter(): Promise<BlobWriter> {
    const name = `${this.#now().getTime()}-${randomBytes(8).toString('hex')}`;
    return new S3BlobWriter(this.#bucket, `${this.#tmp}${name}`, this.#limits, (key) => this.#keyOf(key));
  }

  /**
   * Each writer's own commit, all at once: an object is durable once its copy completed,
   * and a bucket has no sync that several could share.
   */
  commitAll(commits: readonly BlobCommit[]): Promise<PromiseSettledResult<void>[]> {
    return Promise.allSettled(commits.map(({ writer, key }) => writer.commit(key)));
  }

  async read(key: string): Promise<Readable> {
    const objectKey = this.#keyOf(key);
    try {
      const { bucket } = this.#bucket.location;
      const object = await this.#bucket.client.send(new GetObjectCommand({ Bucket: bucket, Key: objectKey }));
      // In Node the body is the HTTP response itself: it streams, nothing is buffered.
      return object.Body as Readable;
    } catch (cause) {
      if (isNotFound(cause)) throw new StorageError('BLOB_NOT_FOUND', `no blob ${key}`, { cause });
      throw this.#bucket.failure(`reading ${objectKey}`, cause);
    }
  }

  async has(key: string): Promise<boolean> {
    const objectKey = this.#keyOf(key);
    try {
      await this.#bucket.client.send(
        new HeadObjectCommand({ Bucket: this.#bucket.location.bucket, Key: objectKey }),
      );
      return true;
    } catch (cause) {
      if (isNotFound(cause)) return false;
      throw this.#bucket.failure(`looking up ${objectKey}`, cause);
    }
  }

  async delete(key: string): Promise<void> {
    const objectKey = this.#keyOf(key);
    await this.#bucket.attempt(`deleting ${objectKey}`, (client) =>
      client.send(new DeleteObjectCommand({ Bucket: this.#bucket.location.bucket, Key: objectKey })),
    );
  }

  async *list(): AsyncIterable<string> {
    const pages = paginateListObjectsV2(
      {
        client: this.#bucket.client,
        ...(this.#listPageSize === undefined ? {} : { pageSize: this.#listPageSize }),
      },
      { Bucket: this.#bucket.location.bucket, Prefix: this.#blobs },
    );
    try {
      for await (const page of pages) {
        for (const object of page.Contents ?? []) {
          const name = object.Key?.slice(this.#blobs.length);
          if (name !== undefined && KEY_PATTERN.test(name)) yield name;
        }
      }
    } catch (cause) {
      throw this.#bucket.failure(`listing ${this.#blobs}`, cause);
    }
  }

  /**
   * Removes temporary objects and incomplete multipart uploads older than the cutoff
   * (`leftoverAgeMs` before `now`): an interrupted upload or publication. Younger ones may
   * belong to another process still writing. Engines without `ListMultipartUploads` (s3rver)
   * keep their incomplete uploads: those hold no key a reader sees, and a bucket lifecycle
   * rule (`AbortIncompleteMultipartUpload`) removes them there.
   */
  async removeLeftovers(): Promise<number> {
    const cutoff = this.#now().getTime() - this.#leftoverAgeMs;
    return (await this.#removeTemporaryObjects(cutoff)) + (await this.#abortIncompleteUploads(cutoff));
  }

  async #removeTemporaryObjects(cutoff: number): Promise<number> {
    const { client, location } = this.#bucket;
    const stale: string[] = [];
    try {
      for await (const page of paginateListObjectsV2(
        { client },
        { Bucket: location.bucket, Prefix: this.#tmp },
      )) {
        for (const object of page.Contents ?? []) {
          if (object.Key !== undefined && (object.LastModified?.getTime() ?? 0) < cutoff)
            stale.push(object.Key);
        }
      }
    } catch (cause) {
      throw this.#bucket.failure(`listing ${this.#tmp}`, cause);
    }
    for (const key of stale) {
      await this.#bucket.attempt(`removing the leftover ${key}`, () =>
        client.send(new DeleteObjectCommand({ Bucket: location.bucket, Key: key })),
      );
    }
    return stale.length;
  }

  async #abortIncompleteUploads(cutoff: number): Promise<number> {
    const { client, location } = this.#bucket;
    const stale: { Key: string; UploadId: string }[] = [];
    try {
      // The whole prefix: uploads to tmp/, and multipart copies to blobs/ a crash interrupted.
      let marker: { KeyMarker?: string | undefined; UploadIdMarker?: string | undefined } = {};
      for (;;) {
        const page = await client.send(
          new ListMultipartUploadsCommand({ Bucket: location.bucket, Prefix: location.prefix, ...marker }),
        );
        for (const { Key, UploadId, Initiated } of page.Uploads ?? []) {
          if (Key !== undefined && UploadId !== undefined && (Initiated?.getTime() ?? 0) < cutoff)
            stale.push({ Key, UploadId });
        }
        if (page.IsTruncated !== true) break;
        marker = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
      }
    } catch (cause) {
      if (isNotImplemented(cause)) return 0;
      throw this.#bucket.failure(`listing the incomplete uploads under ${location.prefix}`, cause);
    }
    for (const upload of stale) {
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: location.bucket, ...upload }))
        .catch((cause) => {
          if (!isNotFound(cause)) throw this.#bucket.failure(`aborting the upload of ${upload.Key}`, cause);
        });
    }
    return stale.length;
  }

  /** Closes the client's connections; the store is unusable after. */
  destroy(): void {
    this.#bucket.client.destroy();
  }

  #keyOf(key: string): string {
    if (!KEY_PATTERN.test(key))
      throw new StorageError('INVALID_BLOB_KEY', 'blob keys are lower-case SHA-256 hex');
    return `${this.#blobs}${key}`;
  }
}
