/**
 * Mutual exclusion per key within one process: `run(key, work)` waits for every earlier
 * `run` on the same key. Used where two writers of one content-addressed blob (an upload
 * and a purge) must not interleave their check-then-act steps.
 *
 * @example
 * await locks.run(sha256, async () => { ... });
 */
export class KeyedLock {
  readonly #tails = new Map<string, Promise<unknown>>();

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.catch(() => undefined);
    this.#tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
