import { createHash } from 'node:crypto';
import { type Readable, Transform, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import type { BlobStore, LocalBlobFiles } from '../../ports/storage.js';
import { StorageError } from '../../shared/storage-errors.js';
import { blobFilePool, type SealedFile, type SealSession, takeSealedFile } from './crypto/blob-file-pool.js';
import { openStream, sealStream } from './crypto/index.js';

/**
 * The blob side of copying samples between sites: open a blob's plaintext, seal a plaintext
 * into a new blob only if it hashes to its name, read a blob back. No table here: the vault
 * keeps its rows (vault-service.ts).
 *
 * Each operation has two paths. A store that offers `localFiles` (the filesystem) is read
 * and written by path on the blob-file worker threads, off the event loop; any other store
 * (an object store) through its streams, visibly, on this thread.
 */
export interface SealedBlobs {
  readonly blobs: BlobStore;
  /** The site's master key: what new blobs are sealed under. */
  readonly masterKey: Buffer;
  /** What opens the blob: the master key, with the blob's rewrap if a key rotation made one. */
  readonly openingKey: (sha256: string) => Promise<Buffer>;
}

/** The sample's plaintext, each segment authenticated before its bytes are released. */
export async function openBlobPlaintext(
  { blobs, openingKey }: SealedBlobs,
  sha256: string,
): Promise<Readable> {
  const masterKey = await openingKey(sha256);
  const files = blobs.localFiles;
  if (files !== undefined) {
    // Read and decrypted on a worker thread; the same errors as the stream below.
    const path = files.pathOf(sha256);
    if (!(await blobs.has(sha256))) throw new StorageError('BLOB_NOT_FOUND', `no blob ${sha256}`);
    return blobFilePool().openPlaintext(path, masterKey);
  }
  const blob = await blobs.read(sha256);
  const plaintext = openStream(masterKey);
  blob.on('error', (error) => plaintext.destroy(error));
  // A reader that stops early (the target already holds the sample) must not leak the file.
  plaintext.once('close', () => blob.destroy());
  return blob.pipe(plaintext);
}

/**
 * Seals the plaintext under this site's key into the blob `sha256`, published only if the
 * plaintext hashes to it. The caller holds the sample's lock and knows the blob is absent.
 */
export async function sealBlob(sealed: SealedBlobs, sha256: string, plaintext: Readable): Promise<void> {
  const { blobs, masterKey } = sealed;
  const files = blobs.localFiles;
  if (files !== undefined) {
    const sourceFile = takeSealedFile(plaintext);
    if (sourceFile !== undefined) await resealOnWorker(files, masterKey, sha256, sourceFile);
    else await sealOnWorker(files, masterKey, sha256, plaintext);
    return;
  }
  const hash = createHash('sha256');
  const { header, encrypt } = sealStream(masterKey);
  const writer = await blobs.createWriter();
  try {
    writer.stream.write(header);
    await pipeline(plaintext, hashing(hash), encrypt, writer.stream);
    const actual = hash.digest('hex');
    if (actual !== sha256) throw new Error(`sample ${sha256} arrived as ${actual}`);
    await writer.commit(sha256);
  } catch (error) {
    await writer.abort();
    throw error;
  }
}

/**
 * Reads the blob back and authenticates every segment (the GCM tags, the final-segment flag,
 * the header), without hashing: why that proves the copy after {@link sealBlob} is in
 * docs/relocation.md ("Verifying a copy").
 */
export async function authenticateBlob(sealed: SealedBlobs, sha256: string): Promise<boolean> {
  const files = sealed.blobs.localFiles;
  // The worker answers false for a missing file: no separate existence check.
  if (files !== undefined)
    return blobFilePool().authenticate(files.pathOf(sha256), await sealed.openingKey(sha256));
  if (!(await sealed.blobs.has(sha256))) return false;
  try {
    await pipeline(await openBlobPlaintext(sealed, sha256), discard());
  } catch {
    return false;
  }
  return true;
}

/** Reads the blob back, decrypts it and checks it hashes to its name (the residency audit). */
export async function verifyBlob(sealed: SealedBlobs, sha256: string): Promise<boolean> {
  const files = sealed.blobs.localFiles;
  // On a worker, read from the device: the audit checks what is at rest, off the event loop.
  // A missing file digests to nothing: no separate existence check.
  if (files !== undefined)
    return (await blobFilePool().digest(files.pathOf(sha256), await sealed.openingKey(sha256))) === sha256;
  if (!(await sealed.blobs.has(sha256))) return false;
  const hash = createHash('sha256');
  try {
    await pipeline(await openBlobPlaintext(sealed, sha256), hashingSink(hash));
  } catch {
    return false;
  }
  return hash.digest('hex') === sha256;
}

/**
 * Hashes and seals the plaintext into a new blob file on a worker thread, and publishes it
 * (fsync, rename, fsync of the directory) only if it hashes to `sha256`.
 */
async function sealOnWorker(
  files: LocalBlobFiles,
  masterKey: Buffer,
  sha256: string,
  plaintext: Readable,
): Promise<void> {
  const file = await files.createFileWriter();
  let sealing: SealSession | undefined;
  try {
    sealing = await blobFilePool().seal(file.path, masterKey);
    const session = sealing;
    await eachChunk(plaintext, (chunk) => session.write(chunk));
    const actual = await sealing.finish();
    if (actual !== sha256) throw new Error(`sample ${sha256} arrived as ${actual}`);
    await file.commit(sha256);
  } catch (error) {
    plaintext.destroy();
    sealing?.abort();
    await file.abort();
    throw error;
  }
}

/**
 * The same as {@link sealOnWorker} for a plaintext that is another local site's blob file
 * nobody has read yet: one worker reads, authenticates, hashes and seals it again in a
 * single pass, and the plaintext never leaves that worker.
 */
async function resealOnWorker(
  files: LocalBlobFiles,
  masterKey: Buffer,
  sha256: string,
  source: SealedFile,
): Promise<void> {
  const file = await files.createFileWriter();
  try {
    const actual = await blobFilePool().reseal(source, { path: file.path, masterKey });
    if (actual !== sha256) throw new Error(`sample ${sha256} arrived as ${actual}`);
    await file.commit(sha256);
  } catch (error) {
    await file.abort();
    throw error;
  } finally {
    source.masterKey.fill(0);
  }
}

/**
 * Hands each chunk to `write` as the stream made it, one at a time. Flowing mode, not
 * `for await`: an async iterator's `read()` joins whatever is buffered into a new copy.
 */
async function eachChunk(stream: Readable, write: (chunk: Buffer) => Promise<void>): Promise<void> {
  let last: Promise<void> = Promise.resolve();
  let failure: { error: unknown } | undefined;
  stream.on('data', (chunk: Buffer) => {
    stream.pause();
    last = write(chunk).then(
      () => {
        if (failure === undefined) stream.resume();
      },
      (error: unknown) => {
        failure ??= { error };
        stream.destroy();
      },
    );
  });
  // `finished` also settles for a stream that ended or failed before we looked.
  await finished(stream).catch((error: unknown) => {
    failure ??= { error };
  });
  await last;
  if (failure !== undefined) throw failure.error;
}

function hashing(hash: ReturnType<typeof createHash>): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback(null, chunk);
    },
  });
}

function hashingSink(hash: ReturnType<typeof createHash>): Writable {
  return new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      callback();
    },
  });
}

function discard(): Writable {
  return new Writable({
    highWaterMark: 1 << 20,
    write(_chunk: Buffer, _encoding, callback) {
      callback();
    },
  });
}
