import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { isCountryCode } from './countries.js';
import {
  type PolicyVersion,
  type PolicyVersionInput,
  type ResidencyContext,
  validatePolicyVersion,
  validateRegions,
} from './policy.js';
import { ResidencyError } from './residency-errors.js';
import { compilePolicy, resolveSite } from './resolution.js';

interface ExampleFile {
  readonly sites: Record<string, { readonly jurisdiction: string; readonly description: string }>;
  readonly regions: Record<string, string[]>;
  readonly policy: PolicyVersionInput[];
}

const file = parse(
  readFileSync(new URL('../../config/example-config.yaml', import.meta.url), 'utf8'),
) as ExampleFile;
const regions = validateRegions(file.regions);
const ctx: ResidencyContext = { sites: new Set(Object.keys(file.sites)), regions };

/** Replays the file as `policy set` would have, each version validated on its own effectiveFrom. */
function replay(): PolicyVersion[] {
  const versions: PolicyVersion[] = [];
  for (const input of file.policy) {
    const now = new Date(input.effectiveFrom ?? Number.NaN);
    const previous = versions.at(-1);
    const v = validatePolicyVersion(input, ctx, previous === undefined ? { now } : { now, previous });
    versions.push({ ...v, version: versions.length + 1, createdAt: now });
  }
  return versions;
}

const versions = replay();
const policy = compilePolicy(versions, ctx);

describe('example-config.yaml', () => {
  describe('when its sites and regions are read', () => {
    it('has zurich (CH) and moscow (RU) sites', () => {
      expect(file.sites.zurich?.jurisdiction).toBe('CH');
      expect(file.sites.moscow?.jurisdiction).toBe('RU');
    });

    it('defines EU as the 27 member states, IS, LI, NO and CH', () => {
      const eu = regions.get('EU') ?? [];
      expect(eu).toHaveLength(31);
      for (const code of ['DE', 'FR', 'GR', 'CY', 'IS', 'LI', 'NO', 'CH']) expect(eu).toContain(code);
      expect(eu).not.toContain('GB');
    });

    it('keeps the regions disjoint, so no country depends on precedence between them', () => {
      const seen = new Map<string, string>();
      for (const [region, members] of regions) {
        for (const code of members) {
          expect(seen.get(code), `${code} in ${region}`).toBeUndefined();
          seen.set(code, region);
        }
      }
      expect([...regions.keys()].sort()).toEqual(['APAC', 'EU', 'LATAM', 'MIDDLE_EAST', 'NORTH_AMERICA']);
    });

    it('names only ISO 3166-1 jurisdictions', () => {
      for (const site of Object.values(file.sites)) expect(isCountryCode(site.jurisdiction)).toBe(true);
    });
  });

  describe('when its policy is replayed in order', () => {
    it('accepts five complete versions, the first one with everything in moscow', () => {
      expect(versions.map((v) => v.effectiveFrom.toISOString().slice(0, 10))).toEqual([
        '2017-01-01',
        '2018-11-01',
        '2020-01-01',
        '2020-07-01',
        '2022-03-01',
      ]);
      expect(versions[0]?.assign).toEqual([]);
      expect(versions.every((v) => v.default === 'moscow')).toBe(true);
    });
  });

  describe('when countries are resolved through its history', () => {
    it.each([
      ['BR', '2022-02-28T23:59:59Z', 'moscow', 4],
      ['BR', '2022-03-01T00:00:00Z', 'zurich', 5],
      ['SA', '2022-02-01T00:00:00Z', 'moscow', 4],
      ['SA', '2022-03-02T00:00:00Z', 'zurich', 5],
      ['DE', '2018-10-31T23:59:59Z', 'moscow', 1],
      ['DE', '2018-11-01T00:00:00Z', 'zurich', 2],
      ['DE', '2024-01-01T00:00:00Z', 'zurich', 5],
      ['CH', '2019-01-01T00:00:00Z', 'zurich', 2],
      ['GB', '2019-01-01T00:00:00Z', 'zurich', 2],
      ['US', '2019-12-31T23:59:59Z', 'moscow', 2],
      ['US', '2020-01-01T00:00:00Z', 'zurich', 3],
      ['CA', '2021-01-01T00:00:00Z', 'zurich', 4],
      ['JP', '2020-06-30T23:59:59Z', 'moscow', 3],
      ['JP', '2020-07-01T00:00:00Z', 'zurich', 4],
      ['MX', '2021-01-01T00:00:00Z', 'moscow', 4],
      ['MX', '2022-03-01T00:00:00Z', 'zurich', 5],
      ['CN', '2024-01-01T00:00:00Z', 'moscow', 5],
    ])('sends %s at %s to %s (version %i)', (country, at, site, version) => {
      expect(resolveSite(policy, country, new Date(at))).toMatchObject({ site, version });
    });

    it('names the rule that decided', () => {
      const at = new Date('2022-03-02T00:00:00Z');
      expect(resolveSite(policy, 'SA', at).rule).toEqual({ kind: 'region', region: 'MIDDLE_EAST' });
      expect(resolveSite(policy, 'GB', at).rule).toEqual({ kind: 'country' });
      expect(resolveSite(policy, 'RU', at).rule).toEqual({ kind: 'default' });
    });

    it('keeps RU in moscow under every version', () => {
      for (const v of versions) {
        expect(resolveSite(policy, 'RU', v.effectiveFrom)).toMatchObject({
          site: 'moscow',
          version: v.version,
        });
      }
      expect(resolveSite(policy, 'RU', new Date('2030-01-01T00:00:00Z')).site).toBe('moscow');
    });

    it('has no answer before the first version', () => {
      expect(() => resolveSite(policy, 'RU', new Date('2016-12-31T23:59:59Z'))).toThrow(ResidencyError);
      try {
        resolveSite(policy, 'RU', new Date('2016-12-31T23:59:59Z'));
      } catch (error) {
        expect((error as ResidencyError).code).toBe('NO_POLICY_IN_FORCE');
      }
    });
  });
});
