import type { ResolutionRule, SiteAssignment } from './policy.js';
import { ResidencyError } from './residency-errors.js';

/** Where one country goes under one policy version, and which rule sent it there. */
export interface SiteRule {
  readonly site: string;
  readonly rule: ResolutionRule;
}

interface Claim {
  readonly site: string;
  readonly region: string;
}

/**
 * Expands a version's assignments into `country -> site`. Countries that no assignment names
 * are absent: they go to the default site. Precedence is the residency contract: a country
 * named directly wins over any region that contains it, so an operator can carve one country
 * out of a region. What stays ambiguous is refused rather than decided by list order, since
 * sending a country's data to the wrong jurisdiction is the one mistake this engine exists
 * to prevent.
 *
 * Field paths in errors index `assign` as given, so callers must pass the operator's input.
 */
export function buildAssignmentTable(
  assign: readonly SiteAssignment[],
  regions: ReadonlyMap<string, readonly string[]>,
): ReadonlyMap<string, SiteRule> {
  const direct = directClaims(assign);
  const table = new Map<string, SiteRule>();
  for (const [country, claim] of regionClaims(assign, regions, direct)) {
    table.set(country, { site: claim.site, rule: { kind: 'region', region: claim.region } });
  }
  for (const [country, site] of direct) {
    table.set(country, { site, rule: { kind: 'country' } });
  }
  return table;
}

function directClaims(assign: readonly SiteAssignment[]): Map<string, string> {
  const direct = new Map<string, string>();
  assign.forEach(({ countries, site }, i) => {
    countries.forEach((country, j) => {
      const other = direct.get(country);
      if (other !== undefined && other !== site) {
        throw new ResidencyError(
          'CONFLICTING_ASSIGNMENT',
          `${country} is assigned to both ${other} and ${site}`,
          {
            details: { field: `assign[${i}].countries[${j}]`, value: country, country, sites: [other, site] },
          },
        );
      }
      direct.set(country, site);
    });
  });
  return direct;
}

function regionClaims(
  assign: readonly SiteAssignment[],
  regions: ReadonlyMap<string, readonly string[]>,
  direct: ReadonlyMap<string, string>,
): Map<string, Claim> {
  const bySite = new Map<string, string>();
  const claims = new Map<string, Claim>();
  assign.forEach(({ regions: names, site }, i) => {
    names.forEach((region, j) => {
      const field = `assign[${i}].regions[${j}]`;
      const members = regions.get(region);
      if (members === undefined) {
        throw new ResidencyError('UNKNOWN_REGION', `no region named ${region}`, {
          details: { field, value: region },
        });
      }
      // A region under two sites is a conflict even if every member is pinned: the
      // operator meant something, and neither reading is safe to guess.
      const other = bySite.get(region);
      if (other !== undefined && other !== site) {
        throw new ResidencyError(
          'CONFLICTING_ASSIGNMENT',
          `region ${region} is assigned to both ${other} and ${site}`,
          {
            details: { field, value: region, region, sites: [other, site] },
          },
        );
      }
      bySite.set(region, site);
      for (const country of members) {
        if (direct.has(country)) continue;
        const claim = claims.get(country);
        if (claim !== undefined && claim.site !== site) {
          throw new ResidencyError(
            'CONFLICTING_ASSIGNMENT',
            `${country} is in region ${claim.region} (${claim.site}) and region ${region} (${site}); ` +
              'assign it directly to choose',
            {
              details: {
                field,
                value: region,
                country,
                sites: [claim.site, site],
                regions: [claim.region, region],
              },
            },
          );
        }
        // Among regions that agree on the site, the first one listed is reported as the rule.
        if (claim === undefined) claims.set(country, { site, region });
      }
    });
  });
  return claims;
}
