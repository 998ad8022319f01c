import type { Policy, PolicyVersion } from './types';

/**
 * The policy's own rule, read from the versions already fetched: the version in force at an
 * instant, and in it a country assigned directly wins over a region that holds it, and the
 * default takes the rest. The server's `GET /v1/policy/resolve` answers the same.
 */
export function versionAt(policy: Policy, at: Date): PolicyVersion | undefined {
  let found: PolicyVersion | undefined;
  for (const version of policy.versions) {
    if (new Date(version.effectiveFrom).getTime() <= at.getTime()) {
      if (found === undefined || version.effectiveFrom >= found.effectiveFrom) found = version;
    }
  }
  return found;
}

export interface CountrySite {
  readonly country: string;
  readonly site: string;
  /** `country`, `region NAME` or `default`. */
  readonly rule: string;
}

export function siteOf(policy: Policy, version: PolicyVersion, country: string): CountrySite {
  const direct = version.assign.find((a) => a.countries.includes(country));
  if (direct !== undefined) return { country, site: direct.site, rule: 'country' };
  for (const assignment of version.assign) {
    const region = assignment.regions.find((r) => policy.regions[r]?.includes(country));
    if (region !== undefined) return { country, site: assignment.site, rule: `region ${region}` };
  }
  return { country, site: version.default, rule: 'default' };
}

/** Every country the policy names anywhere: in a region or in an assignment of any version. */
export function countriesOf(policy: Policy): string[] {
  const all = new Set<string>();
  for (const members of Object.values(policy.regions)) for (const c of members) all.add(c);
  for (const version of policy.versions) {
    for (const assignment of version.assign) for (const c of assignment.countries) all.add(c);
  }
  return [...all].sort();
}

/** `YYYY-MM-DD` as the API reads a date: midnight UTC. */
export function startOfDay(date: string): Date {
  return new Date(`${date}T00:00:00Z`);
}

export function today(): string {
  return new Date().toISOString().slice(0, 10);
}
