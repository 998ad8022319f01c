import type { SiteClient } from '../../ports/site-client.js';
import { unavailableSites } from '../../shared/site-errors.js';
import type { HuntStore } from './hunt-store.js';
import type { HuntsTable } from './hunt-tables.js';

export interface RoundContext {
  readonly store: HuntStore;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly batchSize: number;
  readonly now: () => Date;
  /** True once the hunt should stop between batches (a pause, a cancel, the process closing). */
  readonly shouldStop: () => boolean;
}

/** What a round did: whether any site had samples left, and which sites were away. */
export interface RoundOutcome {
  readonly more: boolean;
  readonly away: readonly string[];
}

/**
 * One round of a hunt: a batch at each of its sites, each recorded (matches and cursor)
 * before the next is asked for. A site away is passed over this round (the others go on);
 * any other refusal fails the hunt. Once every site has reached the end of what it held, the
 * scan of the stored samples is through and the hunt is `active`: later rounds match what
 * arrives after it (the same cursors, which only grow).
 */
export async function runHuntRound(hunt: HuntsTable, ctx: RoundContext): Promise<RoundOutcome> {
  const away: string[] = [];
  let more = false;
  for (const at of await ctx.store.sites(hunt.id)) {
    const client = ctx.sites.get(at.site);
    if (client === undefined) continue;
    if (ctx.shouldStop()) return { more: true, away };
    let batch: Awaited<ReturnType<SiteClient['scanSamples']>>;
    try {
      batch = await client.scanSamples({ rules: hunt.rules, after: at.arrival_cursor, limit: ctx.batchSize });
    } catch (error) {
      if (unavailableSites(error) === undefined) throw error;
      away.push(at.site);
      continue;
    }
    await ctx.store.recordBatch(hunt.id, at.site, batch, ctx.now().toISOString());
    if (!batch.end) more = true;
  }
  if (hunt.state === 'scanning' && away.length === 0 && !more) await markScanned(hunt, ctx);
  return { more, away };
}

async function markScanned(hunt: HuntsTable, ctx: RoundContext): Promise<void> {
  const sites = await ctx.store.sites(hunt.id);
  if (!sites.every((s) => s.reached_end === 1 || !ctx.sites.has(s.site))) return;
  const time = ctx.now().toISOString();
  await ctx.store.transition(hunt.id, ['scanning'], { state: 'active', scanned_at: time, updated_at: time });
}
