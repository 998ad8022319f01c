import type { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Actor, AuditSink } from '../../ports/audit-sink.js';
import {
  type InstallationInventory,
  inventoryOf,
  type RelocatableRecords,
} from '../../ports/installation-records.js';
import type { SiteClient } from '../../ports/site-client.js';
import { eachLimited } from '../../shared/each-limited.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
import type { ResidencyTables } from '../residency/residency-tables.js';
import type { ItemStep, RelocationItemsTable, RelocationTables } from './relocation-tables.js';
import { CopyStopped, type Throttle } from './throttle.js';
import type { WriteGate } from './write-gate.js';

/** How many samples of one installation are copied at once (overlaps reads, crypto and fsyncs). */
const SAMPLE_CONCURRENCY = 4;

/**
 * Imports in flight per target site and sample: installations copied side by side that share
 * a sample send it once; the others wait for that copy. Sending it twice is not only wasted
 * work: a site in another process answers the second at once (it holds the sample) and closes
 * the connection under the bytes still being sent.
 */
const importsInFlight = new WeakMap<SiteClient, Map<string, Promise<{ copied: boolean }>>>();

/** The steps before the registry switch: a batch met there by a cancel rolls back. */
export const BEFORE_SWITCH: readonly ItemStep[] = ['pending', 'copied', 'verified'];

export type Item = Pick<
  RelocationItemsTable,
  'installation_id' | 'source' | 'target' | 'batch' | 'step' | 'submissions' | 'samples' | 'bytes' | 'events'
>;

export interface BatchContext {
  readonly relocationId: string;
  /**
   * The control plane's store. Relocation writes only its journal there (`relocations`,
   * `relocation_items`); the registry's tables are in the type so that the switch commits
   * the registry's move and the journal's step in one transaction (see `switchRegistry`).
   */
  readonly db: Kysely<RelocationTables & ResidencyTables>;
  /** Where installations live: read through it, and switched by it (residency owns its table). */
  readonly registry: InstallationRegistry;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly gate: WriteGate;
  readonly controlAudit: AuditSink;
  readonly actor: Actor;
  readonly throttle: Throttle;
  readonly now: () => Date;
  /**
   * Runs a site call that must not be repeated once it succeeded (a log entry), waiting
   * while its site is unavailable instead of failing the step; a plain call unless given.
   */
  readonly patiently?: <T>(call: () => Promise<T>) => Promise<T>;
  /** Told of every plaintext byte copied (progress). */
  readonly onBytes: (n: number) => void;
  /** True once the job should stop between installations (pause or cancel). */
  readonly shouldStop: () => boolean;
}

/** The batch's two sites. */
export function routeOf(ctx: BatchContext, item: Item): { source: SiteClient; target: SiteClient } {
  return { source: siteNamed(ctx, item.source), target: siteNamed(ctx, item.target) };
}

/** Holds new uploads and events of the installations until the returned thaw (the write gate). */
export function gateWrites(ctx: BatchContext, ids: readonly string[]): Promise<() => void> {
  return ctx.gate.freeze(ids);
}

/** A copy of one installation: what the source held, and what the target holds afterwards. */
export interface InstallationCopy {
  /** The source's export the copy was made from. */
  readonly records: RelocatableRecords;
  /** The samples sent (those the target lacked). */
  readonly copied: string[];
  /** The target's inventory of the installation once its records were imported. */
  readonly there: InstallationInventory;
  /** The source's inventory, taken after the export (asked for with `inventorySource`). */
  readonly here?: InstallationInventory;
}

/**
 * Copies what the target lacks or holds differently: missing samples (re-encrypted under
 * the target's key on the way), then the submissions and events if their checksums differ.
 * With `inventorySource`, the source's inventory is taken once the export is in, side by
 * side with the copy (in the freeze, for {@link verifyInstallation}).
 */
