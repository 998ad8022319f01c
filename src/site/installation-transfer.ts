import { createHash } from 'node:crypto';
import { type Readable, Transform, Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { eachLimited } from '../shared/each-limited.js';
import type { LocalBlobFiles } from '../storage/ports.js';
import { StorageError } from '../storage/storage-errors.js';
import {
  blobFilePool,
  type SealedFile,
  type SealSession,
  takeSealedFile,
} from '../vault/crypto/blob-file-pool.js';
import { decryptField, encryptField, openStream, sealStream } from '../vault/crypto/index.js';
import type {
  RelocatableRecords,
  RelocatableSample,
  RelocatableSubmission,
  SiteResidencyScan,
} from './installation-records.js';
import { hasKey, type SiteParts, statsOf } from './site-parts.js';

/** Samples the residency audit reads back at once: enough to keep the blob-file workers busy. */
const SAMPLES_VERIFIED_AT_ONCE = 4;

/** The AAD context of a sealed file name: the same as the vault's, so either side opens it. */
const filenameContext = (installationId: string) => `${installationId}:filename`;

/**
 * Everything the site holds of an installation, file names unsealed, for a copy to another
 * site. Events are read after everything acknowledged so far is loaded.
 */
export async function exportInstallation(
  parts: SiteParts,
  installationId: string,
): Promise<RelocatableRecords> {
  const { db } = parts.vault;
  const rows = await db
    .selectFrom('submissions')
    .select(['sha256', 'submitted_at', 'product', 'filename_sealed'])
    .where('installation_id', '=', installationId)
    .orderBy('id')
    .execute();
  const key = rows.length === 0 ? undefined : await parts.subjects.keyOf(installationId);
  const submissions: RelocatableSubmission[] = rows.map((r) => ({
    sha256: r.sha256,
    submittedAt: r.submitted_at,
    product: r.product,
    filename: decryptField(key!, r.filename_sealed, filenameContext(installationId)),
  }));
  const shas = [...new Set(submissions.map((s) => s.sha256))];
  const samples: RelocatableSample[] = [];
  for (let i = 0; i < shas.length; i += 500) {
    const found = await db
      .selectFrom('samples')
      .selectAll()
      .where('sha256', 'in', shas.slice(i, i + 500))
      .execute();
    for (const s of found) {
      samples.push({
        sha256: s.sha256,
        sha1: s.sha1,
        md5: s.md5,
        sha512: s.sha512,
        size: s.size,
        firstSeen: s.first_seen,
        lastSeen: s.last_seen,
      });
    }
  }
  const events = await statsOf(parts).exportInstallation(installationId);
  return { installationId, submissions, samples, events };
}

/** The sample's plaintext, for a copy (no download entry: the bytes go to another site's vault). */
export async function openSamplePlaintext(parts: SiteParts, sha256: string): Promise<Readable> {
  const { files } = parts.vault.blobs;
  if (files !== undefined) {
    // Read and decrypted on a worker thread; the same errors as the stream below.
    const path = files.pathOf(sha256);
    if (!(await parts.vault.blobs.has(sha256))) throw new StorageError('BLOB_NOT_FOUND', `no blob ${sha256}`);
    return blobFilePool().openPlaintext(path, parts.vault.masterKey);
  }
  const blob = await parts.vault.blobs.read(sha256);
  const plaintext = openStream(parts.vault.masterKey);
  blob.on('error', (error) => plaintext.destroy(error));
  // A reader that stops early (the target already holds the sample) must not leak the file.
  plaintext.once('close', () => blob.destroy());
  return blob.pipe(plaintext);
}

/**
 * Stores a sample coming from another site under this site's key, unless the site already
 * holds it (row and blob). The plaintext is hashed on the way in; bytes that are not the
 * sample's SHA-256 are never published.
 */
export async function importSample(
  parts: SiteParts,
  record: RelocatableSample,
  plaintext: Readable,
): Promise<{ copied: boolean }> {
  const { db, blobs, masterKey, durable, withSample } = parts.vault;
  return withSample(record.sha256, async () => {
    const row = await db
      .selectFrom('samples')
      .select('sha256')
      .where('sha256', '=', record.sha256)
      .executeTakeFirst();
    if (row !== undefined && (await blobs.has(record.sha256))) {
      plaintext.destroy();
      return { copied: false };
    }
    if (!(await blobs.has(record.sha256)) && blobs.files !== undefined) {
      const sourceFile = takeSealedFile(plaintext);
      if (sourceFile !== undefined) await resealOnWorker(blobs.files, masterKey, record.sha256, sourceFile);
      else await sealOnWorker(blobs.files, masterKey, record.sha256, plaintext);
    } else if (!(await blobs.has(record.sha256))) {
      const hash = createHash('sha256');
      const { header, encrypt } = sealStream(masterKey);
      const writer = await blobs.createWriter();
      try {
        writer.stream.write(header);
        await pipeline(plaintext, hashing(hash), encrypt, writer.stream);
        const actual = hash.digest('hex');
        if (actual !== record.sha256) throw new Error(`sample ${record.sha256} arrived as ${actual}`);
        await writer.commit(record.sha256);
      } catch (error) {
        await writer.abort();
        throw error;
      }
    } else {
      plaintext.destroy();
    }
    await db
      .insertInto('samples')
      .values({
        sha256: record.sha256,
        sha1: record.sha1,
        md5: record.md5,
        sha512: record.sha512,
        size: record.size,
        ssdeep: null,
        tlsh: null,
        first_seen: record.firstSeen,
        last_seen: record.lastSeen,
      })
      .onConflict((c) => c.column('sha256').doNothing())
      .execute();
    await durable();
    return { copied: true };
  });
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
 * Makes the installation's submissions and events at this site exactly the given ones
 * (idempotent: a repeated copy replaces, never duplicates), sealing file names under this
 * site's key for the installation, which it creates if needed. The samples must be here.
 */
export async function importInstallation(
  parts: SiteParts,
  records: Pick<RelocatableRecords, 'installationId' | 'submissions' | 'events'>,
  replace: { readonly submissions: boolean; readonly events: boolean },
): Promise<void> {
  const { installationId } = records;
  await parts.subjects.admit(installationId);
  if (replace.submissions) {
    const key = await parts.subjects.keyOf(installationId);
    await parts.vault.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('submissions').where('installation_id', '=', installationId).execute();
      for (const s of records.submissions) {
        await trx
          .insertInto('submissions')
          .values({
            id: undefined,
            sha256: s.sha256,
            installation_id: installationId,
            submitted_at: s.submittedAt,
            product: s.product,
            filename_sealed: encryptField(key, s.filename, filenameContext(installationId)),
          })
          .execute();
      }
    });
  }
  await parts.vault.durable();
  if (replace.events) {
    const stats = statsOf(parts);
    await stats.eraseInstallations([installationId]);
    if (records.events.length > 0) await stats.append(Buffer.from(records.events.join(''), 'utf8'));
  }
}

