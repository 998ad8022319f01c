import { buildAssignmentTable, type SiteRule } from './assignment-table.js';
import { isCountryCode } from './countries.js';
import {
  checkSite,
  type PolicyVersion,
  type ResidencyContext,
  type Resolution,
  type ResolutionRule,
} from './policy.js';
import { ResidencyError } from './residency-errors.js';

const DEFAULT_RULE: ResolutionRule = Object.freeze({ kind: 'default' });

/** A policy version with its assignments expanded, so that a look-up is one map access. */
export interface CompiledPolicyVersion extends PolicyVersion {
  readonly table: ReadonlyMap<string, SiteRule>;
}

/** A whole policy history, ready for `resolveSite`. Build it once per policy change. */
export interface CompiledPolicy {
  readonly versions: readonly CompiledPolicyVersion[];
}

/**
 * Expands one stored version against the current configuration. Stored versions are
 * re-checked because the configuration may have lost a site or a region since they were
 * validated; failing here, at start-up, beats sending data to a site that no longer exists.
 */
export function compilePolicyVersion(version: PolicyVersion, ctx: ResidencyContext): CompiledPolicyVersion {
  checkSite(version.default, ctx, 'default');
  version.assign.forEach((a, i) => {
    checkSite(a.site, ctx, `assign[${i}].site`);
  });
  return Object.freeze({ ...version, table: buildAssignmentTable(version.assign, ctx.regions) });
}

/**
 * Compiles a policy history.
 *
 * @example
 * const policy = compilePolicy(versions, { sites, regions });
 * resolveSite(policy, 'BR', new Date()).site; // 'zurich'
 */
export function compilePolicy(versions: readonly PolicyVersion[], ctx: ResidencyContext): CompiledPolicy {
  return Object.freeze({ versions: Object.freeze(versions.map((v) => compilePolicyVersion(v, ctx))) });
}

/**
 * The version in force at `at`: the greatest `effectiveFrom` not after `at`, and of those the
 * highest version number (a later decision for the same instant replaces an earlier one).
 * `undefined` if `at` precedes the whole history. Linear: a history has a handful of versions.
 */
export function versionInForce<V extends PolicyVersion>(versions: readonly V[], at: Date): V | undefined {
  const t = at.getTime();
  let best: V | undefined;
  for (const v of versions) {
    const from = v.effectiveFrom.getTime();
    // Written so that an invalid `at` (NaN) matches nothing instead of everything.
    if (!(from <= t)) continue;
    const bestFrom = best?.effectiveFrom.getTime();
    if (
      best === undefined ||
      bestFrom === undefined ||
      from > bestFrom ||
      (from === bestFrom && v.version > best.version)
    ) {
      best = v;
    }
  }
  return best;
}

/**
 * Which site holds `country`'s data at `at`: a direct country rule, else a region rule, else
 * the version's default. Called on every installation registration.
 *
 * @example
 * resolveSite(policy, 'SA', new Date('2022-03-02T00:00:00Z'));
 * // { country: 'SA', site: 'zurich', version: 5, rule: { kind: 'region', region: 'MIDDLE_EAST' }, at }
 */
export function resolveSite(policy: CompiledPolicy, country: string, at: Date): Resolution {
  if (!isCountryCode(country)) {
    throw new ResidencyError('UNKNOWN_COUNTRY', `${country} is not an ISO 3166-1 alpha-2 code`, {
      details: { field: 'country', value: country },
    });
  }
  const inForce = versionInForce(policy.versions, at);
  if (inForce === undefined) {
    throw new ResidencyError('NO_POLICY_IN_FORCE', `no residency policy was in force at ${describe(at)}`, {
      details: { at: describe(at) },
    });
  }
  const hit = inForce.table.get(country);
  return Object.freeze({
    country,
    at: new Date(at.getTime()),
    site: hit?.site ?? inForce.default,
    version: inForce.version,
    rule: hit?.rule ?? DEFAULT_RULE,
  });
}

function describe(at: Date): string {
  return Number.isNaN(at.getTime()) ? 'an invalid date' : at.toISOString();
}
