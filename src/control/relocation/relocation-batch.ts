import type { SiteClient } from '../../ports/site-client.js';
import { eachLimited } from '../../shared/each-limited.js';
import {
  type BatchContext,
  BEFORE_SWITCH,
  copyInstallation,
  dropMovedElsewhere,
  gateWrites,
  type Item,
  logBothSides,
  purgeSource,
  routeOf,
  setStep,
  siteNamed,
  stillAtSource,
  switchRegistry,
  verifyInstallation,
  verifySamples,
} from './relocation-steps.js';
import { CopyStopped } from './throttle.js';

export type { BatchContext, Item };

/** How many installations of a batch are copied at once, and samples verified at once. */
const INSTALLATION_CONCURRENCY = 4;

const beforeSwitch = (item: Item) => BEFORE_SWITCH.includes(item.step);

/**
 * Moves one batch (one source, one target) through its journaled steps: copy (outside the
 * freeze), freeze, copy what changed, verify, switch the registry and journal it in one
 * transaction, thaw, purge the source, log. Every step is idempotent, so a batch resumed
 * after a crash from the step its items last reached ends in the same state.
 *
 * Returns false when it stopped early for a pause or cancel (before any switch).
 */
export async function relocateBatch(ctx: BatchContext, items: readonly Item[]): Promise<boolean> {
  return (await copyBatch(ctx, items)) && (await completeBatch(ctx, items));
}

/**
 * The first step, outside the freeze: copies every installation not yet switched and reads
 * its samples back. Nothing is journaled that a later step relies on, so the job may run it
 * `ahead`, for the next batch while this one completes (see {@link completeBatch}); then it
 * writes nothing but the copies: installations that moved by other means are left out, and
 * marked and purged by their batch's completion. False when it stopped for a pause or cancel.
 */
export async function copyBatch(
  ctx: BatchContext,
  items: readonly Item[],
  options: { readonly ahead?: boolean } = {},
): Promise<boolean> {
  const first = items[0];
  if (first === undefined) return true;
  const { source, target } = routeOf(ctx, first);
  const live =
    options.ahead === true ? await stillAtSource(ctx, items) : await dropMovedElsewhere(ctx, items);
  const before = live.filter(beforeSwitch);
  if (before.length === 0) return true;
  const stopped = await eachLimited(before, INSTALLATION_CONCURRENCY, async (item) => {
    if (ctx.shouldStop()) return false;
    try {
      const { records } = await copyInstallation(ctx, source, target, item.installation_id);
      await verifySamples(
        target,
        records.samples.map((s) => s.sha256),
      );
    } catch (error) {
      if (error instanceof CopyStopped) return false;
      throw error;
    }
    await setStep(ctx, [item.installation_id], 'copied');
    return true;
  });
  return !stopped.includes(false) && !ctx.shouldStop();
}

/**
 * The steps after the copy ({@link copyBatch} must have returned true for these items):
 * freeze, copy what changed, verify, switch, thaw, purge, log. False when a pause or cancel
 * came before the freeze; inside it the batch finishes.
 *
 * `copyAhead` is called once the batch's installations that moved by other means are
 * purged at the target: from then on this batch deletes only at its source, so the job may
 * copy a next batch of the same source and target meanwhile (it only reads at the source,
 * where its installations keep their samples referenced, and only adds at the target).
 */
export async function completeBatch(
  ctx: BatchContext,
  items: readonly Item[],
  copyAhead: () => void = () => undefined,
): Promise<boolean> {
  const first = items[0];
  if (first === undefined) return true;
  const { source, target } = routeOf(ctx, first);
  const live = await dropMovedElsewhere(ctx, items);
  const unswitched = live.filter(beforeSwitch).map((i) => i.installation_id);
  if (unswitched.length > 0 && ctx.shouldStop()) return false;
  copyAhead();
  if (unswitched.length > 0) await switchInFreeze(ctx, source, target, unswitched);
  const switched = live.filter((i) => i.step !== 'done').map((i) => i.installation_id);
  await purgeSource(ctx, source, switched);
  await logBothSides(ctx, source, target, live);
  await setStep(ctx, switched, 'done');
  return true;
}

/**
 * Gate the installations' writes, copy what changed since the first copy, verify both
 * sides, switch the registry; then thaw. Inside the freeze the job finishes what it started:
 * a pause or cancel waits for the switch.
 */
async function switchInFreeze(
  ctx: BatchContext,
  source: SiteClient,
  target: SiteClient,
  ids: readonly string[],
): Promise<void> {
  const thaw = await gateWrites(ctx, ids);
  try {
    const committed = { ...ctx, shouldStop: () => false };
    await eachLimited(ids, INSTALLATION_CONCURRENCY, async (id) => {
      const copy = await copyInstallation(committed, source, target, id, { inventorySource: true });
      verifyInstallation(source, target, copy);
      await verifySamples(target, copy.copied);
    });
    await setStep(ctx, ids, 'verified');
    await switchRegistry(ctx, ids, source.name, target.name);
  } finally {
    thaw();
  }
}

/** Rolls back a batch that never switched: the target's copies go, the source stays whole. */
export async function rollBackBatch(ctx: BatchContext, items: readonly Item[]): Promise<void> {
  const unswitched = items.filter(beforeSwitch);
  if (unswitched.length === 0) return;
  const target = siteNamed(ctx, unswitched[0]!.target);
  const ids = unswitched.map((i) => i.installation_id);
  await target.purgeInstallations(ids);
  await setStep(ctx, ids, 'rolledback');
}

/** A batch met by a cancel: switched items finish (purge, log); the others roll back. */
export async function rollBackOrFinish(ctx: BatchContext, items: readonly Item[]): Promise<void> {
  const switched = items.filter((i) => ['switched', 'purged'].includes(i.step));
  if (switched.length > 0) await relocateBatch({ ...ctx, shouldStop: () => false }, switched);
  await rollBackBatch(ctx, items);
}
