import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Actor, AuditSink } from '../ledger/audit-sink.js';
import type { PolicyService } from '../residency/policy-service.js';
import type { ResidencyTables } from '../residency/residency-tables.js';
import { decodeCursor, pageOf } from '../shared/cursor.js';
import type { SiteClient } from '../site/site-client.js';
import { tablesOf } from '../storage/narrow.js';
import {
  type BatchContext,
  completeBatch,
  copyBatch,
  type Item,
  relocateBatch,
  rollBackBatch,
} from './relocation-batch.js';
import { RelocationError } from './relocation-errors.js';
import { planRelocation, type RelocationPlan } from './relocation-plan.js';
import type { ItemStep, RelocationState, RelocationTables } from './relocation-tables.js';
import { Throttle } from './throttle.js';
import type { WriteGate } from './write-gate.js';

const ACTIVE: readonly RelocationState[] = ['running', 'paused', 'cancelling', 'failed'];
const FINISHED_STEPS = ['done', 'rolledback', 'skipped'];
const MAX_ERRORS_KEPT = 20;

export interface RelocationSettings {
  /** Installations per batch (one freeze, one switch, one purge, one set of log entries). */
  readonly batchSize: number;
  /** Plaintext bytes copied per second, in MB (10^6 B); 0 for no limit. */
  readonly rateLimitMbps: number;
}

export interface Progress {
  readonly done: number;
  readonly total: number;
}

export interface RelocationStatus {
  readonly id: string;
  readonly state: RelocationState;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  readonly policyVersion: number;
  readonly batchSize: number;
  readonly rateLimitMbps: number;
  readonly installations: Progress & { readonly skipped: number; readonly rolledBack: number };
  /** Submissions, samples and events. */
  readonly records: Progress;
  readonly bytes: Progress;
  /** Plaintext bytes per second copied by this process since the job last (re)started. */
  readonly rateBytesPerSecond: number;
  readonly etaSeconds: number | null;
  readonly errors: string[];
}

export interface RelocationServiceOptions {
  readonly db: Kysely<RelocationTables & ResidencyTables>;
  readonly policy: PolicyService;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly gate: WriteGate;
  readonly audit: AuditSink;
  readonly now: () => Date;
  readonly defaults: RelocationSettings;
  /** False in one-shot processes (the CLI): only the serving process runs relocations. */
  readonly canRun: boolean;
  readonly onBackgroundError?: (error: unknown, context: string) => void;
}

interface Running {
  readonly id: string;
  readonly done: Promise<void>;
  readonly startedAt: number;
  bytes: number;
}

/**
 * Moves installations' stored records to the site the policy in force assigns them, as a
 * durable background job journaled in the control plane (`relocations`, `relocation_items`).
 * The job survives restarts: the serving process resumes it at start.
 *
 * @example
 * const plan = await relocations.plan();
 * const { id } = await relocations.start({ batchSize: 50, rateLimitMbps: 0 }, actor);
 */
export class RelocationService {
  readonly #o: RelocationServiceOptions;
  #running: Running | undefined;
  #closed = false;

  constructor(options: RelocationServiceOptions) {
    this.#o = options;
  }

