import type { Kysely, Transaction } from 'kysely';

interface Queued<Tables> {
  readonly work: (trx: Transaction<Tables>) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Group commit for small writes: concurrent callers' work runs in one transaction, so one
 * fsync acknowledges them all instead of one each (the commit, not the work, is what costs:
 * SQLite's driver waits for the disk on the event loop). If a batch fails, each piece of work
 * is retried alone, so one caller's bad write never fails another's.
 *
 * @example
 * const isNew = await batcher.run((trx) => recordSubmission(trx, digests));
 */
export class TransactionBatcher<Tables> {
  readonly #db: Kysely<Tables>;
  readonly #maxBatch: number;
  #queue: Queued<Tables>[] = [];
  #running: Promise<void> | undefined;

  readonly #durable: () => Promise<void>;

  /** `durable` is the store's barrier (`MetadataStore.durable`), awaited before anyone is answered. */
  constructor(db: Kysely<Tables>, durable: () => Promise<void>, maxBatch = 256) {
    this.#db = db;
    this.#durable = durable;
    this.#maxBatch = maxBatch;
  }

  run<T>(work: (trx: Transaction<Tables>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.#running ??= this.#drain();
    });
  }

  /**
   * Several pieces of work queued at once, so that they share a transaction (`run` called in
   * a loop would start the first alone); each outcome once it is durable or failed, in order.
   */
  runAll<T>(
    works: readonly ((trx: Transaction<Tables>) => Promise<T>)[],
  ): Promise<PromiseSettledResult<T>[]> {
    const outcomes = works.map(
      (work) =>
        new Promise<T>((resolve, reject) => {
          this.#queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
        }),
    );
    if (works.length > 0) this.#running ??= this.#drain();
    return Promise.allSettled(outcomes);
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length > 0) await this.#commit(this.#queue.splice(0, this.#maxBatch));
    } finally {
      this.#running = undefined;
    }
  }

  async #commit(batch: readonly Queued<Tables>[]): Promise<void> {
    let results: unknown[];
    try {
      results = await this.#db.transaction().execute(async (trx) => {
        const out: unknown[] = [];
        for (const item of batch) out.push(await item.work(trx));
        return out;
      });
    } catch {
      // One caller's bad write rolled back the batch: retry each alone.
      for (const item of batch) await this.#commitAlone(item);
      return;
    }
    // Committed; only the sync can still fail, and then nobody may be told "done".
    try {
      await this.#durable();
    } catch (error) {
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      item.resolve(results[i]);
    });
  }

  async #commitAlone(item: Queued<Tables>): Promise<void> {
    let result: unknown;
    try {
      result = await this.#db.transaction().execute((trx) => item.work(trx));
    } catch (error) {
      item.reject(error);
      return;
    }
    await this.#durable().then(
      () => item.resolve(result),
      (error: unknown) => item.reject(error),
    );
  }
}
