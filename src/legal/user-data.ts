import type { InstallationRegistry } from '../residency/installation-registry.js';
import type { InstallationRecords, SiteClient } from '../site/site-client.js';
import type { LegalScope } from './legal-request.js';

export interface DisclosedRecords {
  readonly installation: string;
  readonly site: string;
  readonly jurisdiction: string;
  readonly submissions: number;
  readonly events: number;
  readonly file: string;
}

export interface WithheldRecords {
  readonly installation: string;
  readonly site: string;
  readonly jurisdiction: string;
  readonly reason: 'jurisdiction_not_verified';
  readonly detail: string;
}

export interface UserDataContent {
  readonly files: ReadonlyMap<string, Buffer>;
  readonly disclosed: readonly DisclosedRecords[];
  readonly withheld: readonly WithheldRecords[];
  /** Installations in scope that no site holds anything of (in the range). */
  readonly notFound: readonly string[];
}

/**
 * What the sites hold about the installations in scope, split by the jurisdiction rule: a
 * site's records are disclosed only when its jurisdiction is one the request was verified
 * under; the rest is withheld and said so. Every site is asked, not only the registry's
 * current one, so data left at a former site (before a relocation) is found as well.
 *
 * Events are disclosed as counts by day and type, not as raw rows: the request names the
 * installation, and the counts answer "what did it do when" without handing over the hashes
 * and threat names of everything it scanned (data minimisation, GDPR Art. 5(1)(c)).
 */
export async function gatherUserData(
  scope: LegalScope,
  range: { from?: Date; to?: Date },
  jurisdictions: readonly string[],
  sites: ReadonlyMap<string, SiteClient>,
  registry: InstallationRegistry,
): Promise<UserDataContent> {
  const located = await registry.locate(scope.installations);
  const files = new Map<string, Buffer>();
  const disclosed: DisclosedRecords[] = [];
  const withheld: WithheldRecords[] = [];
  const notFound: string[] = [];
  for (const installation of scope.installations) {
    const found = await recordsAtEverySite(installation, range, sites);
    if (found.length === 0) {
      notFound.push(installation);
      continue;
    }
    for (const records of found) {
      if (!jurisdictions.includes(records.jurisdiction)) {
        withheld.push({
          installation,
          site: records.site,
          jurisdiction: records.jurisdiction,
          reason: 'jurisdiction_not_verified',
          detail: `held at ${records.site} under ${records.jurisdiction} law; the request was verified under ${jurisdictions.join(', ') || 'none'}`,
        });
        continue;
      }
      const file = `user-data/${records.site}/${installation}.json`;
      files.set(
        file,
        Buffer.from(`${JSON.stringify(disclosure(records, located.get(installation)?.country), null, 2)}\n`),
      );
      disclosed.push({
        installation,
        site: records.site,
        jurisdiction: records.jurisdiction,
        submissions: records.submissions.length,
        events: records.events.length,
        file,
      });
    }
  }
  return { files, disclosed, withheld, notFound };
}

/** The sites that hold anything of the installation in the range. */
async function recordsAtEverySite(
  installation: string,
  range: { from?: Date; to?: Date },
  sites: ReadonlyMap<string, SiteClient>,
): Promise<InstallationRecords[]> {
  const answers = await Promise.all(
    [...sites.values()].map((site) => site.installationRecords(installation, range)),
  );
  return answers.filter(
    (a): a is InstallationRecords => a !== undefined && (a.submissions.length > 0 || a.events.length > 0),
  );
}

function disclosure(records: InstallationRecords, country: string | undefined) {
  const counts = new Map<string, number>();
  for (const event of records.events) {
    const key = `${(event.ts ?? '').slice(0, 10)}\u0000${event.type ?? ''}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return {
    site: records.site,
    jurisdiction: records.jurisdiction,
    country: country ?? null,
    admittedAt: records.admittedAt,
    submissions: records.submissions.map((s) => ({
      submittedAt: s.submittedAt,
      filename: s.filename,
      product: s.product,
      sha256: s.sha256,
      sha1: s.sha1,
      md5: s.md5,
      size: s.size,
    })),
    eventCounts: [...counts].map(([key, events]) => {
      const [day, type] = key.split('\u0000');
      return { day, type, events };
    }),
  };
}
