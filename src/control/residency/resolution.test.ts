import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ALL_COUNTRY_CODES } from './countries.js';
import {
  type PolicyVersion,
  type PolicyVersionInput,
  type ResidencyContext,
  validatePolicyVersion,
  validateRegions,
} from './policy.js';
import { ResidencyError, type ResidencyErrorCode } from './residency-errors.js';
import { compilePolicy, compilePolicyVersion, resolveSite, versionInForce } from './resolution.js';

function expectResidencyError(run: () => unknown, code: ResidencyErrorCode): ResidencyError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ResidencyError);
    expect((error as ResidencyError).code).toBe(code);
    return error as ResidencyError;
  }
  throw new Error(`expected a ResidencyError ${code}, nothing was thrown`);
}

const ctx: ResidencyContext = {
  sites: new Set(['zurich', 'moscow', 'frankfurt']),
  regions: validateRegions({
    EU: ['DE', 'FR', 'AT'],
    DACH: ['DE', 'AT', 'CH'],
    NORTH_AMERICA: ['US', 'CA'],
  }),
};

/** Validates and numbers inputs in order, each "now" being its own effectiveFrom. */
function history(inputs: readonly PolicyVersionInput[]): PolicyVersion[] {
  const versions: PolicyVersion[] = [];
  for (const input of inputs) {
    const now = new Date(input.effectiveFrom ?? 0);
    const previous = versions.at(-1);
    const v = validatePolicyVersion(input, ctx, previous === undefined ? { now } : { now, previous });
    versions.push({ ...v, version: versions.length + 1, createdAt: now });
  }
  return versions;
}

const versions = history([
  { effectiveFrom: '2020-01-01T00:00:00Z', default: 'moscow', assign: [] },
  {
    effectiveFrom: '2021-01-01T00:00:00Z',
    default: 'moscow',
    assign: [
      { regions: ['EU'], countries: ['RU'], site: 'zurich' },
      { regions: ['NORTH_AMERICA'], countries: ['DE'], site: 'frankfurt' },
    ],
  },
  // Same instant as the next one: the higher version number must win.
  { effectiveFrom: '2022-01-01T00:00:00Z', default: 'moscow', assign: [] },
  { effectiveFrom: '2022-01-01T00:00:00Z', default: 'zurich', assign: [] },
]);
const policy = compilePolicy(versions, ctx);

describe('versionInForce', () => {
  describe('when `at` falls inside the history', () => {
    it('returns the version with the greatest effectiveFrom not after `at`', () => {
      expect(versionInForce(versions, new Date('2020-12-31T23:59:59.999Z'))?.version).toBe(1);
      expect(versionInForce(versions, new Date('2021-01-01T00:00:00Z'))?.version).toBe(2);
    });

    it('prefers the higher version number on a tie, whatever the order given', () => {
      const at = new Date('2022-06-01T00:00:00Z');
      expect(versionInForce(versions, at)?.version).toBe(4);
      expect(versionInForce([...versions].reverse(), at)?.version).toBe(4);
    });
  });

  describe('when `at` precedes the history', () => {
    it('returns undefined', () => {
      expect(versionInForce(versions, new Date('2019-12-31T23:59:59Z'))).toBeUndefined();
      expect(versionInForce([], new Date())).toBeUndefined();
    });
  });
});

describe('resolveSite', () => {
  const during2021 = new Date('2021-06-01T00:00:00Z');

  describe('when a country is assigned directly', () => {
    it('wins over a region containing it', () => {
      expect(resolveSite(policy, 'DE', during2021)).toMatchObject({
        site: 'frankfurt',
        version: 2,
        rule: { kind: 'country' },
      });
    });

    it('applies outside any region too', () => {
      expect(resolveSite(policy, 'RU', during2021)).toMatchObject({
        site: 'zurich',
        rule: { kind: 'country' },
      });
    });
  });

  describe('when a country is only in a region', () => {
    it('goes to the region site and names the region', () => {
      expect(resolveSite(policy, 'FR', during2021)).toEqual({
        country: 'FR',
        at: during2021,
        site: 'zurich',
        version: 2,
        rule: { kind: 'region', region: 'EU' },
      });
      expect(resolveSite(policy, 'US', during2021)).toMatchObject({
        site: 'frankfurt',
        rule: { kind: 'region', region: 'NORTH_AMERICA' },
      });
    });
  });

  describe('when no rule names the country', () => {
    it('goes to the default site', () => {
      expect(resolveSite(policy, 'JP', during2021)).toMatchObject({
        site: 'moscow',
        rule: { kind: 'default' },
      });
      // CH is in DACH, but DACH is not assigned.
      expect(resolveSite(policy, 'CH', during2021)).toMatchObject({
        site: 'moscow',
        rule: { kind: 'default' },
      });
    });
  });

  describe('when two versions share an effectiveFrom', () => {
    it('uses the higher version number', () => {
      expect(resolveSite(policy, 'JP', new Date('2022-01-01T00:00:00Z'))).toMatchObject({
        site: 'zurich',
        version: 4,
      });
    });
  });

  describe('when `at` precedes the first version', () => {
    it('throws NO_POLICY_IN_FORCE', () => {
      expectResidencyError(
        () => resolveSite(policy, 'DE', new Date('2019-01-01T00:00:00Z')),
        'NO_POLICY_IN_FORCE',
      );
      expectResidencyError(() => resolveSite(policy, 'DE', new Date(Number.NaN)), 'NO_POLICY_IN_FORCE');
    });
  });

  describe('when the country code is not ISO 3166-1 alpha-2', () => {
    it.each(['UK', 'XX', 'de', 'EU', 'DEU'])('throws UNKNOWN_COUNTRY for %s', (code) => {
      const error = expectResidencyError(() => resolveSite(policy, code, during2021), 'UNKNOWN_COUNTRY');
      expect(error.details).toEqual({ field: 'country', value: code });
    });
  });
});

