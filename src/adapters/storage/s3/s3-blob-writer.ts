import { PassThrough, Writable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BlobWriter } from '../../../ports/storage.js';
import { isNotFound, isNotImplemented, type S3Bucket } from './s3-bucket.js';

/** How a writer buffers: at most `queueSize` parts of `partSize` bytes in flight at once. */
export interface S3UploadLimits {
  /** Bytes per part (S3's minimum is 5 MiB); at most 10,000 parts make one blob. */
  readonly partSize: number;
  readonly queueSize: number;
  /** Above this a publishing copy goes part by part (S3 copies at most 5 GiB at once). */
  readonly maxSingleCopy: number;
}

export const DEFAULT_UPLOAD_LIMITS: S3UploadLimits = {
  partSize: 8 * 1024 * 1024,
  queueSize: 4,
  maxSingleCopy: 5 * 1024 * 1024 * 1024,
};

/** The size of each ranged part of a multipart copy. */
const COPY_PART_BYTES = 1024 * 1024 * 1024;

/**
 * A blob on its way into the bucket. The bytes stream into a multipart upload (lib-storage)
 * of a temporary key; the stream finishes only once that upload completed. `commit` then
 * copies the temporary object to the blob's key inside the bucket and deletes it.
 *
 * Why a temporary key and a copy, rather than a multipart upload straight to the final key
 * (which would also appear atomically, on `CompleteMultipartUpload`): the key is the hash of
 * the plaintext, known only after the last byte, and a multipart upload names its key when
 * it starts. A copy is atomic as well: the destination appears whole or not at all, and a
 * second writer of the same key replaces it with the same bytes (last complete write wins).
 */
export class S3BlobWriter implements BlobWriter {
  readonly stream: Writable;
  readonly #bucket: S3Bucket;
  readonly #tmpKey: string;
  readonly #limits: S3UploadLimits;
  readonly #objectKeyOf: (key: string) => string;
  readonly #upload: Upload;
  readonly #uploaded: Promise<void>;
  #uploadComplete = false;
  #bytes = 0;
  #state: 'writing' | 'committed' | 'aborted' = 'writing';

