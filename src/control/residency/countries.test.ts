import { describe, expect, it } from 'vitest';
import { ALL_COUNTRY_CODES, countryName, isCountryCode } from './countries.js';

describe('isCountryCode', () => {
  describe('when given an assigned ISO 3166-1 alpha-2 code', () => {
    it.each(['CH', 'RU', 'DE', 'BR', 'SA', 'US', 'JP', 'GB', 'NO'])('accepts %s', (code) => {
      expect(isCountryCode(code)).toBe(true);
    });
  });

  describe('when given anything else', () => {
    it.each(['XX', 'UK', 'EU', 'ch', 'Ch', 'CHE', 'C', '', ' CH', 'CH ', '756', 'ZZ'])(
      'refuses %j',
      (code) => {
        expect(isCountryCode(code)).toBe(false);
      },
    );
  });
});

describe('ALL_COUNTRY_CODES', () => {
  describe('when read', () => {
    it('holds the full list of about 250 upper-case two-letter codes', () => {
      expect(ALL_COUNTRY_CODES.size).toBeGreaterThanOrEqual(249);
      for (const code of ALL_COUNTRY_CODES) expect(code).toMatch(/^[A-Z]{2}$/);
    });
  });
});

describe('countryName', () => {
  describe('when given a known code', () => {
    it('returns the English short name', () => {
      expect(countryName('CH')).toBe('Switzerland');
      expect(countryName('BR')).toBe('Brazil');
    });
  });

  describe('when given an unknown code', () => {
    it('returns undefined', () => {
      expect(countryName('UK')).toBeUndefined();
      expect(countryName('ch')).toBeUndefined();
    });
  });
});
