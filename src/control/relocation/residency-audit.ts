import type { SiteClient } from '../../ports/site-client.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
import type { PolicyService } from '../residency/policy-service.js';

export type ViolationKind =
  | 'NOT_WHERE_POLICY_SAYS'
  | 'KEY_MISSING'
  | 'RECORDS_AT_WRONG_SITE'
  | 'RECORDS_OF_UNKNOWN_INSTALLATION'
  | 'SAMPLE_MISSING'
  | 'SAMPLE_CORRUPT';

export interface Violation {
  readonly kind: ViolationKind;
  readonly site: string;
  readonly installation?: string;
  readonly sha256?: string;
  readonly detail: string;
}

export interface SiteSummary {
  readonly site: string;
  readonly installations: number;
  readonly submissions: number;
  readonly events: number;
  readonly samplesReferenced: number;
  readonly samplesUnreferenced: number;
}

export interface ResidencyAuditReport {
  readonly at: string;
  readonly policyVersion: number | null;
  readonly installations: number;
  readonly sites: SiteSummary[];
  readonly clean: boolean;
  readonly violations: Violation[];
}

/**
 * Scans every site against the registry and the policy in force: every installation is at
 * the site the policy resolves for its country and its key is there; no site holds a key,
 * submission or event of an installation assigned elsewhere (or of none); every sample a
 * submission references is present and decrypts to its hash.
 *
 * @example
 * const report = await auditResidency({ registry, policy, sites, now: new Date() });
 * if (!report.clean) console.log(report.violations);
 */
export async function auditResidency(options: {
  readonly registry: Pick<InstallationRegistry, 'placements'>;
  readonly policy: PolicyService;
  /** The sites scanned; with `scoped`, only what these sites hold or are assigned is reported. */
  readonly sites: ReadonlyMap<string, SiteClient>;
  /** Audit only `sites` (a token's site scope), not the whole deployment. */
  readonly scoped?: boolean;
  readonly now: Date;
}): Promise<ResidencyAuditReport> {
  const { policy, sites, now } = options;
  const violations: Violation[] = [];
  const registry = new Map((await options.registry.placements()).map((r) => [r.id, r]));
  // Installations assigned elsewhere stay in `registry` (to tell "at the wrong site" from
  // "unknown"), but only those assigned to the audited sites are counted and checked.
  const assigned = [...registry.values()].filter((r) => options.scoped !== true || sites.has(r.site));
  const resolved = new Map<string, string>();
  for (const row of assigned) {
    let site = resolved.get(row.country);
    if (site === undefined) {
      site = (await policy.resolve(row.country, now)).site;
      resolved.set(row.country, site);
    }
    if (site !== row.site) {
      violations.push({
        kind: 'NOT_WHERE_POLICY_SAYS',
        site: row.site,
        installation: row.id,
        detail: `registered at ${row.site}; the policy in force assigns ${row.country} to ${site}`,
      });
    }
  }
  const keyed = new Set<string>();
  const summaries: SiteSummary[] = [];
  for (const site of sites.values()) {
    const scan = await site.scanResidency();
    for (const held of scan.installations) {
      const assigned = registry.get(held.id);
      if (held.key && assigned?.site === site.name) keyed.add(held.id);
      if (assigned === undefined) {
        // A key alone is what a crash between admission and registration leaves: unused.
        if (held.submissions + held.events > 0) {
          violations.push({
            kind: 'RECORDS_OF_UNKNOWN_INSTALLATION',
            site: site.name,
            installation: held.id,
            detail: `${held.submissions} submission(s) and ${held.events} event(s) of an installation the registry does not know`,
          });
        }
      } else if (assigned.site !== site.name) {
        violations.push({
          kind: 'RECORDS_AT_WRONG_SITE',
          site: site.name,
          installation: held.id,
          detail: `assigned to ${assigned.site}, yet ${site.name} holds ${describeHeld(held)}`,
        });
      }
    }
    for (const sha256 of scan.samples.missing) {
      violations.push({
        kind: 'SAMPLE_MISSING',
        site: site.name,
        sha256,
        detail: 'referenced by a submission, not stored',
      });
    }
    for (const sha256 of scan.samples.corrupt) {
      violations.push({
        kind: 'SAMPLE_CORRUPT',
        site: site.name,
        sha256,
        detail: 'does not decrypt to its hash',
      });
    }
    summaries.push({
      site: site.name,
      installations: scan.installations.filter((i) => registry.get(i.id)?.site === site.name).length,
      submissions: scan.installations.reduce((s, i) => s + i.submissions, 0),
      events: scan.installations.reduce((s, i) => s + i.events, 0),
      samplesReferenced: scan.samples.referenced,
      samplesUnreferenced: scan.samples.unreferenced,
    });
  }
  for (const row of assigned) {
    if (!keyed.has(row.id) && sites.has(row.site)) {
      violations.push({
        kind: 'KEY_MISSING',
        site: row.site,
        installation: row.id,
        detail: `the installation's key is not at ${row.site}`,
      });
    }
  }
  const inForce = await policy.inForce(now);
  return {
    at: now.toISOString(),
    policyVersion: inForce?.version ?? null,
    installations: assigned.length,
    sites: summaries,
    clean: violations.length === 0,
    violations,
  };
}

function describeHeld(held: { key: boolean; submissions: number; events: number }): string {
  const parts = [`${held.submissions} submission(s)`, `${held.events} event(s)`];
  if (held.key) parts.push('its key');
  return parts.join(', ');
}
