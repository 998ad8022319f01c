import type { Kysely } from 'kysely';
import type { TransparencyLog } from '../../ledger/transparency-log.js';
import type { SiteClient } from '../../ports/site-client.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
import { DESK_ACTOR } from './privacy-log.js';
import type { PrivacyRequestsTable, PrivacyTables } from './privacy-tables.js';

/** Runs one named step of a request once: a step already in the journal returns its result. */
export type StepRunner = <T>(name: string, body: () => Promise<T>) => Promise<T>;

export interface ErasureContext {
  readonly db: Kysely<PrivacyTables>;
  readonly registry: InstallationRegistry;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly audit: TransparencyLog;
  readonly compactControl: () => Promise<void>;
  readonly logCompletion: () => Promise<{ index: number; closedAt: string; entry: string }>;
}

/** What one site holds, read before anything is removed: the receipt is built from it. */
interface SitePlan {
  readonly site: string;
  readonly jurisdiction: string;
  readonly submissions: number;
  readonly events: number;
  /** Samples only this installation submitted at the site: their bytes go. */
  readonly samplesRemoved: readonly string[];
  /** Samples other installations at the site also submitted: their bytes stay. */
  readonly samplesShared: readonly string[];
}

export interface SiteReceipt {
  readonly site: string;
  readonly jurisdiction: string;
  readonly removed: readonly { readonly store: string; readonly what: string; readonly records: number }[];
  readonly retained: readonly { readonly store: string; readonly what: string; readonly why: string }[];
}

/** The receipt of an erasure: kept after it, and given to the user with the receipt token. */
export interface ErasureReceipt {
  readonly request: string;
  readonly sites: readonly SiteReceipt[];
  readonly control: SiteReceipt;
  /** The `completed` entry in the control log, with its RFC 9162 inclusion proof. */
  readonly log: {
    readonly node: 'control';
    readonly entry: string;
    readonly index: number;
    readonly treeSize: number;
    readonly proof: readonly string[];
    readonly checkpoint: string;
  };
}

/**
 * Erases an installation everywhere, as journalled steps that are each safe to repeat:
 * the registry first (no new data, no more sign-in), then site by site its events, its key,
 * and its submissions and sole-referenced samples (then the site's store is compacted);
 * then the log entry, the receipt (which drops the id from the desk's own rows) and the
 * compaction of control.db.
 */
export async function runErasure(
  request: PrivacyRequestsTable,
  step: StepRunner,
  context: ErasureContext,
): Promise<ErasureReceipt> {
  const id = request.installation_id ?? '';
  // Null once the receipt step has scrubbed the journal (a resumed run then skips the sites).
  const plan = (await step('plan', () => planErasure(id, context.sites))) ?? [];
  await step('registry', async () => ({ removed: await context.registry.remove(id) }));
  for (const site of plan) {
    const client = context.sites.get(site.site);
    if (client === undefined) throw new Error(`site ${site.site} is not running`);
    // Events first (their log entry needs the key's commitment), submissions last (once the
    // key is gone, an upload still streaming in cannot add a row behind them).
    await step(`${site.site}:events`, () => client.eraseInstallationEvents(id, DESK_ACTOR));
    await step(`${site.site}:key`, () => client.eraseInstallationKey(id, DESK_ACTOR));
    await step(`${site.site}:submissions`, () => client.eraseInstallationSubmissions(id));
  }
  const logged = await context.logCompletion();
  const receipt = await step('receipt', async () => {
    // The transaction below may have committed before a crash kept the step off the journal.
    const stored = await context.db
      .selectFrom('privacy_requests')
      .select('answer')
      .where('id', '=', request.id)
      .executeTakeFirst();
    if (stored?.answer != null) return JSON.parse(stored.answer) as ErasureReceipt;
    const built = await buildReceipt(request.id, plan, logged, context.audit);
    await context.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('privacy_requests')
        .set({ answer: JSON.stringify(built) })
        .where('id', '=', request.id)
        .execute();
      // Every request of the installation forgets it: only commitments remain.
      await trx
        .updateTable('privacy_requests')
        .set({ installation_id: null })
        .where('installation_id', '=', id)
        .execute();
      // The journal's results named its samples by hash: the receipt keeps what it must.
      await trx
        .updateTable('privacy_steps')
        .set({ result: 'null' })
        .where('request_id', '=', request.id)
        .where('step', 'not in', ['logged'])
        .execute();
    });
    return built;
  });
  await step('compact-control', async () => {
    await context.compactControl();
    return {};
  });
  return receipt;
}

async function planErasure(id: string, sites: ReadonlyMap<string, SiteClient>): Promise<SitePlan[] | null> {
  const plan: SitePlan[] = [];
  for (const site of sites.values()) {
    const records = await site.installationRecords(id);
    if (records === undefined) continue;
    const own = new Map<string, number>();
    for (const s of records.submissions) own.set(s.sha256, (own.get(s.sha256) ?? 0) + 1);
    const samplesRemoved: string[] = [];
    const samplesShared: string[] = [];
    for (const [sha256, mine] of own) {
      const sample = await site.findSample({ kind: 'sha256', value: sha256 });
      if ((sample?.submissions ?? 0) > mine) samplesShared.push(sha256);
      else samplesRemoved.push(sha256);
    }
    plan.push({
      site: site.name,
      jurisdiction: site.jurisdiction,
      submissions: records.submissions.length,
      events: records.events.length,
      samplesRemoved,
      samplesShared,
    });
  }
  return plan;
}

async function buildReceipt(
  request: string,
  plan: readonly SitePlan[],
  logged: { index: number; entry: string },
  audit: TransparencyLog,
): Promise<ErasureReceipt> {
  await audit.publish();
  const treeSize = await audit.publishedSize();
  const proof = await audit.proveInclusion(logged.index, treeSize);
  return {
    request,
    sites: plan.map((p) => ({
      site: p.site,
      jurisdiction: p.jurisdiction,
      removed: [
        { store: 'metadata', what: 'submissions (with their sealed file names)', records: p.submissions },
        {
          store: 'blobs',
          what: 'samples only this installation submitted',
          records: p.samplesRemoved.length,
        },
        { store: 'statistics', what: 'telemetry events', records: p.events },
        { store: 'keys', what: 'the installation key and the salt of its log commitments', records: 1 },
      ],
      retained: [
        ...p.samplesShared.map((sha256) => ({
          store: 'blobs',
          what: `sample ${sha256}`,
          why: 'other installations at this site submitted it too',
        })),
        {
          store: 'log',
          what: 'log entries about the installation',
          why: 'they hold only commitments, which nobody can link to it once its salt is destroyed',
        },
      ],
    })),
    control: {
      site: 'control',
      jurisdiction: '',
      removed: [{ store: 'registry', what: 'the installation id, country and secret hash', records: 1 }],
      retained: [
        {
          store: 'verdicts',
          what: 'verdicts on the hashes of its samples',
          why: 'technical data about files, not about the installation',
        },
        {
          store: 'privacy requests',
          what: "this desk's requests of the installation",
          why: 'kept for the transparency report; they name it only by commitment',
        },
      ],
    },
    log: {
      node: 'control',
      entry: logged.entry,
      index: logged.index,
      treeSize,
      proof: proof.map((h) => h.toString('base64')),
      checkpoint: (await audit.checkpoint()) ?? '',
    },
  };
}
