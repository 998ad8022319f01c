import { buildAssignmentTable } from './assignment-table.js';
import { isCountryCode } from './countries.js';
import { ResidencyError } from './residency-errors.js';

/** Sends the countries listed, and every member of the regions listed, to `site`. */
export interface SiteAssignment {
  readonly regions: readonly string[];
  readonly countries: readonly string[];
  readonly site: string;
}

/** A policy version as an operator writes it (config file or `policy set`). */
export interface PolicyVersionInput {
  /** RFC 3339 date-time with a zone; absent means "now". */
  readonly effectiveFrom?: string;
  readonly default: string;
  readonly assign: readonly SiteAssignment[];
}

/**
 * A stored, immutable policy version. Each version is a complete mapping, never a diff of the
 * one before, so that any past decision can be re-derived from one version alone.
 */
export interface PolicyVersion {
  /** 1-based position in the policy's history. */
  readonly version: number;
  readonly effectiveFrom: Date;
  readonly default: string;
  readonly assign: readonly SiteAssignment[];
  readonly createdAt: Date;
}

/**
 * The latest version of the history a new version would extend. A stored `PolicyVersion`
 * fits, and so does a `ValidatedPolicyVersion` when a whole file is checked before storage.
 */
export interface PreviousVersion {
  readonly effectiveFrom: Date;
  readonly version?: number;
}

/** A validated version that has not been given a number yet. */
export interface ValidatedPolicyVersion {
  readonly effectiveFrom: Date;
  readonly default: string;
  readonly assign: readonly SiteAssignment[];
}

/** The names a policy may refer to, from the configuration. */
export interface ResidencyContext {
  readonly sites: ReadonlySet<string>;
  readonly regions: ReadonlyMap<string, readonly string[]>;
}

export type ResolutionRule =
  | { readonly kind: 'country' }
  | { readonly kind: 'region'; readonly region: string }
  | { readonly kind: 'default' };

/** The answer to "which site holds country C's data at time T", with the reason. */
export interface Resolution {
  readonly country: string;
  readonly at: Date;
  readonly site: string;
  readonly version: number;
  readonly rule: ResolutionRule;
}

const REGION_NAME = /^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$/;

/**
 * Checks the configured regions and returns them with members de-duplicated and sorted.
 *
 * @example
 * const regions = validateRegions({ NORTH_AMERICA: ['US', 'CA'] });
 * regions.get('NORTH_AMERICA'); // ['CA', 'US']
 */
export function validateRegions(
  regions: Readonly<Record<string, readonly string[]>>,
): ReadonlyMap<string, readonly string[]> {
  const result = new Map<string, readonly string[]>();
  for (const [region, members] of Object.entries(regions)) {
    if (!REGION_NAME.test(region)) {
      throw new ResidencyError('INVALID_REGION', `region name ${region} is not UPPER_SNAKE_CASE`, {
        details: { field: region, value: region },
      });
    }
    // An empty region assigns nothing and would hide a mistyped or deleted list.
    if (members.length === 0) {
      throw new ResidencyError('INVALID_REGION', `region ${region} has no countries`, {
        details: { field: region, value: region },
      });
    }
    members.forEach((code, i) => {
      if (!isCountryCode(code)) {
        throw new ResidencyError(
          'UNKNOWN_COUNTRY',
          `region ${region} lists ${code}, not an ISO 3166-1 code`,
          {
            details: { field: `${region}[${i}]`, value: code, region },
          },
        );
      }
    });
    result.set(region, Object.freeze(uniqueSorted(members)));
  }
  return result;
}

/**
 * Checks a policy version against the configuration and the history it would extend, and
 * returns it normalised. A version may not take effect in the past, nor before the latest
 * version: decisions already taken under the history must stay reproducible.
 *
 * @example
 * const v = validatePolicyVersion(
 *   { effectiveFrom: '2022-03-01T00:00:00Z', default: 'moscow', assign: [{ regions: ['LATAM'], countries: [], site: 'zurich' }] },
 *   ctx,
 *   { now: new Date('2022-02-15T00:00:00Z'), previous: latest },
 * );
 */
