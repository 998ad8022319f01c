import type { Kysely } from 'kysely';
import type { SampleFingerprint } from '../../../ports/samples.js';
import { eachLimited } from '../../../shared/each-limited.js';
import { blobFilePool } from '../crypto/blob-file-pool.js';
import { openBlobPlaintext, type SealedBlobs } from '../sample-copy.js';
import type { VaultTables } from '../vault-tables.js';
import { fingerprintPool } from './fingerprint-pool.js';

/** Samples read per batch, and at once: a blob-file worker each keeps the cores busy. */
const BATCH = 32;
const AT_ONCE = 2;

export interface FingerprintBackfillProgress {
  /** Samples fingerprinted by this run. */
  readonly done: number;
  /** Samples still without a fingerprint when last counted. */
  readonly pending: number;
  readonly running: boolean;
}

export interface FingerprintBackfillOptions {
  readonly db: Kysely<VaultTables>;
  readonly sealed: SealedBlobs;
  /** After each batch, and when the run ends. */
  readonly onProgress?: (progress: FingerprintBackfillProgress) => void;
  /** A sample's row was given its fingerprint (the indexes over `samples` follow it). */
  readonly onRecorded?: (sha256: string) => void;
  /** A failure that stopped the run (the next `start` or `nudge` resumes it). */
  readonly onError?: (error: unknown) => void;
}

/**
 * Gives the samples stored without fuzzy hashes and file type (before fingerprints existed,
 * or copied from another site) theirs, in the background: each blob read once, decrypted
 * and hashed on the worker threads. Its state is the table itself (a null `file_type` is a
 * sample still to do), so a run stopped anywhere, even by `kill -9`, resumes where it was.
 *
 * @example
 * const backfill = vault.fingerprintBackfill({ onProgress: (p) => log.info(p) });
 * backfill.start();
 * await backfill.stop();
 */
export class FingerprintBackfill {
  readonly #o: FingerprintBackfillOptions;
  #run: Promise<void> | undefined;
  #again = false;
  /** Started and not stopped: only then does a nudge run it (the serving process's job). */
  #active = false;
  #stopping = false;
  #done = 0;
  #pending = 0;

  constructor(options: FingerprintBackfillOptions) {
    this.#o = options;
  }

  /** Starts a run unless one is going; a sample stored meanwhile without fingerprint is taken too. */
  start(): void {
    this.#active = true;
    this.#stopping = false;
    this.nudge();
  }

  /** There may be new samples to fingerprint (a copy from another site landed). */
  nudge(): void {
    if (!this.#active || this.#stopping) return;
    if (this.#run !== undefined) {
      this.#again = true;
      return;
    }
    this.#run = this.#runUntilDone().finally(() => {
      this.#run = undefined;
    });
  }

  progress(): FingerprintBackfillProgress {
    return { done: this.#done, pending: this.#pending, running: this.#run !== undefined };
  }

  /** Ends the run after the samples in hand (their rows are written first). */
  async stop(): Promise<void> {
    this.#active = false;
    this.#stopping = true;
    await this.#run;
  }

  async #runUntilDone(): Promise<void> {
    try {
      do {
        this.#again = false;
        await this.#pass();
      } while (this.#again && !this.#stopping);
    } catch (error) {
      this.#o.onError?.(error);
    } finally {
      this.#o.onProgress?.(this.progress());
    }
  }

  /** One pass over the samples without a fingerprint, in SHA-256 order. */
  async #pass(): Promise<void> {
    this.#pending = await this.#countPending();
    let after = '';
    while (!this.#stopping) {
      const batch = await this.#o.db
        .selectFrom('samples')
        .select('sha256')
        .where('file_type', 'is', null)
        .where('sha256', '>', after)
        .orderBy('sha256')
        .limit(BATCH)
        .execute();
      if (batch.length === 0) return;
      await eachLimited(batch, AT_ONCE, async ({ sha256 }) => {
        if (this.#stopping) return;
        try {
          const fingerprint = await this.#fingerprintOf(sha256);
          // A blob gone (its sample removed meanwhile) or damaged (the residency audit's
          // finding) leaves nothing to write; the next run tries it again.
          if (fingerprint !== undefined) await this.#record(sha256, fingerprint);
        } catch (error) {
          this.#o.onError?.(error);
        }
      });
      after = batch.at(-1)!.sha256;
      this.#pending = await this.#countPending();
      this.#o.onProgress?.({ done: this.#done, pending: this.#pending, running: true });
    }
  }

  async #record(sha256: string, fingerprint: SampleFingerprint): Promise<void> {
    const updated = await this.#o.db
      .updateTable('samples')
      .set({ ssdeep: fingerprint.ssdeep, tlsh: fingerprint.tlsh, file_type: fingerprint.fileType })
      .where('sha256', '=', sha256)
      .where('file_type', 'is', null)
      .executeTakeFirst();
    if (updated.numUpdatedRows > 0n) {
      this.#done += 1;
      this.#o.onRecorded?.(sha256);
    }
  }

  async #fingerprintOf(sha256: string): Promise<SampleFingerprint | undefined> {
    const { sealed } = this.#o;
    if (!(await sealed.blobs.has(sha256))) return undefined;
    const masterKey = await sealed.openingKey(sha256);
    const files = sealed.blobs.localFiles;
    if (files !== undefined) {
      // Read, decrypted and hashed on a blob-file worker: the plaintext never reaches this thread.
      return blobFilePool().fingerprint({ path: files.pathOf(sha256), masterKey });
    }
    // Any other store streams here; the hashing still runs on a fingerprint worker.
    const session = fingerprintPool().start();
    try {
      for await (const chunk of await openBlobPlaintext(sealed, sha256)) {
        await session.write(chunk as Buffer);
      }
    } catch (error) {
      session.abort();
      throw error;
    }
    return session.finish();
  }

  async #countPending(): Promise<number> {
    const row = await this.#o.db
      .selectFrom('samples')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('file_type', 'is', null)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
}
