import type { Kysely, Transaction } from 'kysely';
import type { BlobStore, BlobWriter } from '../../ports/storage.js';
import type { KeyedLock } from '../../shared/keyed-lock.js';
import { TransactionBatcher } from '../../shared/transaction-batcher.js';

/** A sample whose sealed bytes are written (not yet published), and the rows that record it. */
export interface SampleCommit<Tables, T> {
  /** The blob's key: the sample's SHA-256. */
  readonly key: string;
  readonly writer: BlobWriter;
  /**
   * What the rows still wait for (the sample's fingerprint, computed on a worker): awaited
   * while the batch's blobs sync, so that work overlaps the fsyncs instead of preceding them.
   * It should not reject; if it does, only this sample fails.
   */
  readonly ready?: Promise<unknown> | undefined;
  /** Writes the sample's rows in the batch's transaction; runs only once its blob is durable. */
  readonly record: (trx: Transaction<Tables>) => Promise<T>;
}

export interface SampleCommitterOptions<Tables> {
  readonly db: Kysely<Tables>;
  /** The metadata store's durability barrier, awaited before anyone is answered. */
  readonly durable: () => Promise<void>;
  readonly blobs: BlobStore;
  /**
   * The vault's per-sample locks, held from the "blob present?" check until the rows are
   * durable, so a purge never deletes a blob between that check and the row that names it.
   */
  readonly locks: KeyedLock;
  readonly maxBatch?: number;
}

interface Queued<Tables> {
  readonly item: SampleCommit<Tables, unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit of uploads, as the log and the events buffer do it: the samples that finish
 * while a batch commits form the next batch, whose blobs are made durable together (the
 * store shares their syncs: `BlobStore.commitAll`), then whose rows commit in one transaction
 * with one sync of the metadata store; only then is any of them answered. The order inside
 * a batch is the order of one upload: blob durable, then row, then answer, so a crash
 * between them leaves at worst a blob without a row, which `VaultService.recover` removes.
 * A failed blob or row fails only its own upload.
 *
 * @example
 * const isNew = await committer.commit({ key: sha256, writer, record: (trx) => insertRows(trx) });
 */
export class SampleCommitter<Tables> {
  readonly #o: SampleCommitterOptions<Tables>;
  readonly #rows: TransactionBatcher<Tables>;
  readonly #maxBatch: number;
  #queue: Queued<Tables>[] = [];
  #running: Promise<void> | undefined;

  constructor(options: SampleCommitterOptions<Tables>) {
    this.#o = options;
    this.#rows = new TransactionBatcher(options.db, options.durable);
    this.#maxBatch = options.maxBatch ?? 64;
  }

  /** Publishes the blob (or drops it, when the store has it already) and records it; durable when it resolves. */
  commit<T>(item: SampleCommit<Tables, T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ item, resolve: resolve as (value: unknown) => void, reject });
      this.#running ??= this.#drain();
    });
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        const keys = [...new Set(batch.map((queued) => queued.item.key))].sort();
        await lockingAll(this.#o.locks, keys, () => this.#commit(batch)).catch((error: unknown) => {
          // Whoever is not answered yet fails (answered promises ignore a second answer).
          for (const queued of batch) queued.reject(error);
        });
      }
    } finally {
      this.#running = undefined;
    }
  }

  async #commit(batch: readonly Queued<Tables>[]): Promise<void> {
    const [blobs, ready] = await Promise.all([
      this.#publishBlobs(batch),
      Promise.allSettled(batch.map((queued) => queued.item.ready)),
    ]);
    // Each upload's first failure: its blob's, or else what its row waited for.
    const failures = batch.map((_, i) => [blobs[i]!, ready[i]!].find((step) => step.status === 'rejected'));
    const recordable = batch.filter((_, i) => failures[i] === undefined);
    batch.forEach((queued, i) => {
      const failure = failures[i];
      if (failure !== undefined) queued.reject(failure.reason);
    });
    const rows = await this.#rows.runAll(recordable.map((queued) => queued.item.record));
    recordable.forEach((queued, i) => {
      const row = rows[i]!;
      if (row.status === 'fulfilled') queued.resolve(row.value);
      else queued.reject(row.reason);
    });
  }

  /**
   * Each sample's blob durable under its key: one writer per new key is published, every
   * other one (a blob the store holds already, a second upload of the same file in the
   * batch) is dropped and shares the outcome of the blob it would have been.
   */
  async #publishBlobs(batch: readonly Queued<Tables>[]): Promise<PromiseSettledResult<void>[]> {
    const { blobs } = this.#o;
    const held = new Map<string, Promise<boolean>>();
    for (const { item } of batch) if (!held.has(item.key)) held.set(item.key, blobs.has(item.key));
    const publishing = new Map<string, BlobWriter>();
    for (const { item } of batch) {
      if (!publishing.has(item.key) && !(await held.get(item.key))) publishing.set(item.key, item.writer);
    }
    const commits = [...publishing].map(([key, writer]) => ({ key, writer }));
    const published = await blobs.commitAll(commits);
    const outcomeOf = new Map(commits.map((commit, i) => [commit.key, published[i]!]));
    return Promise.all(
      batch.map(async ({ item }): Promise<PromiseSettledResult<void>> => {
        const outcome = outcomeOf.get(item.key) ?? { status: 'fulfilled', value: undefined };
        // The published writers are done with; the others, and any that failed, leave no file.
        if (publishing.get(item.key) !== item.writer || outcome.status === 'rejected') {
          await item.writer.abort().catch(() => undefined);
        }
        return outcome;
      }),
    );
  }
}

/** Runs `work` holding the lock of every key; sorted keys, so two such callers cannot deadlock. */
function lockingAll<T>(locks: KeyedLock, keys: readonly string[], work: () => Promise<T>): Promise<T> {
  return keys.reduceRight<() => Promise<T>>((inner, key) => () => locks.run(key, inner), work)();
}
