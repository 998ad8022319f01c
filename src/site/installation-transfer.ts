import type { RelocatableRecords, SiteResidencyScan } from '../ports/installation-records.js';
import type { StatsBuffer } from './stats/stats-buffer.js';
import type { SubjectKeys } from './subjects/subject-keys.js';
import type { VaultService } from './vault/vault-service.js';

/**
 * The site-side domains that hold an installation's records, each owning its own tables:
 * the vault (submissions, samples, blobs), the subjects (keys) and the statistics (events).
 * Moving and purging an installation only composes their methods.
 */
export interface SiteDomains {
  readonly site: string;
  readonly vault: VaultService;
  readonly subjects: SubjectKeys;
  /** The site's telemetry; throws `STATS_CLOSED` outside the serving process. */
  readonly stats: () => StatsBuffer;
  /** The site's metadata store's durability barrier (see `MetadataStore.durable`). */
  readonly durable: () => Promise<void>;
  /** Rewrites the site's metadata store so deleted rows leave nothing in its raw files. */
  readonly compact: () => Promise<void>;
}

/**
 * Everything the site holds of an installation, file names unsealed, for a copy to another
 * site. Events are read after everything acknowledged so far is loaded.
 */
export async function exportInstallation(
  site: SiteDomains,
  installationId: string,
): Promise<RelocatableRecords> {
  const { submissions, samples } = await site.vault.exportSubmissions(installationId);
  const events = await site.stats().exportInstallation(installationId);
  return { installationId, submissions, samples, events };
}

/**
 * Makes the installation's submissions and events at this site exactly the given ones
 * (idempotent: a repeated copy replaces, never duplicates), sealing file names under this
 * site's key for the installation, which it creates if needed. The samples must be here.
 */
export async function importInstallation(
  site: SiteDomains,
  records: Pick<RelocatableRecords, 'installationId' | 'submissions' | 'events'>,
  replace: { readonly submissions: boolean; readonly events: boolean },
): Promise<void> {
  const { installationId } = records;
  await site.subjects.admit(installationId);
  // The key and the submissions are durable before the events: a crash leaves no event here
  // without its installation's key.
  if (replace.submissions) await site.vault.replaceSubmissions(installationId, records.submissions);
  else await site.durable();
  if (replace.events) {
    const stats = site.stats();
    await stats.eraseInstallations([installationId]);
    if (records.events.length > 0) await stats.append(Buffer.from(records.events.join(''), 'utf8'));
  }
}

/** What the site holds, by installation, and whether every referenced sample is whole. */
export async function scanResidency(site: SiteDomains): Promise<SiteResidencyScan> {
  const byId = new Map<string, { id: string; key: boolean; submissions: number; events: number }>();
  const entry = (id: string) => {
    let found = byId.get(id);
    if (found === undefined) {
      found = { id, key: false, submissions: 0, events: 0 };
      byId.set(id, found);
    }
    return found;
  };
  for (const id of await site.subjects.installationIds()) entry(id).key = true;
  const vault = await site.vault.residencyScan();
  for (const [id, n] of vault.submissionsByInstallation) entry(id).submissions = n;
  for (const [id, n] of await site.stats().countByInstallation()) entry(id).events = n;
  return { site: site.site, installations: [...byId.values()], samples: vault.samples };
}
