import { describe, expect, it } from 'vitest';
import {
  type PolicyVersion,
  type ResidencyContext,
  validatePolicyVersion,
  validateRegions,
} from './policy.js';
import { ResidencyError, type ResidencyErrorCode } from './residency-errors.js';

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
const now = new Date('2022-02-15T12:00:00Z');

describe('validateRegions', () => {
  describe('when every region is well formed', () => {
    it('returns members de-duplicated and sorted', () => {
      const regions = validateRegions({ NORTH_AMERICA: ['US', 'CA', 'US'], EU_EEA_CH: ['CH'] });
      expect(regions.get('NORTH_AMERICA')).toEqual(['CA', 'US']);
      expect(regions.get('EU_EEA_CH')).toEqual(['CH']);
    });
  });

  describe('when a member is not an ISO code', () => {
    it('throws UNKNOWN_COUNTRY naming the region and the code', () => {
      const error = expectResidencyError(() => validateRegions({ EU: ['DE', 'UK'] }), 'UNKNOWN_COUNTRY');
      expect(error.message).toContain('EU');
      expect(error.message).toContain('UK');
      expect(error.details).toEqual({ field: 'EU[1]', value: 'UK', region: 'EU' });
    });

    it.each(['de', 'XX', 'EU'])('refuses %s', (code) => {
      expectResidencyError(() => validateRegions({ EU: [code] }), 'UNKNOWN_COUNTRY');
    });
  });

  describe('when a region name is not UPPER_SNAKE', () => {
    it.each(['eu', 'North_America', 'LATAM-1', '_EU', 'EU__EEA', 'EU_', ''])(
      'throws INVALID_REGION for %j',
      (name) => {
        expectResidencyError(() => validateRegions({ [name]: ['DE'] }), 'INVALID_REGION');
      },
    );
  });

  describe('when a region is empty', () => {
    it('throws INVALID_REGION', () => {
      expectResidencyError(() => validateRegions({ EU: [] }), 'INVALID_REGION');
    });
  });
});

