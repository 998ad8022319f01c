import type { Kysely } from 'kysely';
import type { SampleScanResult } from '../../ports/site-client.js';
import { CursorError, decodeCursor, pageOf } from '../../shared/cursor.js';
import { HuntError } from '../../shared/hunt-errors.js';
import type { HuntSitesTable, HuntState, HuntsTable, HuntTables } from './hunt-tables.js';

export interface HuntMatch {
  readonly sha256: string;
  readonly site: string;
  readonly rules: string[];
  readonly foundAt: string;
}

/**
 * The hunts' tables: a hunt, its cursor and tallies at each site, its matches. A batch's
 * matches and the cursor past it commit in one transaction, so a restart resumes exactly
 * after the last batch recorded (a batch cut short by a crash is scanned again, and its
 * matches, unique per sample, are not counted twice).
 */
export class HuntStore {
  readonly #db: Kysely<HuntTables>;

  constructor(db: Kysely<HuntTables>) {
    this.#db = db;
  }

  async create(hunt: HuntsTable, sites: readonly string[]): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx.insertInto('hunts').values(hunt).execute();
      for (const site of sites) {
        await trx
          .insertInto('hunt_sites')
          .values({
            hunt_id: hunt.id,
            site,
            arrival_cursor: 0,
            reached_end: 0,
            samples: 0,
            skipped: 0,
            bytes: 0,
          })
          .execute();
      }
    });
  }

  /** The hunt; `HUNT_NOT_FOUND` when there is none or it is another token's. */
  async row(id: string, owner?: string): Promise<HuntsTable> {
    const row = await this.#db.selectFrom('hunts').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined || (owner !== undefined && row.owner_token !== owner)) {
      throw new HuntError('HUNT_NOT_FOUND', `no hunt ${id}`);
    }
    return row;
  }

  sites(id: string): Promise<HuntSitesTable[]> {
    return this.#db.selectFrom('hunt_sites').selectAll().where('hunt_id', '=', id).orderBy('site').execute();
  }

  async matchCount(id: string): Promise<number> {
    const row = await this.#db
      .selectFrom('hunt_matches')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('hunt_id', '=', id)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  /** Records a batch at a site: its matches, then the cursor past it, at once. */
  async recordBatch(id: string, site: string, batch: SampleScanResult, time: string): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      for (const match of batch.matches) {
        await trx
          .insertInto('hunt_matches')
          .values({
            id: undefined,
            hunt_id: id,
            site,
            sha256: match.sha256,
            rules: JSON.stringify(match.rules),
            found_at: time,
          })
          .onConflict((c) => c.columns(['hunt_id', 'site', 'sha256']).doNothing())
          .execute();
      }
      await trx
        .updateTable('hunt_sites')
        .set((eb) => ({
          arrival_cursor: batch.next,
          reached_end: batch.end ? 1 : eb.ref('reached_end'),
          samples: eb('samples', '+', batch.scanned),
          skipped: eb('skipped', '+', batch.skipped),
          bytes: eb('bytes', '+', batch.bytes),
        }))
        .where('hunt_id', '=', id)
        .where('site', '=', site)
        .execute();
      await trx.updateTable('hunts').set({ updated_at: time }).where('id', '=', id).execute();
    });
  }

  async update(id: string, values: Partial<Omit<HuntsTable, 'id'>>): Promise<void> {
    await this.#db.updateTable('hunts').set(values).where('id', '=', id).execute();
  }

  /** Sets the values if the hunt is in one of `from`; false (nothing changed) otherwise. */
  async transition(
    id: string,
    from: readonly HuntState[],
    values: Partial<Omit<HuntsTable, 'id'>>,
  ): Promise<boolean> {
    const result = await this.#db
      .updateTable('hunts')
      .set(values)
      .where('id', '=', id)
      .where('state', 'in', from)
      .executeTakeFirst();
    return result.numUpdatedRows > 0n;
  }

  async inStates(states: readonly HuntState[]): Promise<string[]> {
    const rows = await this.#db.selectFrom('hunts').select('id').where('state', 'in', states).execute();
    return rows.map((r) => r.id);
  }

  /** One page of the token's hunts, newest first. */
  async page(
    owner: string,
    options: { limit?: number | undefined; cursor?: string | undefined },
  ): Promise<{ ids: string[]; next: string | null }> {
    const limit = options.limit ?? 100;
    let query = this.#db
      .selectFrom('hunts')
      .select(['id', 'created_at'])
      .where('owner_token', '=', owner)
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1);
    if (options.cursor !== undefined) {
      const [createdAt, id] = decodeCursor(options.cursor, 2) as [string, string];
      query = query.where((eb) =>
        eb.or([
          eb('created_at', '<', createdAt),
          eb.and([eb('created_at', '=', createdAt), eb('id', '<', id)]),
        ]),
      );
    }
    const page = pageOf(await query.execute(), limit, (r) => [r.created_at, r.id]);
    return { ids: page.rows.map((r) => r.id), next: page.next };
  }

  /** One page of the hunt's matches at the given sites, in the order they were found. */
  async matches(
    id: string,
    sites: readonly string[],
    options: { limit?: number | undefined; cursor?: string | undefined },
  ): Promise<{ matches: HuntMatch[]; next: string | null }> {
    const limit = options.limit ?? 100;
    if (sites.length === 0) return { matches: [], next: null };
    let query = this.#db
      .selectFrom('hunt_matches')
      .selectAll()
      .where('hunt_id', '=', id)
      .where('site', 'in', sites)
      .orderBy('id')
      .limit(limit + 1);
    if (options.cursor !== undefined) {
      const [after] = decodeCursor(options.cursor, 1) as [string];
      if (!/^\d{1,15}$/.test(after))
        throw new CursorError('INVALID_CURSOR', 'cursor: not a cursor this list gave out');
      query = query.where('id', '>', Number(after));
    }
    const page = pageOf(await query.execute(), limit, (r) => [String(r.id)]);
    return {
      matches: page.rows.map((r) => ({
        sha256: r.sha256,
        site: r.site,
        rules: JSON.parse(r.rules) as string[],
        foundAt: r.found_at,
      })),
      next: page.next,
    };
  }
}
