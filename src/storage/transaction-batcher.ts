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

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.#maxBatch);
      try {
        const results = await this.#db.transaction().execute(async (trx) => {
          const out: unknown[] = [];
          for (const item of batch) out.push(await item.work(trx));
          return out;
        });
        await this.#durable();
        batch.forEach((item, i) => {
          item.resolve(results[i]);
        });
      } catch {
        for (const item of batch) {
          await this.#db
            .transaction()
            .execute((trx) => item.work(trx))
            .then(async (result) => {
              await this.#durable();
              item.resolve(result);
            }, item.reject);
        }
      }
    }
    this.#running = undefined;
  }
}
