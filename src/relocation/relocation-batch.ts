import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Actor, AuditSink } from '../ledger/audit-sink.js';
import type { ResidencyTables } from '../residency/residency-tables.js';
import { eachLimited } from '../shared/each-limited.js';
import { inventoryOf, type RelocatableRecords } from '../site/installation-records.js';
import type { SiteClient } from '../site/site-client.js';
import type { ItemStep, RelocationItemsTable, RelocationTables } from './relocation-tables.js';
import { CopyStopped, type Throttle } from './throttle.js';
import type { WriteGate } from './write-gate.js';

/** How many samples of one installation are copied at once (overlaps reads, crypto and fsyncs). */
const SAMPLE_CONCURRENCY = 4;
/** How many installations of a batch are copied at once, and samples verified at once. */
const INSTALLATION_CONCURRENCY = 4;

const BEFORE_SWITCH: readonly ItemStep[] = ['pending', 'copied', 'verified'];

export type Item = Pick<
  RelocationItemsTable,
  'installation_id' | 'source' | 'target' | 'batch' | 'step' | 'submissions' | 'samples' | 'bytes' | 'events'
>;

export interface BatchContext {
  readonly relocationId: string;
  readonly db: Kysely<RelocationTables & ResidencyTables>;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly gate: WriteGate;
  readonly controlAudit: AuditSink;
  readonly actor: Actor;
  readonly throttle: Throttle;
  readonly now: () => Date;
  /** Told of every plaintext byte copied (progress). */
  readonly onBytes: (n: number) => void;
  /** True once the job should stop between installations (pause or cancel). */
  readonly shouldStop: () => boolean;
}

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
  const source = siteNamed(ctx, first.source);
  const target = siteNamed(ctx, first.target);
  const live =
    options.ahead === true ? await stillAtSource(ctx, items) : await dropMovedElsewhere(ctx, items);
  const before = live.filter((i) => BEFORE_SWITCH.includes(i.step));
  if (before.length === 0) return true;
  const stopped = await eachLimited(before, INSTALLATION_CONCURRENCY, async (item) => {
    if (ctx.shouldStop()) return false;
    try {
      const { records } = await syncInstallation(ctx, source, target, item.installation_id);
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
  const source = siteNamed(ctx, first.source);
  const target = siteNamed(ctx, first.target);
  const live = await dropMovedElsewhere(ctx, items);
  const before = live.filter((i) => BEFORE_SWITCH.includes(i.step));
  if (before.length > 0 && ctx.shouldStop()) return false;
  copyAhead();
  if (before.length > 0) {
    const ids = before.map((i) => i.installation_id);
    const thaw = await ctx.gate.freeze(ids);
    try {
      // Inside the freeze the job finishes what it started: a pause or cancel waits for the switch.
      const committed = { ...ctx, shouldStop: () => false };
      await eachLimited(ids, INSTALLATION_CONCURRENCY, async (id) => {
        const { records, copied } = await syncInstallation(committed, source, target, id);
        await verifyInstallation(source, target, records);
        await verifySamples(target, copied);
      });
      await setStep(ctx, ids, 'verified');
      await switchSite(ctx, ids, source.name, target.name);
    } finally {
      thaw();
    }
  }
  const switched = live.filter((i) => i.step !== 'done').map((i) => i.installation_id);
  await source.purgeInstallations(switched);
  await setStep(ctx, switched, 'purged');
  await logBatch(ctx, source, target, live);
  await setStep(ctx, switched, 'done');
  return true;
}

/** Rolls back a batch that never switched: the target's copies go, the source stays whole. */
export async function rollBackBatch(ctx: BatchContext, items: readonly Item[]): Promise<void> {
  const unswitched = items.filter((i) => BEFORE_SWITCH.includes(i.step));
  if (unswitched.length === 0) return;
  const target = siteNamed(ctx, unswitched[0]!.target);
  const ids = unswitched.map((i) => i.installation_id);
  await target.purgeInstallations(ids);
  await setStep(ctx, ids, 'rolledback');
}

/**
 * Copies what the target lacks or holds differently: missing samples (re-encrypted under
 * the target's key on the way), then the submissions and events if their checksums differ.
 */
async function syncInstallation(
  ctx: BatchContext,
  source: SiteClient,
  target: SiteClient,
  installationId: string,
): Promise<{ records: RelocatableRecords; copied: string[] }> {
  const records = await source.exportInstallation(installationId);
  const copied: string[] = [];
  const wanted = inventoryOf(records, true);
  const present = await target.inventoryInstallation(installationId);
  const queue = [...records.samples];
  let failing = false;
  const copyNext = async (): Promise<void> => {
    for (let sample = queue.shift(); sample !== undefined && !failing; sample = queue.shift()) {
      const plaintext = await source.openSamplePlaintext(sample.sha256);
      let body: Readable = plaintext;
      if (ctx.throttle.limited) {
        // Only a rate limit needs the extra stream hop; unlimited copies count when done.
        const throttled = ctx.throttle.stream(ctx.onBytes, ctx.shouldStop);
        // It may fail (a stop) while importSample still waits for the sample's lock, before
        // any reader listens; the reader finds the error on the stream all the same.
        throttled.on('error', () => undefined);
        plaintext.on('error', (error) => throttled.destroy(error));
        throttled.once('close', () => plaintext.destroy());
        body = plaintext.pipe(throttled);
      } else if (ctx.shouldStop()) {
        plaintext.destroy();
        throw new CopyStopped();
      }
      const result = await target.importSample(sample, body).catch((error: unknown) => {
        failing = true;
        throw error;
      });
      if (!ctx.throttle.limited) ctx.onBytes(sample.size);
      if (result.copied) copied.push(sample.sha256);
    }
  };
  // Settle every copier before deciding: none may still write at the target after we return.
  const copiers = await Promise.allSettled(Array.from({ length: SAMPLE_CONCURRENCY }, copyNext));
  const failed = copiers.find((c): c is PromiseRejectedResult => c.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  await target.importInstallation(records, {
    submissions: !present.key || present.submissions.checksum !== wanted.submissions.checksum,
    events: present.events.checksum !== wanted.events.checksum,
  });
  return { records, copied };
}

/**
 * Reads each sample back at the target: present, and every segment authentic. The plaintext
 * sealed was hashed against the sample's name on its way in (importSample), so the GCM tags
 * prove the bytes at rest are that plaintext; the argument is in docs/relocation.md.
 */
async function verifySamples(target: SiteClient, sha256s: readonly string[]): Promise<void> {
  await eachLimited(sha256s, SAMPLE_CONCURRENCY, async (sha256) => {
    if (!(await target.authenticateSample(sha256))) {
      throw new Error(`sample ${sha256} does not decrypt at ${target.name}`);
    }
  });
}

/** In the freeze: the target holds exactly what the source holds, key included. */
async function verifyInstallation(
  source: SiteClient,
  target: SiteClient,
  records: RelocatableRecords,
): Promise<void> {
  const wanted = inventoryOf(records, true);
  const [there, here] = await Promise.all([
    target.inventoryInstallation(records.installationId),
    source.inventoryInstallation(records.installationId),
  ]);
  const same = (a: typeof wanted, b: typeof wanted) =>
    a.submissions.checksum === b.submissions.checksum &&
    a.samples.checksum === b.samples.checksum &&
    a.events.checksum === b.events.checksum;
  if (!there.key || !same(wanted, there) || !same(wanted, here)) {
    throw new Error(`the copy of an installation at ${target.name} differs from ${source.name}`);
  }
}

/** The switch point: the registry row and the journal step change in one transaction. */
async function switchSite(ctx: BatchContext, ids: readonly string[], source: string, target: string) {
  const time = ctx.now().toISOString();
  await ctx.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('installations')
      .set({ site: target })
      .where('id', 'in', ids)
      .where('site', '=', source)
      .execute();
    await trx
      .updateTable('relocation_items')
      .set({ step: 'switched', updated_at: time })
      .where('relocation_id', '=', ctx.relocationId)
      .where('installation_id', 'in', ids)
      .execute();
  });
}

/** Each item's installation → its site in the registry now. */
async function registrySites(ctx: BatchContext, items: readonly Item[]): Promise<Map<string, string>> {
  const rows = await ctx.db
    .selectFrom('installations')
    .select(['id', 'site'])
    .where(
      'id',
      'in',
      items.map((i) => i.installation_id),
    )
    .execute();
  return new Map(rows.map((r) => [r.id, r.site]));
}

/** The items whose installation is still at the batch's source, or already switched; writes nothing. */
async function stillAtSource(ctx: BatchContext, items: readonly Item[]): Promise<Item[]> {
  const siteOf = await registrySites(ctx, items);
  return items.filter((i) => !BEFORE_SWITCH.includes(i.step) || siteOf.get(i.installation_id) === i.source);
}

/** Items whose installation is no longer at the batch's source (moved by other means) are skipped. */
async function dropMovedElsewhere(ctx: BatchContext, items: readonly Item[]): Promise<Item[]> {
  const siteOf = await registrySites(ctx, items);
  const live: Item[] = [];
  const skipped: string[] = [];
  for (const item of items) {
    const site = siteOf.get(item.installation_id);
    const beforeSwitch = BEFORE_SWITCH.includes(item.step);
    if (beforeSwitch && site !== item.source) skipped.push(item.installation_id);
    else live.push(item);
  }
  if (skipped.length > 0) {
    const target = siteNamed(ctx, items[0]!.target);
    // A copy may have started before the installation moved: leave nothing at the target
    // unless the installation now lives there.
    const notAtTarget = skipped.filter((id) => siteOf.get(id) !== target.name);
    if (notAtTarget.length > 0) await target.purgeInstallations(notAtTarget);
    await setStep(ctx, skipped, 'skipped');
  }
  return live;
}

async function logBatch(ctx: BatchContext, source: SiteClient, target: SiteClient, items: readonly Item[]) {
  if (items.length === 0) return;
  const counts = {
    relocation: ctx.relocationId,
    batch: items[0]!.batch,
    source: source.name,
    target: target.name,
    installations: items.length,
    submissions: sum(items, 'submissions'),
    samples: sum(items, 'samples'),
    bytes: sum(items, 'bytes'),
    events: sum(items, 'events'),
  };
  await target.recordRelocation(
    { kind: 'received', installationIds: items.map((i) => i.installation_id), ...counts },
    ctx.actor,
  );
  await source.recordRelocation({ kind: 'sent', installationIds: [], ...counts }, ctx.actor);
  await ctx.controlAudit.append({
    type: 'relocation.batch',
    time: ctx.now().toISOString(),
    actor: ctx.actor,
    ...counts,
  });
}

async function setStep(ctx: BatchContext, ids: readonly string[], step: ItemStep): Promise<void> {
  if (ids.length === 0) return;
  await ctx.db
    .updateTable('relocation_items')
    .set({ step, updated_at: ctx.now().toISOString() })
    .where('relocation_id', '=', ctx.relocationId)
    .where('installation_id', 'in', ids)
    .execute();
}

function siteNamed(ctx: BatchContext, name: string): SiteClient {
  const site = ctx.sites.get(name);
  if (site === undefined) throw new Error(`site ${name} is not running`);
  return site;
}

function sum(items: readonly Item[], field: 'submissions' | 'samples' | 'bytes' | 'events'): number {
  return items.reduce((total, i) => total + i[field], 0);
}