describe('validatePolicyVersion', () => {
  describe('when the version is valid', () => {
    it('returns it normalised, with countries and regions de-duplicated and sorted', () => {
      const v = validatePolicyVersion(
        {
          effectiveFrom: '2022-03-01T00:00:00+01:00',
          default: 'moscow',
          assign: [{ regions: ['NORTH_AMERICA', 'EU', 'EU'], countries: ['GB', 'CH', 'GB'], site: 'zurich' }],
        },
        ctx,
        { now },
      );
      expect(v.effectiveFrom.toISOString()).toBe('2022-02-28T23:00:00.000Z');
      expect(v.default).toBe('moscow');
      expect(v.assign).toEqual([
        { regions: ['EU', 'NORTH_AMERICA'], countries: ['CH', 'GB'], site: 'zurich' },
      ]);
      expect(Object.isFrozen(v)).toBe(true);
    });

    it('takes effect now when effectiveFrom is absent', () => {
      const v = validatePolicyVersion({ default: 'moscow', assign: [] }, ctx, { now });
      expect(v.effectiveFrom.getTime()).toBe(now.getTime());
    });

    it('accepts effectiveFrom exactly now', () => {
      const v = validatePolicyVersion(
        { effectiveFrom: now.toISOString(), default: 'moscow', assign: [] },
        ctx,
        { now },
      );
      expect(v.effectiveFrom.getTime()).toBe(now.getTime());
    });

    it('accepts a country pinned directly inside a region assigned elsewhere', () => {
      const v = validatePolicyVersion(
        {
          default: 'moscow',
          assign: [
            { regions: ['EU'], countries: [], site: 'zurich' },
            { regions: [], countries: ['DE'], site: 'frankfurt' },
          ],
        },
        ctx,
        { now },
      );
      expect(v.assign).toHaveLength(2);
    });

    it('accepts overlapping regions when the overlap is pinned directly', () => {
      validatePolicyVersion(
        {
          default: 'moscow',
          assign: [
            { regions: ['EU'], countries: [], site: 'zurich' },
            { regions: ['DACH'], countries: ['DE', 'AT'], site: 'frankfurt' },
          ],
        },
        ctx,
        { now },
      );
    });

    it('accepts overlapping regions that go to the same site', () => {
      validatePolicyVersion(
        { default: 'moscow', assign: [{ regions: ['EU', 'DACH'], countries: [], site: 'zurich' }] },
        ctx,
        { now },
      );
    });

    it('accepts the same effectiveFrom as the previous version', () => {
      const previous = storedVersion(1, '2022-03-01T00:00:00Z');
      validatePolicyVersion({ effectiveFrom: '2022-03-01T00:00:00Z', default: 'zurich', assign: [] }, ctx, {
        now,
        previous,
      });
    });
  });

  describe('when effectiveFrom is before now', () => {
    it('throws EFFECTIVE_IN_PAST, even by one millisecond', () => {
      const justBefore = new Date(now.getTime() - 1).toISOString();
      const error = expectResidencyError(
        () =>
          validatePolicyVersion({ effectiveFrom: justBefore, default: 'moscow', assign: [] }, ctx, { now }),
        'EFFECTIVE_IN_PAST',
      );
      expect(error.details).toMatchObject({ field: 'effectiveFrom', value: justBefore });
    });
  });

  describe('when effectiveFrom is before the previous version', () => {
    it('throws EFFECTIVE_IN_PAST', () => {
      const previous = storedVersion(3, '2022-06-01T00:00:00Z');
      const error = expectResidencyError(
        () =>
          validatePolicyVersion(
            { effectiveFrom: '2022-05-01T00:00:00Z', default: 'moscow', assign: [] },
            ctx,
            {
              now,
              previous,
            },
          ),
        'EFFECTIVE_IN_PAST',
      );
      expect(error.message).toContain('version 3');
    });

    it('throws EFFECTIVE_IN_PAST when effectiveFrom is absent and the previous one is scheduled', () => {
      const previous = storedVersion(2, '2022-06-01T00:00:00Z');
      expectResidencyError(
        () => validatePolicyVersion({ default: 'moscow', assign: [] }, ctx, { now, previous }),
        'EFFECTIVE_IN_PAST',
      );
    });
  });

  describe('when effectiveFrom is not an RFC 3339 date-time with a zone', () => {
    it.each([
      '2022-03-01',
      '2022-03-01T00:00:00',
      '2022-02-30T00:00:00Z',
      '2022-03-01T24:00:00Z',
      '2022-03-01T00:00Z',
      'tomorrow',
      '',
    ])('throws INVALID_POLICY for %j', (effectiveFrom) => {
      const error = expectResidencyError(
        () => validatePolicyVersion({ effectiveFrom, default: 'moscow', assign: [] }, ctx, { now }),
        'INVALID_POLICY',
      );
      expect(error.details).toEqual({ field: 'effectiveFrom', value: effectiveFrom });
    });
  });

  describe('when a name is unknown', () => {
    it('throws UNKNOWN_SITE for the default site', () => {
      const error = expectResidencyError(
        () => validatePolicyVersion({ default: 'geneva', assign: [] }, ctx, { now }),
        'UNKNOWN_SITE',
      );
      expect(error.details).toEqual({ field: 'default', value: 'geneva' });
    });

    it('throws UNKNOWN_SITE for an assignment', () => {
      const error = expectResidencyError(
        () =>
          validatePolicyVersion(
            { default: 'moscow', assign: [{ regions: ['EU'], countries: [], site: 'Zurich' }] },
            ctx,
            { now },
          ),
        'UNKNOWN_SITE',
      );
      expect(error.details).toEqual({ field: 'assign[0].site', value: 'Zurich' });
    });

    it('throws UNKNOWN_REGION naming the key', () => {
      const error = expectResidencyError(
        () =>
          validatePolicyVersion(
            {
              default: 'moscow',
              assign: [
                { regions: ['EU'], countries: [], site: 'zurich' },
                { regions: ['EUX'], countries: [], site: 'frankfurt' },
              ],
            },
            ctx,
            { now },
          ),
        'UNKNOWN_REGION',
      );
      expect(error.details).toEqual({ field: 'assign[1].regions[0]', value: 'EUX' });
    });

    it('throws UNKNOWN_COUNTRY naming the key', () => {
      const error = expectResidencyError(
        () =>
          validatePolicyVersion(
            { default: 'moscow', assign: [{ regions: [], countries: ['CH', 'UK'], site: 'zurich' }] },
            ctx,
            { now },
          ),
        'UNKNOWN_COUNTRY',
      );
      expect(error.details).toEqual({ field: 'assign[0].countries[1]', value: 'UK' });
    });
  });

  describe('when an assignment names nothing', () => {
    it('throws INVALID_POLICY', () => {
      const error = expectResidencyError(
        () =>
          validatePolicyVersion(
            { default: 'moscow', assign: [{ regions: [], countries: [], site: 'zurich' }] },
            ctx,
            { now },
          ),
        'INVALID_POLICY',
      );
      expect(error.details).toMatchObject({ field: 'assign[0]' });
    });
  });

  describe('when a country would go to two sites', () => {
    it('throws CONFLICTING_ASSIGNMENT for a country listed directly under two sites', () => {
      const error = expectResidencyError(
        () =>
          validatePolicyVersion(
            {
              default: 'moscow',
              assign: [
                { regions: [], countries: ['CH'], site: 'zurich' },
                { regions: [], countries: ['DE', 'CH'], site: 'frankfurt' },
              ],
            },
            ctx,
            { now },
          ),
        'CONFLICTING_ASSIGNMENT',
      );
      expect(error.message).toContain('CH');
      expect(error.details).toMatchObject({
        field: 'assign[1].countries[1]',
        country: 'CH',
        sites: ['zurich', 'frankfurt'],
      });
    });

    it('throws CONFLICTING_ASSIGNMENT for overlapping regions with different sites', () => {
      const error = expectResidencyError(
        () =>
          validatePolicyVersion(
            {
              default: 'moscow',
              assign: [
                { regions: ['EU'], countries: ['DE'], site: 'zurich' },
                { regions: ['DACH'], countries: [], site: 'frankfurt' },
              ],
            },
            ctx,
            { now },
          ),
        'CONFLICTING_ASSIGNMENT',
      );
      // DE is pinned, so the first unpinned country in both regions is AT.
      expect(error.message).toContain('AT');
      expect(error.details).toMatchObject({
        field: 'assign[1].regions[0]',
        country: 'AT',
        sites: ['zurich', 'frankfurt'],
        regions: ['EU', 'DACH'],
      });
    });

    it('throws CONFLICTING_ASSIGNMENT for one region under two sites', () => {
      const error = expectResidencyError(
        () =>
          validatePolicyVersion(
            {
              default: 'moscow',
              assign: [
                { regions: ['NORTH_AMERICA'], countries: ['US', 'CA'], site: 'zurich' },
                { regions: ['NORTH_AMERICA'], countries: [], site: 'frankfurt' },
              ],
            },
            ctx,
            { now },
          ),
        'CONFLICTING_ASSIGNMENT',
      );
      expect(error.details).toMatchObject({ region: 'NORTH_AMERICA', sites: ['zurich', 'frankfurt'] });
    });
  });
});

function storedVersion(version: number, effectiveFrom: string): PolicyVersion {
  const at = new Date(effectiveFrom);
  return { version, effectiveFrom: at, default: 'moscow', assign: [], createdAt: at };
}