export async function copyInstallation(
  ctx: BatchContext,
  source: SiteClient,
  target: SiteClient,
  installationId: string,
  options: { readonly inventorySource?: boolean } = {},
): Promise<InstallationCopy> {
  // Two sites, two reads: side by side (a site in another process is a round trip away).
  const [records, present] = await Promise.all([
    source.exportInstallation(installationId),
    target.inventoryInstallation(installationId),
  ]);
  const sourceInventory =
    options.inventorySource === true ? source.inventoryInstallation(installationId) : undefined;
  // Awaited below; a failure before then must not go unhandled meanwhile.
  sourceInventory?.catch(() => undefined);
  const copied: string[] = [];
  const wanted = inventoryOf(records, true);
  // The target's rows for the installation's samples are the source's (the copy before the
  // freeze, verified then): nothing to send again.
  const samplesHeld =
    present.samples.count === wanted.samples.count && present.samples.checksum === wanted.samples.checksum;
  const queue = samplesHeld ? [] : [...records.samples];
  let inFlight = importsInFlight.get(target);
  if (inFlight === undefined) {
    inFlight = new Map();
    importsInFlight.set(target, inFlight);
  }
  const imports = inFlight;
  let failing = false;
  const copyNext = async (): Promise<void> => {
    for (let sample = queue.shift(); sample !== undefined && !failing; sample = queue.shift()) {
      const pending = imports.get(sample.sha256);
      if (pending !== undefined) {
        await pending.catch((error: unknown) => {
          failing = true;
          throw error;
        });
        continue;
      }
      const imported = importOne(sample);
      imports.set(sample.sha256, imported);
      const result = await imported
        .catch((error: unknown) => {
          failing = true;
          throw error;
        })
        .finally(() => imports.delete(sample.sha256));
      if (!ctx.throttle.limited) ctx.onBytes(sample.size);
      if (result.copied) copied.push(sample.sha256);
    }
  };
  const importOne = async (sample: RelocatableRecords['samples'][number]): Promise<{ copied: boolean }> => {
    if (!ctx.throttle.limited && target.importSampleFrom !== undefined && source.peer !== undefined) {
      if (ctx.shouldStop()) throw new CopyStopped();
      // Sites that are separate services copy between themselves: the target reads from the
      // source, and the bytes do not cross the control plane (two TLS hops fewer). The target
      // looks for the sample itself first (one round trip, not two, per sample).
      return target.importSampleFrom(sample, source.peer);
    }
    // Held there already (another installation's, or a batch before): nothing to send. A
    // site in another process would answer the import at once and close under the bytes.
    if ((await target.findSample({ kind: 'sha256', value: sample.sha256 })) !== undefined) {
      return { copied: false };
    }
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
    return target.importSample(sample, body);
  };
  // Settle every copier before deciding: none may still write at the target after we return.
  const copiers = await Promise.allSettled(Array.from({ length: SAMPLE_CONCURRENCY }, copyNext));
  const failed = copiers.find((c): c is PromiseRejectedResult => c.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  const there = await target.importInstallation(records, {
    submissions: !present.key || present.submissions.checksum !== wanted.submissions.checksum,
    events: present.events.checksum !== wanted.events.checksum,
  });
  if (sourceInventory === undefined) return { records, copied, there };
  return { records, copied, there, here: await sourceInventory };
}

/**
 * Reads each sample back at the target: present, and every segment authentic. The plaintext
 * sealed was hashed against the sample's name on its way in (importSample), so the GCM tags
 * prove the bytes at rest are that plaintext; the argument is in docs/relocation.md.
 */
export async function verifySamples(target: SiteClient, sha256s: readonly string[]): Promise<void> {
  await eachLimited(sha256s, SAMPLE_CONCURRENCY, async (sha256) => {
    if (!(await target.authenticateSample(sha256))) {
      throw new Error(`sample ${sha256} does not decrypt at ${target.name}`);
    }
  });
}

/**
 * In the freeze: the target holds exactly what the source holds, key included. `there` is
 * the target's inventory after the import, `here` the source's after the export, both taken
 * in the freeze (see {@link copyInstallation}).
 */
export function verifyInstallation(
  source: SiteClient,
  target: SiteClient,
  { records, there, here }: InstallationCopy,
): void {
  if (here === undefined) throw new Error('the source was not inventoried in the freeze');
  const wanted = inventoryOf(records, true);
  const same = (a: typeof wanted, b: typeof wanted) =>
    a.submissions.checksum === b.submissions.checksum &&
    a.samples.checksum === b.samples.checksum &&
    a.events.checksum === b.events.checksum;
  if (!there.key || !same(wanted, there) || !same(wanted, here)) {
    throw new Error(`the copy of an installation at ${target.name} differs from ${source.name}`);
  }
}

/**
 * The switch point: the registry moves the installations and the journal records step
 * `switched`, in one transaction of the control plane's store.
 */
export async function switchRegistry(
  ctx: BatchContext,
  ids: readonly string[],
  source: string,
  target: string,
): Promise<void> {
  const time = ctx.now().toISOString();
  await ctx.db.transaction().execute(async (trx) => {
    await ctx.registry.moveToSite(ids, source, target, trx);
    await trx
      .updateTable('relocation_items')
      .set({ step: 'switched', updated_at: time })
      .where('relocation_id', '=', ctx.relocationId)
      .where('installation_id', 'in', ids)
      .execute();
  });
}

/** Removes the switched installations' records from the source, compacting it; step `purged`. */
export async function purgeSource(
  ctx: BatchContext,
  source: SiteClient,
  ids: readonly string[],
): Promise<void> {
  await source.purgeInstallations(ids);
  await setStep(ctx, ids, 'purged');
}

/** `relocation.received` at the target, `relocation.sent` at the source, `relocation.batch` at the control plane. */
export async function logBothSides(
  ctx: BatchContext,
  source: SiteClient,
  target: SiteClient,
  items: readonly Item[],
): Promise<void> {
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
  // Each side's entry waits for its own site: a retry of the whole step would log twice at
  // the site that had already answered.
  const patiently = ctx.patiently ?? ((call) => call());
  await patiently(() =>
    target.recordRelocation(
      { kind: 'received', installationIds: items.map((i) => i.installation_id), ...counts },
      ctx.actor,
    ),
  );
  await patiently(() => source.recordRelocation({ kind: 'sent', installationIds: [], ...counts }, ctx.actor));
  await ctx.controlAudit.append({
    type: 'relocation.batch',
    time: ctx.now().toISOString(),
    actor: ctx.actor,
    ...counts,
  });
}

/** The items whose installation is still at the batch's source, or already switched; writes nothing. */
export async function stillAtSource(ctx: BatchContext, items: readonly Item[]): Promise<Item[]> {
  const siteOf = await registrySites(ctx, items);
  return items.filter((i) => !BEFORE_SWITCH.includes(i.step) || siteOf.get(i.installation_id) === i.source);
}

/** Items whose installation is no longer at the batch's source (moved by other means) are skipped. */
export async function dropMovedElsewhere(ctx: BatchContext, items: readonly Item[]): Promise<Item[]> {
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

/** Journals the installations' step. */
export async function setStep(ctx: BatchContext, ids: readonly string[], step: ItemStep): Promise<void> {
  if (ids.length === 0) return;
  await ctx.db
    .updateTable('relocation_items')
    .set({ step, updated_at: ctx.now().toISOString() })
    .where('relocation_id', '=', ctx.relocationId)
    .where('installation_id', 'in', ids)
    .execute();
}

/** Each item's installation → its site in the registry now. */
async function registrySites(ctx: BatchContext, items: readonly Item[]): Promise<Map<string, string>> {
  const located = await ctx.registry.locate(items.map((i) => i.installation_id));
  return new Map([...located].map(([id, { site }]) => [id, site]));
}

/** The running site of that name. */
export function siteNamed(ctx: BatchContext, name: string): SiteClient {
  const site = ctx.sites.get(name);
  if (site === undefined) throw new Error(`site ${name} is not running`);
  return site;
}

function sum(items: readonly Item[], field: 'submissions' | 'samples' | 'bytes' | 'events'): number {
  return items.reduce((total, i) => total + i[field], 0);
}
