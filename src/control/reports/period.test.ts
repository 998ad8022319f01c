import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import { formatPeriod, halvesOf, inPeriod, parsePeriod, periodBounds, previousPeriod } from './period.js';
import { ReportError } from './report-errors.js';

describe('parsePeriod', () => {
  describe('when given a year or a half', () => {
    it.each([
      ['2021', '2021-01-01', '2021-12-31', '2020'],
      ['2021-H1', '2021-01-01', '2021-06-30', '2020-H2'],
      ['2021-H2', '2021-07-01', '2021-12-31', '2021-H1'],
    ])('reads %s as %s to %s, after %s', (text, first, last, previous) => {
      const period = parsePeriod(text);
      expect(formatPeriod(period)).toBe(text);
      expect(periodBounds(period)).toEqual({ first, last });
      expect(formatPeriod(previousPeriod(period))).toBe(previous);
    });

    it('splits a year into its halves and a half into nothing', () => {
      expect(halvesOf(parsePeriod('2021')).map(formatPeriod)).toEqual(['2021-H1', '2021-H2']);
      expect(halvesOf(parsePeriod('2021-H2'))).toEqual([]);
    });

    it('counts a date in the period of its day, both ends included', () => {
      const h2 = parsePeriod('2021-H2');
      expect(inPeriod('2021-06-30', h2)).toBe(false);
      expect(inPeriod('2021-07-01', h2)).toBe(true);
      expect(inPeriod('2021-12-31', h2)).toBe(true);
      expect(inPeriod('2022-01-01', h2)).toBe(false);
    });
  });

  describe('when given anything else', () => {
    it.each(['21', '2021-H3', '2021-h2', '2021-Q1', '2021-H1 ', '1969', '2021-07'])('refuses %j', (text) => {
      expect(thrownCode(() => parsePeriod(text), ReportError)).toBe('INVALID_PERIOD');
    });
  });
});
