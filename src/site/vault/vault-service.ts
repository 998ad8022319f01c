import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely, Transaction } from 'kysely';
import type { Actor, AuditSink } from '../../ports/audit-sink.js';
import type {
  SampleAtSite,
  SampleDigests,
  SampleFingerprint,
  SampleHash,
  SampleSubmission,
  StoredSample,
  SubmissionRecord,
} from '../../ports/samples.js';
import type { SampleScanRequest, SampleScanResult } from '../../ports/site-client.js';
import type { BlobStore, BlobWriter, TimeRange } from '../../ports/storage.js';
import { eachLimited } from '../../shared/each-limited.js';
import { KeyedLock } from '../../shared/keyed-lock.js';
import { VaultError } from '../../shared/vault-errors.js';
import { SubjectError } from '../subjects/subject-errors.js';
import type { SubjectKeys } from '../subjects/subject-keys.js';
import { blobOpeningKey, decryptField, encryptField, openStream, sealStream } from './crypto/index.js';
import { DigestMeter } from './digest-meter.js';
import { FingerprintBackfill, type FingerprintBackfillOptions } from './fingerprint/fingerprint-backfill.js';
import { fingerprintPool } from './fingerprint/fingerprint-pool.js';
import {
  deleteSubmissionRows,
  deleteUnreferencedSampleRows,
  readInstallationSubmissions,
  replaceInstallationSubmissions,
  submissionCensus,
} from './installation-submissions.js';
import { SampleCommitter } from './sample-committer.js';
import {
  authenticateBlob,
  openBlobPlaintext,
  type SealedBlobs,
  sealBlob,
  verifyBlob,
} from './sample-copy.js';
import { scanSamples } from './sample-scan.js';
import type {
  InstallationSubmissions,
  RelocatableSample,
  RelocatableSubmission,
  RemovedSubmissions,
  VaultResidencyScan,
} from './vault-records.js';
import type { VaultTables } from './vault-tables.js';

/** Blobs removed at once by a purge: each unlink waits on the file system, not on the event loop. */
const BLOB_DELETES_AT_ONCE = 8;
/** Samples the residency scan reads back at once: enough to keep the blob-file workers busy. */
const SAMPLES_VERIFIED_AT_ONCE = 4;

export interface VaultServiceOptions {
  readonly site: string;
  readonly db: Kysely<VaultTables>;
  /** The metadata store's durability barrier, awaited before a sample is acknowledged. */
  readonly durable: () => Promise<void>;
  readonly blobs: BlobStore;
  readonly masterKey: Buffer;
  readonly subjects: SubjectKeys;
  /**
   * Whether the installation still has its key, read inside the submission's transaction: an
   * erasure may destroy the key while a file streams in, and its row must then not land.
   */
  readonly stillAdmitted?: (trx: Transaction<VaultTables>, installationId: string) => Promise<boolean>;
  readonly audit: AuditSink;
  readonly maxSampleBytes: number;
  /**
   * Whether uploads get their fuzzy hashes (ssdeep, TLSH) and file type as they stream
   * (default true). Off, samples are stored without them, for a backfill to add later.
   */
  readonly fingerprints?: boolean;
  /** An upload was stored without its fingerprint (the backfill should run). */
  readonly onUnfingerprinted?: () => void;
  readonly now: () => Date;
}

/**
 * The safe store of one site: samples encrypted under the site's key and stored once
 * (content-addressed), submissions with their personal fields sealed under the
 * installation's key.
 */
export class VaultService {
  readonly #o: VaultServiceOptions;
  /** Serializes, per SHA-256, an upload's "blob present? row?" steps against a purge's deletes. */
  readonly #sampleLocks = new KeyedLock();
  readonly #sampleListeners: ((sha256s: readonly string[]) => void)[] = [];
  readonly #committer: SampleCommitter<VaultTables>;

