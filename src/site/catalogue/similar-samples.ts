import type { Kysely } from 'kysely';
import type { SimilarQuery, SimilarSample } from '../../ports/catalogue.js';
import { CatalogueError } from '../../shared/catalogue-errors.js';
import type { VaultTables } from '../vault/vault-tables.js';
import { ssdeepScore } from './ssdeep-score.js';
import { parseTlsh, tlshDistance } from './tlsh-distance.js';
import { TlshIndex } from './tlsh-index.js';

/** Rows read at once while the index loads, and SHA-256s per `IN (…)`. */
const LOAD_PAGE = 10_000;
const KEYS_PER_QUERY = 500;

export interface SimilarSamplesOptions {
  readonly site: string;
  readonly db: Kysely<VaultTables>;
}

/**
 * The site's samples by TLSH similarity: an in-memory {@link TlshIndex} over the vault's
 * `samples.tlsh`, loaded from the table on first use (or at start, {@link load}) and kept up
 * to date by {@link refresh}, which the vault calls with every sample it stores, removes or
 * gives a digest. A query reads its answers' rows back, so a sample whose row is gone (erased,
 * relocated away, even by another process) is never answered.
 */
export class SimilarSamples {
  readonly #o: SimilarSamplesOptions;
  readonly #index = new TlshIndex();
  /** The load from the table; cleared when it fails, so that the next use tries again. */
  #loading: Promise<void> | undefined;
  /** Refreshes, one after another and after the load: none races the load or another. */
  #refreshes: Promise<void> = Promise.resolve();

  constructor(options: SimilarSamplesOptions) {
    this.#o = options;
  }

  /** Starts loading the index from the table (once); resolves when it is loaded. */
  load(): Promise<void> {
    this.#loading ??= this.#loadAll().catch((error: unknown) => {
      this.#loading = undefined;
      throw error;
    });
    return this.#loading;
  }

  /** Samples and bytes the index holds (for the benchmark and the docs' memory figure). */
  stats(): { samples: number; bytes: number } {
    return { samples: this.#index.size, bytes: this.#index.bytes() };
  }

  /**
   * Reads the samples' rows again and makes the index agree: added with their digest, or
   * removed when the row is gone or has none. Before the index is loaded there is nothing to
   * do (the load reads the table).
   */
  refresh(sha256s: readonly string[]): Promise<void> {
    const loading = this.#loading;
    if (loading === undefined || sha256s.length === 0) return Promise.resolve();
    const done = this.#refreshes.then(() => loading).then(() => this.#reread(sha256s));
    // A failed refresh must not wedge the next ones; the query reads its answers back anyway.
    this.#refreshes = done.catch(() => undefined);
    return done;
  }

  /**
   * The samples nearest the digest, nearest first, within `maxDistance`.
   *
   * @example
   * await similar.query({ tlsh: 'T1…', maxDistance: 100, limit: 10 }); // [{ sha256, distance, … }]
   */
  async query(query: SimilarQuery): Promise<SimilarSample[]> {
    const digest = parseTlsh(query.tlsh);
    if (digest === undefined) {
      throw new CatalogueError('INVALID_TLSH', 'not a TLSH digest (T1 and 70 hex digits)');
    }
    await this.load();
    // What the vault changed before this query is in the index (read-your-writes).
    await this.#refreshes;
    // Answers whose row changed behind the index's back are refreshed and the query repeated.
    for (;;) {
      const found = this.#index.nearest(digest, {
        maxDistance: query.maxDistance,
        limit: query.limit,
        ...(query.exclude === undefined ? {} : { exclude: query.exclude }),
      });
      const rows = new Map((await this.#rows(found.map((f) => f.sha256))).map((r) => [r.sha256, r]));
      const changed = found.filter((f) => {
        const tlsh = rows.get(f.sha256)?.tlsh;
        const stored = tlsh === undefined || tlsh === null ? undefined : parseTlsh(tlsh);
        return stored === undefined || tlshDistance(digest, stored) !== f.distance;
      });
      if (changed.length > 0) {
        await this.refresh(changed.map((f) => f.sha256));
        continue;
      }
      return found.map((f) => {
        const row = rows.get(f.sha256)!;
        const score =
          query.ssdeep === undefined || row.ssdeep === null
            ? undefined
            : ssdeepScore(query.ssdeep, row.ssdeep);
        return {
          sha256: row.sha256,
          sha1: row.sha1,
          md5: row.md5,
          sha512: row.sha512,
          size: row.size,
          tlsh: row.tlsh!,
          ssdeep: row.ssdeep,
          site: this.#o.site,
          distance: f.distance,
          ssdeepScore: score ?? null,
        };
      });
    }
  }

  async #loadAll(): Promise<void> {
    let after = '';
    for (;;) {
      const rows = await this.#o.db
        .selectFrom('samples')
        .select(['sha256', 'tlsh'])
        .where('tlsh', 'is not', null)
        .where('sha256', '>', after)
        .orderBy('sha256')
        .limit(LOAD_PAGE)
        .execute();
      for (const row of rows) this.#apply(row.sha256, row.tlsh);
      if (rows.length < LOAD_PAGE) return;
      after = rows.at(-1)!.sha256;
    }
  }

  async #reread(sha256s: readonly string[]): Promise<void> {
    const rows = new Map((await this.#rows(sha256s)).map((r) => [r.sha256, r.tlsh]));
    for (const sha256 of sha256s) this.#apply(sha256, rows.get(sha256) ?? null);
  }

  #apply(sha256: string, tlsh: string | null): void {
    const digest = tlsh === null ? undefined : parseTlsh(tlsh);
    if (digest === undefined) this.#index.delete(sha256);
    else this.#index.set(sha256, digest);
  }

  async #rows(sha256s: readonly string[]) {
    const rows = [];
    for (let i = 0; i < sha256s.length; i += KEYS_PER_QUERY) {
      const slice = sha256s.slice(i, i + KEYS_PER_QUERY);
      rows.push(
        ...(await this.#o.db
          .selectFrom('samples')
          .select(['sha256', 'sha1', 'md5', 'sha512', 'size', 'tlsh', 'ssdeep'])
          .where('sha256', 'in', slice)
          .execute()),
      );
    }
    return rows;
  }
}
