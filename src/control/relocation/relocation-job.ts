import type { AuditSink } from '../../ports/audit-sink.js';
import { completeBatch, copyBatch, rollBackOrFinish } from './relocation-batch.js';
import type { RelocationJournal } from './relocation-journal.js';
import type { BatchContext, Item } from './relocation-steps.js';

/** What the job asks of the service that runs it. */
export interface JobControl {
  readonly journal: RelocationJournal;
  readonly audit: AuditSink;
  readonly now: () => Date;
  /** True once the process is closing: the job stops between installations (a restart resumes it). */
  readonly closed: () => boolean;
  /** Forgets a pause or cancel already seen: the job is about to read the state again. */
  readonly clearStop: () => void;
  /** The installations done, rolled back and skipped, and the bytes done, for the final entry. */
  readonly totals: () => Promise<{ done: number; rolledBack: number; skipped: number; bytes: number }>;
}

/**
 * Runs a relocation from its journal until it is done, cancelled, paused or the process
 * closes: batch after batch, copy (see relocation-batch.ts), then gate writes, copy again,
 * verify, switch the registry, purge the source, log both sides; finally the job's own
 * entry. A cancel rolls back the batch that had not switched.
 */
export async function runRelocationJob(ctx: BatchContext, job: JobControl): Promise<void> {
  const copies = new CopyAhead();
  try {
    for (;;) {
      const { state } = await job.journal.row(ctx.relocationId);
      if (state !== 'running' || job.closed()) await copies.settle();
      job.clearStop();
      const items = await job.journal.nextBatch(ctx.relocationId);
      if (state === 'cancelling') {
        if (items.length > 0) {
          await rollBackOrFinish(ctx, items);
          continue;
        }
        await finishJob(ctx, job, 'cancelled');
        return;
      }
      if (state !== 'running' || job.closed()) return;
      if (items.length === 0) {
        await finishJob(ctx, job, 'done');
        return;
      }
      await moveBatch(ctx, job, items, copies);
    }
  } finally {
    await copies.settle();
  }
}

/**
 * One batch: its copy (already running ahead, or now), then its completion, during which
 * the next batch's copy starts when it goes the same way (see `completeBatch`).
 */
async function moveBatch(ctx: BatchContext, job: JobControl, items: readonly Item[], copies: CopyAhead) {
  const batch = items[0]!.batch;
  const copied = (await copies.take(batch)) ?? (await copyBatch(ctx, items));
  if (!copied) return;
  const following = await job.journal.nextBatch(ctx.relocationId, batch);
  const sameRoute =
    following[0] !== undefined &&
    following[0].source === items[0]!.source &&
    following[0].target === items[0]!.target;
  await completeBatch(ctx, items, () => {
    if (sameRoute) copies.start(following[0]!.batch, copyBatch(ctx, following, { ahead: true }));
  });
}

/** Marks the job finished and logs it at the control plane. */
async function finishJob(ctx: BatchContext, job: JobControl, state: 'done' | 'cancelled'): Promise<void> {
  const time = job.now().toISOString();
  await job.journal.finish(ctx.relocationId, state, time);
  const totals = await job.totals();
  await job.audit.append({
    type: 'relocation.finished',
    time,
    actor: ctx.actor,
    relocation: ctx.relocationId,
    state,
    installations: totals.done,
    rolledBack: totals.rolledBack,
    skipped: totals.skipped,
    bytes: totals.bytes,
  });
}

/**
 * The next batch's copy, run while this one completes (freeze, switch, purge, log leave
 * the cores idle). It journals nothing a later step relies on; it always settles before
 * anything else touches its batch (a rollback, a completion) or the job returns.
 */
class CopyAhead {
  #ahead: { readonly batch: number; readonly copied: Promise<boolean> } | undefined;

  start(batch: number, copied: Promise<boolean>): void {
    copied.catch(() => undefined);
    this.#ahead = { batch, copied };
  }

  /** The copy of `batch` if it ran ahead (settling any other first); undefined if none did. */
  async take(batch: number): Promise<boolean | undefined> {
    if (this.#ahead?.batch === batch) {
      const { copied } = this.#ahead;
      this.#ahead = undefined;
      return copied;
    }
    await this.settle();
    return undefined;
  }

  async settle(): Promise<void> {
    await this.#ahead?.copied.catch(() => undefined);
    this.#ahead = undefined;
  }
}