export function validatePolicyVersion(
  input: PolicyVersionInput,
  ctx: ResidencyContext,
  options: { readonly now: Date; readonly previous?: PreviousVersion },
): ValidatedPolicyVersion {
  const effectiveFrom = checkEffectiveFrom(input.effectiveFrom, options.now, options.previous);
  checkSite(input.default, ctx, 'default');
  input.assign.forEach((assignment, i) => {
    checkAssignment(assignment, ctx, `assign[${i}]`);
  });
  buildAssignmentTable(input.assign, ctx.regions);
  return Object.freeze({
    effectiveFrom,
    default: input.default,
    assign: Object.freeze(
      input.assign.map((a) =>
        Object.freeze({
          regions: Object.freeze(uniqueSorted(a.regions)),
          countries: Object.freeze(uniqueSorted(a.countries)),
          site: a.site,
        }),
      ),
    ),
  });
}

function checkEffectiveFrom(
  text: string | undefined,
  now: Date,
  previous: PreviousVersion | undefined,
): Date {
  if (text === undefined) return checkNotBefore(new Date(now.getTime()), text, previous);
  const at = parseDateTime(text);
  if (at === undefined) {
    throw new ResidencyError(
      'INVALID_POLICY',
      `effectiveFrom ${text} is not an RFC 3339 date-time with a zone`,
      {
        details: { field: 'effectiveFrom', value: text },
      },
    );
  }
  // No clock-skew allowance: a version dated even a second ago would retroactively change
  // where data already registered in that second should have gone.
  if (at.getTime() < now.getTime()) {
    throw new ResidencyError(
      'EFFECTIVE_IN_PAST',
      `effectiveFrom ${text} is before now (${now.toISOString()})`,
      {
        details: { field: 'effectiveFrom', value: text, now: now.toISOString() },
      },
    );
  }
  return checkNotBefore(at, text, previous);
}

function checkNotBefore(at: Date, text: string | undefined, previous: PreviousVersion | undefined): Date {
  if (previous !== undefined && at.getTime() < previous.effectiveFrom.getTime()) {
    const since = previous.effectiveFrom.toISOString();
    const which = previous.version === undefined ? 'the previous version' : `version ${previous.version}`;
    throw new ResidencyError(
      'EFFECTIVE_IN_PAST',
      `effectiveFrom ${at.toISOString()} is before ${which} (${since})`,
      {
        details: { field: 'effectiveFrom', value: text ?? at.toISOString(), previousEffectiveFrom: since },
      },
    );
  }
  return at;
}

function checkAssignment(assignment: SiteAssignment, ctx: ResidencyContext, field: string): void {
  checkSite(assignment.site, ctx, `${field}.site`);
  if (assignment.regions.length === 0 && assignment.countries.length === 0) {
    throw new ResidencyError(
      'INVALID_POLICY',
      `${field} assigns no region and no country to ${assignment.site}`,
      {
        details: { field, value: assignment.site },
      },
    );
  }
  assignment.regions.forEach((region, j) => {
    if (!ctx.regions.has(region)) {
      throw new ResidencyError('UNKNOWN_REGION', `no region named ${region}`, {
        details: { field: `${field}.regions[${j}]`, value: region },
      });
    }
  });
  assignment.countries.forEach((code, j) => {
    if (!isCountryCode(code)) {
      throw new ResidencyError('UNKNOWN_COUNTRY', `${code} is not an ISO 3166-1 alpha-2 code`, {
        details: { field: `${field}.countries[${j}]`, value: code },
      });
    }
  });
}

/** Throws unless `site` is configured. Shared with compilation, which re-checks stored versions. */
export function checkSite(site: string, ctx: ResidencyContext, field: string): void {
  if (!ctx.sites.has(site)) {
    throw new ResidencyError('UNKNOWN_SITE', `no site named ${site}`, { details: { field, value: site } });
  }
}

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|[+-](\d{2}):(\d{2}))$/i;

/** RFC 3339 `date-time`. `Date.parse` alone would accept 2022-02-30 as 2 March, or no zone at all. */
function parseDateTime(text: string): Date | undefined {
  const m = DATE_TIME.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour, minute, second, offH, offM] = m.slice(1).map((s) => Number(s ?? 0));
  const calendar = new Date(Date.UTC(year!, month! - 1, day!));
  const valid =
    calendar.getUTCMonth() === month! - 1 &&
    calendar.getUTCDate() === day! &&
    hour! < 24 &&
    minute! < 60 &&
    second! < 60 &&
    offH! < 24 &&
    offM! < 60;
  const at = new Date(text);
  return valid && !Number.isNaN(at.getTime()) ? at : undefined;
}

function uniqueSorted(items: readonly string[]): string[] {
  return [...new Set(items)].sort();
}