  /** `objectKeyOf` checks a blob key and names its object (the store's own rule). */
  constructor(
    bucket: S3Bucket,
    tmpKey: string,
    limits: S3UploadLimits,
    objectKeyOf: (key: string) => string,
  ) {
    this.#bucket = bucket;
    this.#tmpKey = tmpKey;
    this.#limits = limits;
    this.#objectKeyOf = objectKeyOf;
    const body = new PassThrough({ highWaterMark: 1 << 20 });
    this.#upload = new Upload({
      client: bucket.client,
      params: { Bucket: bucket.location.bucket, Key: tmpKey, Body: body },
      partSize: limits.partSize,
      queueSize: limits.queueSize,
    });
    this.#uploaded = this.#upload.done().then(
      () => {
        this.#uploadComplete = true;
      },
      (cause: unknown) => {
        throw bucket.failure(`uploading ${tmpKey}`, cause);
      },
    );
    this.stream = this.#writable(body);
  }

  /** Forwards into the upload's body with its back-pressure; finishes when the upload has. */
  #writable(body: PassThrough): Writable {
    const stream = new Writable({
      highWaterMark: 1 << 20,
      write: (chunk: Buffer, _encoding, callback) => {
        this.#bytes += chunk.length;
        if (body.write(chunk)) callback();
        else body.once('drain', () => callback());
      },
      final: (callback) => {
        body.end();
        this.#uploaded.then(() => callback(), callback);
      },
      destroy: (error, callback) => {
        body.destroy();
        callback(error);
      },
    });
    // An upload that fails while bytes still arrive fails the stream, and the pipeline with
    // it; this handler also keeps a failure nobody awaits yet from going unhandled.
    this.#uploaded.catch((error: unknown) => stream.destroy(error as Error));
    return stream;
  }

  async commit(key: string): Promise<void> {
    if (this.#state !== 'writing') throw new Error(`this blob writer was already ${this.#state}`);
    const target = this.#objectKeyOf(key);
    await this.#uploaded;
    if (this.#bytes > this.#limits.maxSingleCopy) await this.#copyInParts(target);
    else
      await this.#bucket.attempt(`publishing ${target} (CopyObject)`, (client) =>
        client.send(new CopyObjectCommand({ ...this.#copySource(), Key: target })),
      );
    this.#state = 'committed';
    await this.#deleteTemporary();
  }

  async abort(): Promise<void> {
    if (this.#state === 'aborted') return;
    const wasCommitted = this.#state === 'committed';
    this.#state = 'aborted';
    if (!wasCommitted && !this.#uploadComplete) {
      this.stream.destroy();
      await this.#upload.abort();
      await this.#uploaded.catch(() => undefined);
      await this.#abortUpload();
    }
    // Also after a complete upload, or a commit whose clean-up failed: the temporary object goes.
    await this.#deleteTemporary();
  }

  #deleteTemporary(): Promise<unknown> {
    const { bucket } = this.#bucket.location;
    return this.#bucket.attempt(`removing ${this.#tmpKey} (DeleteObject)`, (client) =>
      client.send(new DeleteObjectCommand({ Bucket: bucket, Key: this.#tmpKey })),
    );
  }

  /** lib-storage aborts its upload itself, but in the background: do it once more, and wait. */
  async #abortUpload(): Promise<void> {
    const uploadId = (this.#upload as unknown as { uploadId?: string }).uploadId;
    if (uploadId === undefined) return;
    const { bucket } = this.#bucket.location;
    await this.#bucket.client
      .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: this.#tmpKey, UploadId: uploadId }))
      .catch((error: unknown) => {
        // Gone already, or an engine without the call: removeLeftovers (and a lifecycle rule) remain.
        if (!isNotFound(error) && !isNotImplemented(error))
          throw this.#bucket.failure(`aborting the upload of ${this.#tmpKey}`, error);
      });
  }

  #copySource() {
    const { bucket } = this.#bucket.location;
    return {
      Bucket: bucket,
      CopySource: `${bucket}/${this.#tmpKey.split('/').map(encodeURIComponent).join('/')}`,
    };
  }

  /** A copy over 5 GiB: ranged `UploadPartCopy` parts of one multipart upload to the final key. */
  async #copyInParts(target: string): Promise<void> {
    const { bucket } = this.#bucket.location;
    const doing = `publishing ${target} (multipart copy)`;
    const created = await this.#bucket.attempt(doing, (client) =>
      client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: target })),
    );
    const uploadId = created.UploadId;
    try {
      const parts: { ETag: string | undefined; PartNumber: number }[] = [];
      for (let start = 0, part = 1; start < this.#bytes; start += COPY_PART_BYTES, part += 1) {
        const range = `bytes=${start}-${Math.min(start + COPY_PART_BYTES, this.#bytes) - 1}`;
        const input = { ...this.#copySource(), Key: target, UploadId: uploadId, PartNumber: part };
        const copied = await this.#bucket.attempt(doing, (client) =>
          client.send(new UploadPartCopyCommand({ ...input, CopySourceRange: range })),
        );
        parts.push({ ETag: copied.CopyPartResult?.ETag, PartNumber: part });
      }
      const complete = { Bucket: bucket, Key: target, UploadId: uploadId, MultipartUpload: { Parts: parts } };
      await this.#bucket.attempt(doing, (client) =>
        client.send(new CompleteMultipartUploadCommand(complete)),
      );
    } catch (error) {
      // Nothing appeared at the target; the parts must not linger (removeLeftovers is the second net).
      await this.#bucket.client
        .send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: target, UploadId: uploadId }))
        .catch(() => undefined);
      throw error;
    }
  }
}