  constructor(options: VaultServiceOptions) {
    this.#o = options;
    this.#committer = new SampleCommitter({
      db: options.db,
      durable: options.durable,
      blobs: options.blobs,
      locks: this.#sampleLocks,
    });
  }

  /**
   * Calls the listener, once committed, with the SHA-256s of samples stored, removed, or whose
   * row changed otherwise (their fuzzy hashes): for the indexes kept in memory over the
   * `samples` table (the catalogue's similarity index). Whatever writes `samples` tells them.
   */
  onSamplesChanged(listener: (sha256s: readonly string[]) => void): void {
    this.#sampleListeners.push(listener);
  }

  #samplesChanged(sha256s: readonly string[]): void {
    if (sha256s.length === 0) return;
    for (const listener of this.#sampleListeners) listener(sha256s);
  }

  /**
   * Streams a submission into the store. The blob is durable before its row commits, and
   * the row before this resolves, so an acknowledged sample survives a `kill -9`; uploads
   * that finish together commit together (sample-committer.ts).
   *
   * @example
   * const stored = await vault.store({ installationId, filename: 'a.exe', product: 'endpoint-12', body });
   */
  async store(submission: SampleSubmission): Promise<StoredSample> {
    const installationKey = await this.#o.subjects.keyOf(submission.installationId);
    const written = await this.#writeBlob(submission.body, submission.size);
    const { digests, writer } = written;
    const time = this.#o.now().toISOString();
    const filenameSealed = encryptField(
      installationKey,
      submission.filename,
      `${submission.installationId}:filename`,
    );
    // The upload joins the commit batch at once: its fingerprint (at most a few MiB behind the
    // stream, see fingerprint-pool.ts) settles while the batch's blobs sync, and is in the row.
    // One that failed (its worker died) leaves the sample to the backfill.
    const fingerprint = written.fingerprint?.catch(() => {
      this.#o.onUnfingerprinted?.();
      return undefined;
    });
    const isNew = await this.#committer.commit({
      key: digests.sha256,
      writer,
      ready: fingerprint,
      record: async (trx) =>
        this.#recordSubmission(
          trx,
          digests,
          await fingerprint,
          submission.installationId,
          submission.product,
          filenameSealed,
          time,
        ),
    });
    this.#samplesChanged([digests.sha256]);
    return { ...digests, site: this.#o.site, new: isNew };
  }

  /** The sample's row (or its `last_seen`) and the submission's; whether the sample is new here. */
  async #recordSubmission(
    trx: Transaction<VaultTables>,
    digests: SampleDigests,
    fingerprint: SampleFingerprint | undefined,
    installationId: string,
    product: string,
    filenameSealed: string,
    time: string,
  ): Promise<boolean> {
    if (this.#o.stillAdmitted !== undefined && !(await this.#o.stillAdmitted(trx, installationId))) {
      throw new SubjectError('SUBJECT_NOT_AT_SITE', `installation is not assigned to site ${this.#o.site}`);
    }
    const known = await trx
      .updateTable('samples')
      .set({ last_seen: time })
      .where('sha256', '=', digests.sha256)
      .executeTakeFirst();
    const isNewHere = known.numUpdatedRows === 0n;
    if (isNewHere) {
      await trx
        .insertInto('samples')
        .values({
          ...digests,
          ssdeep: fingerprint?.ssdeep ?? null,
          tlsh: fingerprint?.tlsh ?? null,
          file_type: fingerprint?.fileType ?? null,
          first_seen: time,
          last_seen: time,
        })
        .execute();
    } else if (fingerprint !== undefined) {
      // Stored before fingerprints (or with them off): this upload brings them.
      await trx
        .updateTable('samples')
        .set({ ssdeep: fingerprint.ssdeep, tlsh: fingerprint.tlsh, file_type: fingerprint.fileType })
        .where('sha256', '=', digests.sha256)
        .where('file_type', 'is', null)
        .execute();
    }
    await trx
      .insertInto('submissions')
      .values({
        id: undefined,
        sha256: digests.sha256,
        installation_id: installationId,
        submitted_at: time,
        product,
        filename_sealed: filenameSealed,
      })
      .execute();
    return isNewHere;
  }

  /**
   * Records a sample's fuzzy hashes (ssdeep `blocksize:hash1:hash2`, TLSH `T1` + 70 hex digits)
   * in its row, and tells the indexes over them; false when the site does not hold the sample.
   */
  async recordFuzzyHashes(
    sha256: string,
    hashes: { readonly ssdeep: string | null; readonly tlsh: string | null },
  ): Promise<boolean> {
    const updated = await this.#o.db
      .updateTable('samples')
      .set({ ssdeep: hashes.ssdeep, tlsh: hashes.tlsh })
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    await this.#o.durable();
    const found = updated.numUpdatedRows > 0n;
    if (found) this.#samplesChanged([sha256]);
    return found;
  }

  async find(hash: SampleHash): Promise<SampleAtSite | undefined> {
    const row = await this.#o.db
      .selectFrom('samples')
      .selectAll('samples')
      .select((eb) =>
        eb
          .selectFrom('submissions')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('submissions.sha256', '=', 'samples.sha256')
          .as('submissions'),
      )
      .where(hash.kind, '=', hash.value)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return {
      md5: row.md5,
      sha1: row.sha1,
      sha256: row.sha256,
      sha512: row.sha512,
      size: row.size,
      ssdeep: row.ssdeep,
      tlsh: row.tlsh,
      fileType: row.file_type,
      site: this.#o.site,
      firstSeen: row.first_seen,
      lastSeen: row.last_seen,
      submissions: Number(row.submissions ?? 0),
    };
  }

  /**
   * Opens a sample's plaintext for a download, after the download is on the record. The
   * stream errors (never truncates silently) if the blob fails authentication.
   */
  async openForDownload(sha256: string, actor: Actor): Promise<Readable> {
    const found = await this.find({ kind: 'sha256', value: sha256 });
    if (found === undefined)
      throw new VaultError('SAMPLE_NOT_FOUND', `no sample ${sha256} at ${this.#o.site}`);
    await this.#o.audit.append({
      type: 'sample.download',
      time: this.#o.now().toISOString(),
      actor,
      site: this.#o.site,
      sha256,
    });
    const openingKey = await this.#openingKey(sha256);
    const blob = await this.#o.blobs.read(sha256);
    const plaintext = openStream(openingKey);
    blob.on('error', (error) => plaintext.destroy(error));
    return blob.pipe(plaintext);
  }

  /**
   * The installation's submissions in the range, oldest first, file names opened with its key.
   * For the desks that answer data requests about one installation; nothing else reads them.
   */
  async submissionsOf(installationId: string, range: TimeRange = {}): Promise<SubmissionRecord[]> {
    let query = this.#o.db
      .selectFrom('submissions')
      .innerJoin('samples', 'samples.sha256', 'submissions.sha256')
      .select([
        'submissions.id',
        'submissions.sha256',
        'samples.md5',
        'samples.sha1',
        'samples.size',
        'submissions.submitted_at',
        'submissions.product',
        'submissions.filename_sealed',
      ])
      .where('submissions.installation_id', '=', installationId);
    if (range.from !== undefined) query = query.where('submitted_at', '>=', range.from.toISOString());
    if (range.to !== undefined) query = query.where('submitted_at', '<', range.to.toISOString());
    const rows = await query.orderBy('submissions.id').execute();
    if (rows.length === 0) return [];
    const key = await this.#o.subjects.keyOf(installationId);
    return rows.map((row) => ({
      id: Number(row.id),
      sha256: row.sha256,
      md5: row.md5,
      sha1: row.sha1,
      size: row.size,
      submittedAt: row.submitted_at,
      product: row.product,
      filename: decryptField(key, row.filename_sealed, `${installationId}:filename`),
    }));
  }

  async usage(): Promise<{ samples: number; bytes: number }> {
    const row = await this.#o.db
      .selectFrom('samples')
      .select((eb) => [eb.fn.countAll<number>().as('samples'), eb.fn.sum<number>('size').as('bytes')])
      .executeTakeFirstOrThrow();
    return { samples: Number(row.samples), bytes: Number(row.bytes ?? 0) };
  }

  // Relocation and erasure: what moving an installation's records between sites, and
  // removing them, need of the vault. Nothing outside the vault reads or writes its tables.

  /**
   * The installation's submissions, file names opened (for a copy to another site), and the
   * samples they reference, without their bytes.
   *
   * @example
   * const { submissions, samples } = await vault.exportSubmissions(installationId);
   */
  exportSubmissions(installationId: string): Promise<InstallationSubmissions> {
    return readInstallationSubmissions(this.#o.db, installationId, () =>
      this.#o.subjects.keyOf(installationId),
    );
  }

  /** The sample's plaintext, for a copy (no download entry: the bytes go to another site's vault). */
  openSamplePlaintext(sha256: string): Promise<Readable> {
    return openBlobPlaintext(this.#sealed(), sha256);
  }

  /**
   * Stores a sample coming from another site under this site's key, unless the site already
   * holds it (row and blob). The plaintext is hashed on the way in; bytes that are not the
   * sample's SHA-256 are never published. Durable when it resolves.
   *
   * @example
   * const { copied } = await vault.importSample(record, await source.openSamplePlaintext(record.sha256));
   */
  async importSample(record: RelocatableSample, plaintext: Readable): Promise<{ copied: boolean }> {
    return this.#sampleLocks.run(record.sha256, async () => {
      const row = await this.#o.db
        .selectFrom('samples')
        .select('sha256')
        .where('sha256', '=', record.sha256)
        .executeTakeFirst();
      const blobHere = await this.#o.blobs.has(record.sha256);
      if (row !== undefined && blobHere) {
        plaintext.destroy();
        return { copied: false };
      }
      // The blob first, then its row: a crash between them leaves an orphan `recover` removes.
      if (blobHere) plaintext.destroy();
      else await sealBlob(this.#sealed(), record.sha256, plaintext);
      await this.#o.db
        .insertInto('samples')
        .values({
          sha256: record.sha256,
          sha1: record.sha1,
          md5: record.md5,
          sha512: record.sha512,
          size: record.size,
          // The source's fingerprint; without one, the backfill computes it (a null file type).
          ssdeep: record.fingerprint?.ssdeep ?? null,
          tlsh: record.fingerprint?.tlsh ?? null,
          file_type: record.fingerprint?.fileType ?? null,
          first_seen: record.firstSeen,
          last_seen: record.lastSeen,
        })
        .onConflict((c) => c.column('sha256').doNothing())
        .execute();
      await this.#o.durable();
      this.#samplesChanged([record.sha256]);
      return { copied: true };
    });
  }

  /**
   * Makes the installation's submissions here exactly `submissions` (idempotent: a repeated
   * copy replaces, never duplicates), file names sealed under the installation's key at this
   * site, which must exist. The samples must be here. Durable when it resolves.
   */
  async replaceSubmissions(
    installationId: string,
    submissions: readonly RelocatableSubmission[],
  ): Promise<void> {
    const key = await this.#o.subjects.keyOf(installationId);
    await replaceInstallationSubmissions(this.#o.db, installationId, submissions, key);
    await this.#o.durable();
  }

  /**
   * Reads the blob back and authenticates every segment, without hashing (the check after
   * {@link importSample}; why it suffices is in docs/relocation.md, "Verifying a copy").
   */
  authenticateSample(sha256: string): Promise<boolean> {
    return authenticateBlob(this.#sealed(), sha256);
  }

  /** Reads the blob back, decrypts it and checks it hashes to its name (the residency audit). */
  verifySample(sha256: string): Promise<boolean> {
    return verifyBlob(this.#sealed(), sha256);
  }

  /**
   * Deletes the installations' submissions and the samples only they referenced: rows in one
   * transaction (a crash can never leave samples whose last submission is gone but whose rows
   * remain, which a re-run would no longer find), then the blobs, each under the sample's lock
   * and only while no row names it again (an upload of the same file may have stored it anew
   * meanwhile). A crash before the blobs go leaves orphans, which {@link recover} removes at
   * start. Relocation's purge and the privacy desk's erasure both use it. Idempotent.
   *
   * @example
   * const { submissions, samples } = await vault.removeSubmissions(['3f9a…']);
   */
  async removeSubmissions(installationIds: readonly string[]): Promise<RemovedSubmissions> {
    const erased = await deleteSubmissionRows(this.#o.db, installationIds);
    await this.#o.durable();
    this.#samplesChanged(erased.samples.map((s) => s.sha256));
    await this.#deleteBlobsUnlessStoredAgain(erased.samples.map((s) => s.sha256));
    return erased;
  }

  /** Removes those samples (row, then blob) that no submission references; the rest stay. */
  async removeUnreferencedSamples(sha256s: readonly string[]): Promise<string[]> {
    const removed = await deleteUnreferencedSampleRows(this.#o.db, sha256s);
    await this.#o.durable();
    this.#samplesChanged(removed.map((s) => s.sha256));
    await this.#deleteBlobsUnlessStoredAgain(removed.map((s) => s.sha256));
    return removed.map((s) => s.sha256);
  }

  /** A hunt's batch: the next samples by arrival, matched against a YARA rule set (sample-scan.ts). */
  scanSamples(request: SampleScanRequest): Promise<SampleScanResult> {
    return scanSamples(this.#o.db, this.#sealed(), request);
  }

  /** Submissions per installation, and whether every referenced sample is whole (the residency audit). */
  async residencyScan(): Promise<VaultResidencyScan> {
    const { byInstallation, referenced, known } = await submissionCensus(this.#o.db);
    const referencedSet = new Set(referenced);
    const states = await eachLimited(referenced, SAMPLES_VERIFIED_AT_ONCE, async (sha256) => {
      if (!known.has(sha256) || !(await this.#o.blobs.has(sha256))) return 'missing';
      return (await this.verifySample(sha256)) ? 'whole' : 'corrupt';
    });
    const inState = (state: (typeof states)[number]) => referenced.filter((_, i) => states[i] === state);
    return {
      submissionsByInstallation: byInstallation,
      samples: {
        referenced: referenced.length,
        missing: inState('missing'),
        corrupt: inState('corrupt'),
        unreferenced: [...known].filter((s) => !referencedSet.has(s)).length,
      },
    };
  }

  /** Deletes the blobs, several at once, each under its lock and only if no row names it again. */
  async #deleteBlobsUnlessStoredAgain(sha256s: readonly string[]): Promise<void> {
    let next = 0;
    let failed = false;
    const deleter = async () => {
      for (let i = next++; i < sha256s.length && !failed; i = next++) {
        const sha256 = sha256s[i]!;
        await this.#sampleLocks
          .run(sha256, async () => {
            const storedAgain = await this.#o.db
              .selectFrom('samples')
              .select('sha256')
              .where('sha256', '=', sha256)
              .executeTakeFirst();
            if (storedAgain === undefined) await this.#o.blobs.delete(sha256);
          })
          .catch((error: unknown) => {
            failed = true;
            throw error;
          });
      }
    };
    // Every deleter settles before the first failure is thrown: none deletes behind the caller's back.
    const settled = await Promise.allSettled(Array.from({ length: BLOB_DELETES_AT_ONCE }, deleter));
    const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failure !== undefined) throw failure.reason;
  }

  #sealed(): SealedBlobs {
    return {
      blobs: this.#o.blobs,
      masterKey: this.#o.masterKey,
      openingKey: (sha256) => this.#openingKey(sha256),
    };
  }

  /** The master key, with the blob's rewrap if a key rotation made one (see `blob_key_wraps`). */
  async #openingKey(sha256: string): Promise<Buffer> {
    const row = await this.#o.db
      .selectFrom('blob_key_wraps')
      .select(['header_wrap', 'wrapped_key'])
      .where('sha256', '=', sha256)
      .executeTakeFirst();
    return blobOpeningKey(
      this.#o.masterKey,
      row === undefined ? undefined : { headerWrap: row.header_wrap, wrapped: row.wrapped_key },
    );
  }

  /**
   * Removes what a crash can leave: temporary files, and blobs published whose row never
   * committed (the upload was never acknowledged). Run before serving.
   */
  async recover(): Promise<{ leftovers: number; orphans: number }> {
    const leftovers = await this.#o.blobs.removeLeftovers();
    let orphans = 0;
    for await (const key of this.#o.blobs.list()) {
      const row = await this.#o.db
        .selectFrom('samples')
        .select('sha256')
        .where('sha256', '=', key)
        .executeTakeFirst();
      if (row === undefined) {
        await this.#o.blobs.delete(key);
        orphans += 1;
      }
    }
    return { leftovers, orphans };
  }

  /**
   * A background job that fingerprints the samples stored without fuzzy hashes and file type
   * (fingerprint-backfill.ts); `start` it in the serving process.
   */
  fingerprintBackfill(options: Omit<FingerprintBackfillOptions, 'db' | 'sealed'> = {}): FingerprintBackfill {
    return new FingerprintBackfill({
      ...options,
      db: this.#o.db,
      sealed: this.#sealed(),
      onRecorded: (sha256) => {
        this.#samplesChanged([sha256]);
        options.onRecorded?.(sha256);
      },
    });
  }

  /**
   * Writes the sealed bytes to a temporary blob, which the committer publishes or drops. The
   * fingerprint is computed on a worker meanwhile, and settles after the stream.
   */
  async #writeBlob(
    body: Readable,
    declaredSize: number | undefined,
  ): Promise<{
    digests: SampleDigests;
    fingerprint: Promise<SampleFingerprint> | undefined;
    writer: BlobWriter;
  }> {
    const session = this.#o.fingerprints === false ? undefined : fingerprintPool().start(declaredSize);
    const meter = new DigestMeter(this.#o.maxSampleBytes, session);
    const { header, encrypt } = sealStream(this.#o.masterKey);
    const writer = await this.#o.blobs.createWriter().catch((error: unknown) => {
      session?.abort();
      throw error;
    });
    try {
      writer.stream.write(header);
      await pipeline(body, meter, encrypt, writer.stream);
      const digests = meter.digests();
      if (digests.size === 0) throw new VaultError('EMPTY_SAMPLE', 'the request body is empty');
      const fingerprint = session?.finish();
      return { digests, fingerprint, writer };
    } catch (error) {
      session?.abort();
      await writer.abort();
      throw error;
    }
  }
}
