/** A mutating call's answer, kept to answer a repeat of the call the same way. */
export interface RememberedAnswer {
  readonly status: number;
  readonly body: unknown;
}

interface Entry {
  readonly answer: Promise<RememberedAnswer>;
  readonly at: number;
}

export interface IdempotencyCacheOptions {
  /** How many keys are kept; the oldest goes first. */
  readonly capacity?: number;
  /** How long a key is kept. */
  readonly ttlMs?: number;
  readonly now?: () => Date;
}

/**
 * The answers of recent mutating calls by `Idempotency-Key`, so a client that retries a call
 * whose answer it lost gets the first answer instead of a second effect. Held in memory and
 * bounded (10,000 keys, a day): a site restart forgets them, which is acceptable because
 * every call a client retries blindly is idempotent at the site anyway; the keys only spare
 * the repeated work and keep answers such as `new: true` stable.
 *
 * A repeat that arrives while the first call still runs waits for its answer; a call that
 * failed is forgotten, so its retry runs again.
 */
export class IdempotencyCache {
  readonly #entries = new Map<string, Entry>();
  readonly #capacity: number;
  readonly #ttlMs: number;
  readonly #now: () => Date;

  constructor(options: IdempotencyCacheOptions = {}) {
    this.#capacity = options.capacity ?? 10_000;
    this.#ttlMs = options.ttlMs ?? 24 * 60 * 60 * 1000;
    this.#now = options.now ?? (() => new Date());
  }

  /** The remembered answer to `key` if there is one, else `work`'s (remembered when it succeeds). */
  answer(
    key: string,
    work: () => Promise<RememberedAnswer>,
  ): { readonly repeat: boolean; readonly answer: Promise<RememberedAnswer> } {
    const now = this.#now().getTime();
    const known = this.#entries.get(key);
    if (known !== undefined && now - known.at <= this.#ttlMs) return { repeat: true, answer: known.answer };
    const answer = work();
    this.#entries.delete(key);
    this.#entries.set(key, { answer, at: now });
    answer.catch(() => this.#entries.delete(key));
    while (this.#entries.size > this.#capacity) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
    return { repeat: false, answer };
  }

  get size(): number {
    return this.#entries.size;
  }
}
