import type { Kysely } from 'kysely';
import type { Actor } from '../../ports/audit-sink.js';
import { decodeCursor, pageOf } from '../../shared/cursor.js';
import { RelocationError } from './relocation-errors.js';
import type { RelocationPlan } from './relocation-plan.js';
import type { Item } from './relocation-steps.js';
import type { ItemStep, RelocationState, RelocationsTable, RelocationTables } from './relocation-tables.js';

const ACTIVE: readonly RelocationState[] = ['running', 'paused', 'cancelling', 'failed'];
const FINISHED_STEPS: ItemStep[] = ['done', 'rolledback', 'skipped'];
const MAX_ERRORS_KEPT = 20;

/** One relocation's planned counts per installation, with its step (for its status). */
export type ItemTally = Pick<Item, 'step' | 'submissions' | 'samples' | 'bytes' | 'events'>;

/**
 * The relocations and their items as journaled in the control plane (`relocations`,
 * `relocation_items`): what a job resumes from after a restart.
 */
export class RelocationJournal {
  readonly #db: Kysely<RelocationTables>;

  constructor(db: Kysely<RelocationTables>) {
    this.#db = db;
  }

  /** The relocation not yet finished, if any (at most one at a time). */
  async active(): Promise<string | undefined> {
    const row = await this.#db
      .selectFrom('relocations')
      .select('id')
      .where('state', 'in', ACTIVE)
      .executeTakeFirst();
    return row?.id;
  }

  /** Journals a new relocation, `running`, and its plan's moves in batches of `batchSize`, atomically. */
  async create(
    id: string,
    plan: RelocationPlan,
    settings: { readonly batchSize: number; readonly rateLimitMbps: number },
    actor: Actor,
    time: string,
  ): Promise<void> {
    const { batchSize } = settings;
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .insertInto('relocations')
        .values({
          id,
          state: 'running',
          created_at: time,
          updated_at: time,
          finished_at: null,
          actor: JSON.stringify(actor),
          policy_version: plan.policyVersion,
          batch_size: batchSize,
          rate_limit_mbps: settings.rateLimitMbps,
          errors: '[]',
        })
        .execute();
      let batch = 0;
      for (const group of plan.groups) {
        for (let i = 0; i < group.moves.length; i += batchSize) {
          batch += 1;
          for (const move of group.moves.slice(i, i + batchSize)) {
            await trx
              .insertInto('relocation_items')
              .values({
                relocation_id: id,
                installation_id: move.installationId,
                source: move.source,
                target: move.target,
                batch,
                step: 'pending',
                submissions: move.submissions,
                samples: move.samples,
                bytes: move.bytes,
                events: move.events,
                updated_at: time,
              })
              .execute();
          }
        }
      }
    });
  }

  async row(id: string): Promise<RelocationsTable> {
    const row = await this.#db.selectFrom('relocations').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) throw new RelocationError('RELOCATION_NOT_FOUND', 'no relocation with that id');
    return row;
  }

  tallies(id: string): Promise<ItemTally[]> {
    return this.#db
      .selectFrom('relocation_items')
      .select(['step', 'submissions', 'samples', 'bytes', 'events'])
      .where('relocation_id', '=', id)
      .execute();
  }

  /** One page of relocation ids, newest first, and the cursor of the next page. */
  async page(options: {
    limit?: number | undefined;
    cursor?: string | undefined;
  }): Promise<{ ids: string[]; next: string | null }> {
    let query = this.#db.selectFrom('relocations').select(['id', 'created_at']);
    if (options.cursor !== undefined) {
      const [created, id] = decodeCursor(options.cursor, 2);
      query = query.where((eb) =>
        eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(created ?? '', id ?? '')),
      );
    }
    const limit = options.limit ?? 100;
    const rows = await query
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(limit + 1)
      .execute();
    const page = pageOf(rows, limit, (row) => [row.created_at, row.id]);
    return { ids: page.rows.map((r) => r.id), next: page.next };
  }

  /** The ids of the relocations in these states. */
  async inState(states: readonly RelocationState[]): Promise<string[]> {
    const rows = await this.#db.selectFrom('relocations').select('id').where('state', 'in', states).execute();
    return rows.map((r) => r.id);
  }

  /** The unfinished items of the first batch with any (after batch `after`, if given). */
  async nextBatch(id: string, after = -1): Promise<Item[]> {
    const next = await this.#db
      .selectFrom('relocation_items')
      .select('batch')
      .where('relocation_id', '=', id)
      .where('batch', '>', after)
      .where('step', 'not in', FINISHED_STEPS)
      .orderBy('batch')
      .executeTakeFirst();
    if (next === undefined) return [];
    return this.#db
      .selectFrom('relocation_items')
      .select([
        'installation_id',
        'source',
        'target',
        'batch',
        'step',
        'submissions',
        'samples',
        'bytes',
        'events',
      ])
      .where('relocation_id', '=', id)
      .where('batch', '=', next.batch)
      .where('step', 'not in', FINISHED_STEPS)
      .execute();
  }

  async setState(id: string, state: RelocationState, time: string): Promise<void> {
    await this.#db.updateTable('relocations').set({ state, updated_at: time }).where('id', '=', id).execute();
  }

  async finish(id: string, state: 'done' | 'cancelled', time: string): Promise<void> {
    await this.#db
      .updateTable('relocations')
      .set({ state, updated_at: time, finished_at: time })
      .where('id', '=', id)
      .execute();
  }

  /** Keeps the error (the last few) and marks the job failed, unless it is being cancelled. */
  async recordFailure(id: string, message: string, time: string): Promise<void> {
    const row = await this.row(id);
    const errors = [...(JSON.parse(row.errors) as string[]), `${time} ${message}`];
    await this.#db
      .updateTable('relocations')
      .set({
        state: row.state === 'cancelling' ? 'cancelling' : 'failed',
        updated_at: time,
        errors: JSON.stringify(errors.slice(-MAX_ERRORS_KEPT)),
      })
      .where('id', '=', id)
      .execute();
  }
}
