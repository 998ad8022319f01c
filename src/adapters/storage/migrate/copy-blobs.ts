import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobStore } from '../../../ports/storage.js';
import { StorageError } from '../../../shared/storage-errors.js';

/** Blobs copied at once: each waits mostly on the network. */
const CONCURRENCY = 4;

export interface BlobsCopied {
  readonly blobs: number;
  readonly bytes: number;
}

/** How many blobs the store holds, and their stored bytes when they are files here (one pass over its listing). */
export async function countBlobs(store: BlobStore): Promise<{ blobs: number; bytes?: number }> {
  let blobs = 0;
  let bytes = 0;
  const files = store.localFiles;
  for await (const key of store.list()) {
    blobs += 1;
    if (files !== undefined) bytes += (await stat(files.pathOf(key))).size;
  }
  return files === undefined ? { blobs } : { blobs, bytes };
}

/** Whether the store holds any blob. */
export async function holdsBlobs(store: BlobStore): Promise<boolean> {
  for await (const _ of store.list()) return true;
  return false;
}

/**
 * Copies every blob, as stored (encrypted), under its key. The key names the plaintext, so
 * it says nothing about the stored bytes: each blob's stored bytes are hashed on the way
 * out, and hashed again as the target reads them back, and the two must match.
 */
export async function copyBlobs(
  source: BlobStore,
  target: BlobStore,
  total: number,
  onProgress: (done: number, total: number) => void,
): Promise<BlobsCopied> {
  let blobs = 0;
  let bytes = 0;
  onProgress(blobs, total);
  // One listing shared by the workers (an async generator queues concurrent `next` calls).
  const keys = source.list()[Symbol.asyncIterator]();
  let failed = false;
  const worker = async () => {
    while (!failed) {
      const next = await keys.next();
      if (next.done === true) return;
      try {
        // Awaited first: `bytes += await …` would add to the value read before the wait.
        const copied = await copyBlob(source, target, next.value);
        bytes += copied;
      } catch (error) {
        failed = true; // the other workers stop after their current blob
        throw error;
      }
      blobs += 1;
      onProgress(blobs, total);
    }
  };
  const outcomes = await Promise.allSettled(Array.from({ length: CONCURRENCY }, worker));
  const failure = outcomes.find((outcome) => outcome.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  return { blobs, bytes };
}

async function copyBlob(source: BlobStore, target: BlobStore, key: string): Promise<number> {
  const sent = digestOf();
  const writer = await target.createWriter();
  try {
    await pipeline(await source.read(key), sent.stream, writer.stream);
    await writer.commit(key);
  } catch (error) {
    await writer.abort();
    throw error;
  }
  const stored = digestOf();
  await pipeline(await target.read(key), stored.stream, async (chunks: AsyncIterable<Buffer>) => {
    for await (const _ of chunks) {
      // Read to the end: only the digest is kept.
    }
  });
  if (stored.size() !== sent.size() || stored.digest() !== sent.digest()) {
    throw new StorageError(
      'MIGRATION_MISMATCH',
      `blob ${key}: the target holds ${stored.size()} bytes (SHA-256 ${stored.digest()}) where ${sent.size()} bytes (SHA-256 ${sent.digest()}) were copied`,
    );
  }
  return sent.size();
}

/** A pass-through stream that hashes and counts what goes through it. */
function digestOf(): { stream: Transform; size: () => number; digest: () => string } {
  const hash = createHash('sha256');
  let size = 0;
  let digest: string | undefined;
  const stream = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  return {
    stream,
    size: () => size,
    digest: () => {
      digest ??= hash.digest('hex');
      return digest;
    },
  };
}