/**
 * Reads the blob back and authenticates every segment (the GCM tags, the final-segment flag,
 * the header), without hashing: why that proves the copy after {@link importSample} is in
 * docs/relocation.md ("Verifying a copy").
 */
export async function authenticateSample(parts: SiteParts, sha256: string): Promise<boolean> {
  const { files } = parts.vault.blobs;
  // The worker answers false for a missing file: no separate existence check.
  if (files !== undefined) return blobFilePool().authenticate(files.pathOf(sha256), parts.vault.masterKey);
  if (!(await parts.vault.blobs.has(sha256))) return false;
  try {
    await pipeline(await openSamplePlaintext(parts, sha256), discard());
  } catch {
    return false;
  }
  return true;
}

/** Reads the blob back, decrypts it and checks it hashes to its name (the residency audit). */
export async function verifySample(parts: SiteParts, sha256: string): Promise<boolean> {
  const { files } = parts.vault.blobs;
  // On a worker, read from the device: the audit checks what is at rest, off the event loop.
  // A missing file digests to nothing: no separate existence check.
  if (files !== undefined)
    return (await blobFilePool().digest(files.pathOf(sha256), parts.vault.masterKey)) === sha256;
  if (!(await parts.vault.blobs.has(sha256))) return false;
  const hash = createHash('sha256');
  try {
    await pipeline(await openSamplePlaintext(parts, sha256), hashingSink(hash));
  } catch {
    return false;
  }
  return hash.digest('hex') === sha256;
}

/** What the site holds, by installation, and whether every referenced sample is whole. */
export async function scanResidency(parts: SiteParts): Promise<SiteResidencyScan> {
  const { db } = parts.vault;
  const byId = new Map<string, { id: string; key: boolean; submissions: number; events: number }>();
  const entry = (id: string) => {
    let found = byId.get(id);
    if (found === undefined) {
      found = { id, key: false, submissions: 0, events: 0 };
      byId.set(id, found);
    }
    return found;
  };
  for (const row of await parts.subjectDb.selectFrom('subject_keys').select('installation_id').execute()) {
    entry(row.installation_id).key = true;
  }
  const counts = await db
    .selectFrom('submissions')
    .select(['installation_id', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('installation_id')
    .execute();
  for (const row of counts) entry(row.installation_id).submissions = Number(row.n);
  for (const [id, n] of await statsOf(parts).countByInstallation()) entry(id).events = n;
  const referenced = await db.selectFrom('submissions').select('sha256').distinct().execute();
  const known = new Set((await db.selectFrom('samples').select('sha256').execute()).map((r) => r.sha256));
  const referencedSet = new Set(referenced.map((r) => r.sha256));
  const states = await eachLimited(referenced, SAMPLES_VERIFIED_AT_ONCE, async ({ sha256 }) => {
    if (!known.has(sha256) || !(await parts.vault.blobs.has(sha256))) return 'missing';
    return (await verifySample(parts, sha256)) ? 'whole' : 'corrupt';
  });
  const inState = (state: (typeof states)[number]) =>
    referenced.filter((_, i) => states[i] === state).map((r) => r.sha256);
  const missing = inState('missing');
  const corrupt = inState('corrupt');
  return {
    site: parts.vault.site,
    installations: [...byId.values()],
    samples: {
      referenced: referenced.length,
      missing,
      corrupt,
      unreferenced: [...known].filter((s) => !referencedSet.has(s)).length,
    },
  };
}

export { hasKey };

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
