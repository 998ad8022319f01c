import type { Kysely } from 'kysely';
import type { AuthTables } from './auth-tables.js';

/** At most one write per token per this long: every request authenticates. */
export const LAST_USE_RESOLUTION_MS = 60_000;

/**
 * Records when tokens were last used, for access reviews, without a write per request: a
 * token's `last_used_at` is written at its first use and then at most once a minute while
 * it is in use, off the request's path.
 */
export class LastUseRecorder {
  readonly #db: Kysely<AuthTables>;
  readonly #onError: (error: unknown) => void;
  /** Token id → when its last use was written (ms). */
  readonly #written = new Map<string, number>();
  readonly #pending = new Set<Promise<void>>();

  constructor(db: Kysely<AuthTables>, onError: (error: unknown) => void) {
    this.#db = db;
    this.#onError = onError;
  }

  /** Notes a use at `now`; writes it unless one was written within the last minute. */
  used(tokenId: string, now: Date): void {
    const at = now.getTime();
    const last = this.#written.get(tokenId);
    if (last !== undefined && at - last < LAST_USE_RESOLUTION_MS) return;
    this.#written.set(tokenId, at);
    const write = this.#db
      .updateTable('tokens')
      .set({ last_used_at: now.toISOString() })
      .where('id', '=', tokenId)
      .execute()
      .then(
        () => undefined,
        (error: unknown) => this.#onError(error),
      );
    this.#pending.add(write);
    void write.finally(() => this.#pending.delete(write));
  }

  /** Resolves once every write begun so far is done (before the store closes). */
  async flush(): Promise<void> {
    await Promise.all(this.#pending);
  }
}