describe('compilePolicyVersion', () => {
  describe('when the configuration no longer has a site the version uses', () => {
    it('throws UNKNOWN_SITE', () => {
      const shrunk: ResidencyContext = { sites: new Set(['moscow']), regions: ctx.regions };
      const v2 = versions[1]!;
      expectResidencyError(() => compilePolicyVersion(v2, shrunk), 'UNKNOWN_SITE');
    });
  });

  describe('when the configuration no longer has a region the version uses', () => {
    it('throws UNKNOWN_REGION', () => {
      const shrunk: ResidencyContext = { sites: ctx.sites, regions: new Map() };
      expectResidencyError(() => compilePolicyVersion(versions[1]!, shrunk), 'UNKNOWN_REGION');
    });
  });
});

describe('resolveSite (property)', () => {
  const siteArb = fc.constantFrom(...ctx.sites);
  const pool = ['DE', 'FR', 'AT', 'CH', 'US', 'CA', 'RU', 'JP', 'BR'];
  const assignmentArb = fc.record({
    regions: fc.uniqueArray(fc.constantFrom(...ctx.regions.keys()), { maxLength: 2 }),
    countries: fc.uniqueArray(fc.constantFrom(...pool), { maxLength: 3 }),
    site: siteArb,
  });
  const versionArb = fc.record({
    days: fc.integer({ min: 0, max: 400 }),
    default: siteArb,
    assign: fc.array(assignmentArb, { maxLength: 3 }),
  });
  type Draft = typeof versionArb extends fc.Arbitrary<infer T> ? T : never;
  const queryArb = fc.record({
    country: fc.oneof(fc.constantFrom(...pool), fc.constantFrom(...ALL_COUNTRY_CODES)),
    days: fc.integer({ min: 0, max: 2000 }),
  });
  const start = Date.parse('2020-01-01T00:00:00Z');
  const day = 86_400_000;

  /** Accepts each generated version the validator accepts; a rejection must be a ResidencyError. */
  function buildHistory(drafts: readonly Draft[]): PolicyVersion[] {
    const accepted: PolicyVersion[] = [];
    let at = start;
    for (const draft of drafts) {
      at += draft.days * day;
      const effectiveFrom = new Date(at).toISOString();
      const now = new Date(at);
      const previous = accepted.at(-1);
      try {
        const v = validatePolicyVersion(
          { effectiveFrom, default: draft.default, assign: draft.assign },
          ctx,
          previous === undefined ? { now } : { now, previous },
        );
        accepted.push({ ...v, version: accepted.length + 1, createdAt: now });
      } catch (error) {
        if (!(error instanceof ResidencyError)) throw error;
        expect(['CONFLICTING_ASSIGNMENT', 'INVALID_POLICY']).toContain(error.code);
      }
    }
    return accepted;
  }

  /** An independent reading of the precedence rules, straight off the uncompiled version. */
  function expectedSite(v: PolicyVersion, country: string): string {
    const direct = v.assign.find((a) => a.countries.includes(country));
    if (direct !== undefined) return direct.site;
    const viaRegion = v.assign.find((a) => a.regions.some((r) => ctx.regions.get(r)?.includes(country)));
    return viaRegion?.site ?? v.default;
  }

  it('always resolves to a known site, the one the version in force maps the country to', () => {
    fc.assert(
      fc.property(fc.array(versionArb, { minLength: 1, maxLength: 6 }), queryArb, (drafts, query) => {
        const accepted = buildHistory(drafts);
        fc.pre(accepted.length > 0);
        const compiled = compilePolicy(accepted, ctx);
        const at = new Date(start + query.days * day);
        const inForce = versionInForce(accepted, at);
        if (inForce === undefined) {
          expectResidencyError(() => resolveSite(compiled, query.country, at), 'NO_POLICY_IN_FORCE');
          return;
        }
        const resolution = resolveSite(compiled, query.country, at);
        expect(ctx.sites.has(resolution.site)).toBe(true);
        expect(resolution.version).toBe(inForce.version);
        expect(resolution.site).toBe(expectedSite(inForce, query.country));
      }),
      { numRuns: 500 },
    );
  });
});
