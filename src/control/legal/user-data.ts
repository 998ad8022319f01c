import type { InstallationRecords, SiteClient } from '../../ports/site-client.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
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
 * under; the rest is withheld and said so, and only its counts ever leave its site. Every
 * site is asked, not only the registry's current one, so data left at a former site (before
 * a relocation) is found as well.
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
    let found = false;
    for (const site of sites.values()) {
      const answer = jurisdictions.includes(site.jurisdiction)
        ? await disclose(site, installation, range, located.get(installation)?.country)
        : await withhold(site, installation, range, jurisdictions);
      if (answer === undefined) continue;
      found = true;
      if (answer.kind === 'withheld') {
        withheld.push(answer.withheld);
      } else {
        files.set(answer.disclosed.file, answer.content);
        disclosed.push(answer.disclosed);
      }
    }
    if (!found) notFound.push(installation);
  }
  return { files, disclosed, withheld, notFound };
}

type SiteAnswer =
  | { readonly kind: 'withheld'; readonly withheld: WithheldRecords }
  | { readonly kind: 'disclosed'; readonly disclosed: DisclosedRecords; readonly content: Buffer };

/** Only counts leave a site the request may not be answered from. */
async function withhold(
  site: SiteClient,
  installation: string,
  range: { from?: Date; to?: Date },
  jurisdictions: readonly string[],
): Promise<SiteAnswer | undefined> {
  const counts = await site.countInstallationRecords(installation, range);
  if (counts === undefined || counts.submissions + counts.events === 0) return undefined;
  const verified = jurisdictions.join(', ') || 'none';
  return {
    kind: 'withheld',
    withheld: {
      installation,
      site: site.name,
      jurisdiction: site.jurisdiction,
      reason: 'jurisdiction_not_verified',
      detail: `held at ${site.name} under ${site.jurisdiction} law; the request was verified under ${verified}`,
    },
  };
}

async function disclose(
  site: SiteClient,
  installation: string,
  range: { from?: Date; to?: Date },
  country: string | undefined,
): Promise<SiteAnswer | undefined> {
  const records = await site.installationRecords(installation, range);
  if (records === undefined || records.submissions.length + records.events.length === 0) return undefined;
  const file = `user-data/${records.site}/${installation}.json`;
  return {
    kind: 'disclosed',
    content: Buffer.from(`${JSON.stringify(disclosure(records, country), null, 2)}\n`),
    disclosed: {
      installation,
      site: records.site,
      jurisdiction: records.jurisdiction,
      submissions: records.submissions.length,
      events: records.events.length,
      file,
    },
  };
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