  plan(): Promise<RelocationPlan> {
    return planRelocation({
      db: tablesOf<ResidencyTables>(this.#o.db),
      policy: this.#o.policy,
      sites: this.#o.sites,
      now: this.#o.now(),
    });
  }

  async start(settings: Partial<RelocationSettings>, actor: Actor): Promise<RelocationStatus> {
    this.#assertCanRun();
    const batchSize = settings.batchSize ?? this.#o.defaults.batchSize;
    const rateLimitMbps = settings.rateLimitMbps ?? this.#o.defaults.rateLimitMbps;
    const active = await this.#o.db
      .selectFrom('relocations')
      .select('id')
      .where('state', 'in', ACTIVE)
      .executeTakeFirst();
    if (active !== undefined) {
      throw new RelocationError('RELOCATION_ACTIVE', `relocation ${active.id} is not finished`, {
        details: { relocation: active.id },
      });
    }
    const plan = await this.plan();
    const id = randomUUID();
    const time = this.#o.now().toISOString();
    await this.#o.db.transaction().execute(async (trx) => {
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
          rate_limit_mbps: rateLimitMbps,
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
    await this.#o.audit.append({
      type: 'relocation.started',
      time,
      actor,
      relocation: id,
      policyVersion: plan.policyVersion,
      installations: plan.installations,
      routes: plan.groups.map((g) => ({
        source: g.source,
        target: g.target,
        installations: g.installations,
      })),
    });
    this.#launch(id);
    return this.get(id);
  }

  async get(id: string): Promise<RelocationStatus> {
    const row = await this.#row(id);
    const items = await this.#o.db
      .selectFrom('relocation_items')
      .select(['step', 'submissions', 'samples', 'bytes', 'events'])
      .where('relocation_id', '=', id)
      .execute();
    const tally = (
      which: readonly { submissions: number; samples: number; bytes: number; events: number }[],
    ) => ({
      records: which.reduce((s, i) => s + i.submissions + i.samples + i.events, 0),
      bytes: which.reduce((s, i) => s + i.bytes, 0),
    });
    const counted = items.filter((i) => i.step !== 'skipped' && i.step !== 'rolledback');
    const finished = tally(counted.filter((i) => i.step === 'done'));
    const total = tally(counted);
    const running = this.#running?.id === id ? this.#running : undefined;
    const elapsed = running === undefined ? 0 : (Date.now() - running.startedAt) / 1000;
    const rate = running === undefined || elapsed <= 0 ? 0 : running.bytes / elapsed;
    const inFlight = Math.min(running?.bytes ?? 0, total.bytes - finished.bytes);
    const remaining = total.bytes - finished.bytes - Math.max(0, inFlight);
    return {
      id: row.id,
      state: row.state,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      finishedAt: row.finished_at,
      policyVersion: row.policy_version,
      batchSize: row.batch_size,
      rateLimitMbps: row.rate_limit_mbps,
      installations: {
        done: counted.filter((i) => i.step === 'done').length,
        total: counted.length,
        skipped: items.filter((i) => i.step === 'skipped').length,
        rolledBack: items.filter((i) => i.step === 'rolledback').length,
      },
      records: { done: finished.records, total: total.records },
      bytes: { done: finished.bytes, total: total.bytes },
      rateBytesPerSecond: Math.round(rate),
      etaSeconds: row.state !== 'running' ? null : rate > 0 ? Math.ceil(remaining / rate) : null,
      errors: JSON.parse(row.errors) as string[],
    };
  }

  /** One page of relocations, newest first, and the cursor of the next page. */
  async list(
    options: { limit?: number | undefined; cursor?: string | undefined } = {},
  ): Promise<{ relocations: RelocationStatus[]; next: string | null }> {
    let query = this.#o.db.selectFrom('relocations').select(['id', 'created_at']);
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
    return { relocations: await Promise.all(page.rows.map((r) => this.get(r.id))), next: page.next };
  }

  async pause(id: string): Promise<RelocationStatus> {
    await this.#transition(id, ['running'], 'paused');
    return this.get(id);
  }

  async resume(id: string): Promise<RelocationStatus> {
    this.#assertCanRun();
    await this.#transition(id, ['paused', 'failed', 'running'], 'running');
    this.#launch(id);
    return this.get(id);
  }

  /**
   * Stops the job: the batch in progress is finished if its registry switch happened, rolled
   * back at the target otherwise; installations not reached stay at their source.
   */
  async cancel(id: string): Promise<RelocationStatus> {
    this.#assertCanRun();
    await this.#transition(id, ['running', 'paused', 'failed', 'cancelling'], 'cancelling');
    this.#launch(id);
    while (this.#running?.id === id) await this.#running.done;
    return this.get(id);
  }

  /** Resumes the jobs a stop or a crash interrupted (the serving process calls it at start). */
  async resumeInterrupted(): Promise<void> {
    const rows = await this.#o.db
      .selectFrom('relocations')
      .select('id')
      .where('state', 'in', ['running', 'cancelling'])
      .execute();
    for (const row of rows) this.#launch(row.id);
  }

  /** Waits for the job of this process to stop between installations (a restart resumes it). */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#running?.done;
  }

  /** Resolves once the job that runs in this process (if any) has stopped. */
  async settled(): Promise<void> {
    while (this.#running !== undefined) await this.#running.done;
  }

  #launch(id: string): void {
    if (this.#closed) return;
    if (this.#running !== undefined) {
      // The drive may be past its last state check: look again once it has stopped.
      if (this.#running.id === id) this.#relaunch = true;
      return;
    }
    const running: Running = { id, startedAt: Date.now(), bytes: 0, done: Promise.resolve() };
    this.#running = running;
    (running as { done: Promise<void> }).done = this.#drive(running)
      .catch(async (error: unknown) => {
        this.#o.onBackgroundError?.(error, `relocation ${id}`);
        await this.#fail(id, error).catch(() => undefined);
      })
      .finally(() => {
        if (this.#running === running) this.#running = undefined;
        if (this.#relaunch) {
          this.#relaunch = false;
          this.#launch(id);
        }
      });
  }

  async #drive(running: Running): Promise<void> {
    const row = await this.#row(running.id);
    const ctx: BatchContext = {
      relocationId: running.id,
      db: this.#o.db,
      sites: this.#o.sites,
      gate: this.#o.gate,
      controlAudit: this.#o.audit,
      actor: JSON.parse(row.actor) as Actor,
      throttle: new Throttle(row.rate_limit_mbps * 1e6),
      now: this.#o.now,
      onBytes: (n) => {
        running.bytes += n;
      },
      shouldStop: () => this.#closed || this.#stopWanted,
    };
    // The next batch's copy, run while this one completes (freeze, switch, purge, log leave
    // the cores idle). It journals nothing a later step relies on; it always settles before
    // anything else touches its batch (a rollback, a completion) or the job returns.
    let ahead: { readonly batch: number; readonly copied: Promise<boolean> } | undefined;
    const settleAhead = async () => {
      await ahead?.copied.catch(() => undefined);
      ahead = undefined;
    };
    try {
      for (;;) {
        const state = (await this.#row(running.id)).state;
        if (state !== 'running' || this.#closed) await settleAhead();
        this.#stopWanted = false;
        const items = await this.#nextBatch(running.id);
        if (state === 'cancelling') {
          if (items.length > 0) {
            await rollBackOrFinish(ctx, items);
            continue;
          }
          await this.#finish(running.id, 'cancelled', ctx.actor);
          return;
        }
        if (state !== 'running' || this.#closed) return;
        if (items.length === 0) {
          await this.#finish(running.id, 'done', ctx.actor);
          return;
        }
        const batch = items[0]!.batch;
        let copied: boolean;
        if (ahead?.batch === batch) {
          copied = await ahead.copied;
          ahead = undefined;
        } else {
          await settleAhead();
          copied = await copyBatch(ctx, items);
        }
        if (!copied) continue;
        const following = await this.#nextBatch(running.id, batch);
        const sameRoute =
          following[0] !== undefined &&
          following[0].source === items[0]!.source &&
          following[0].target === items[0]!.target;
        await completeBatch(ctx, items, () => {
          if (!sameRoute) return;
          const copying = copyBatch(ctx, following, { ahead: true });
          copying.catch(() => undefined);
          ahead = { batch: following[0]!.batch, copied: copying };
        });
      }
    } finally {
      await settleAhead();
    }
  }

  #stopWanted = false;
  #relaunch = false;

  /** The unfinished items of the first batch with any (after batch `after`, if given). */
  async #nextBatch(id: string, after = -1): Promise<Item[]> {
    const next = await this.#o.db
      .selectFrom('relocation_items')
      .select('batch')
      .where('relocation_id', '=', id)
      .where('batch', '>', after)
      .where('step', 'not in', FINISHED_STEPS as ItemStepList)
      .orderBy('batch')
      .executeTakeFirst();
    if (next === undefined) return [];
    return this.#o.db
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
      .where('step', 'not in', FINISHED_STEPS as ItemStepList)
      .execute();
  }

  async #transition(id: string, from: readonly RelocationState[], to: RelocationState): Promise<void> {
    const row = await this.#row(id);
    if (!from.includes(row.state)) {
      throw new RelocationError(
        'RELOCATION_STATE',
        `relocation ${id} is ${row.state}; cannot make it ${to}`,
        {
          details: { state: row.state },
        },
      );
    }
    await this.#o.db
      .updateTable('relocations')
      .set({ state: to, updated_at: this.#o.now().toISOString() })
      .where('id', '=', id)
      .execute();
    if (this.#running?.id === id && to !== 'running') this.#stopWanted = true;
  }

  async #finish(id: string, state: 'done' | 'cancelled', actor: Actor): Promise<void> {
    const time = this.#o.now().toISOString();
    await this.#o.db
      .updateTable('relocations')
      .set({ state, updated_at: time, finished_at: time })
      .where('id', '=', id)
      .execute();
    const status = await this.get(id);
    await this.#o.audit.append({
      type: 'relocation.finished',
      time,
      actor,
      relocation: id,
      state,
      installations: status.installations.done,
      rolledBack: status.installations.rolledBack,
      skipped: status.installations.skipped,
      bytes: status.bytes.done,
    });
  }

  async #fail(id: string, error: unknown): Promise<void> {
    const row = await this.#row(id);
    const errors = [
      ...(JSON.parse(row.errors) as string[]),
      `${this.#o.now().toISOString()} ${messageOf(error)}`,
    ];
    await this.#o.db
      .updateTable('relocations')
      .set({
        state: row.state === 'cancelling' ? 'cancelling' : 'failed',
        updated_at: this.#o.now().toISOString(),
        errors: JSON.stringify(errors.slice(-MAX_ERRORS_KEPT)),
      })
      .where('id', '=', id)
      .execute();
  }

  async #row(id: string) {
    const row = await this.#o.db
      .selectFrom('relocations')
      .selectAll()
      .where('id', '=', id)
      .executeTakeFirst();
    if (row === undefined) throw new RelocationError('RELOCATION_NOT_FOUND', 'no relocation with that id');
    return row;
  }

  #assertCanRun(): void {
    if (!this.#o.canRun) {
      throw new RelocationError(
        'RELOCATION_UNAVAILABLE',
        'relocations run in the serving process: use the API of a running server (--url)',
      );
    }
  }
}

type ItemStepList = ItemStep[];

/** A batch met by a cancel: switched items finish (purge, log); the others roll back. */
async function rollBackOrFinish(ctx: BatchContext, items: readonly Item[]): Promise<void> {
  const switched = items.filter((i) => ['switched', 'purged'].includes(i.step));
  if (switched.length > 0) await relocateBatch({ ...ctx, shouldStop: () => false }, switched);
  await rollBackBatch(ctx, items);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
