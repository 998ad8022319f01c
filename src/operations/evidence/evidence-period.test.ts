import { describe, expect, it } from 'vitest';
import { inPeriod, MAX_EVIDENCE_DAYS, parseEvidencePeriod } from './evidence-period.js';

describe('parseEvidencePeriod', () => {
  it('takes both days in, UTC', () => {
    const period = parseEvidencePeriod('2026-01-01', '2026-06-30');
    expect(period).toEqual({
      from: '2026-01-01',
      to: '2026-06-30',
      start: '2026-01-01T00:00:00.000Z',
      end: '2026-07-01T00:00:00.000Z',
    });
    expect(inPeriod(period, '2026-06-30T23:59:59.999Z')).toBe(true);
    expect(inPeriod(period, '2026-06-30')).toBe(true);
    expect(inPeriod(period, '2026-07-01T00:00:00.000Z')).toBe(false);
    expect(inPeriod(period, '2025-12-31T23:59:59.999Z')).toBe(false);
    expect(inPeriod(period, null)).toBe(false);
    expect(inPeriod(period, 'not a time')).toBe(false);
  });

  it('accepts a single day', () => {
    expect(parseEvidencePeriod('2026-02-28', '2026-02-28').end).toBe('2026-03-01T00:00:00.000Z');
  });

  describe('when a date is bad', () => {
    it.each([
      ['2026-02-30', '2026-03-01'],
      ['2026-13-01', '2026-12-31'],
      ['2026-1-1', '2026-02-01'],
      ['2026-01-01T00:00:00Z', '2026-02-01'],
      ['', '2026-02-01'],
      [undefined, '2026-02-01'],
      ['2026-03-02', '2026-03-01'],
    ])('refuses %s to %s with INVALID_EVIDENCE_PERIOD', (from, to) => {
      expect(() => parseEvidencePeriod(from, to)).toThrow(
        expect.objectContaining({ code: 'INVALID_EVIDENCE_PERIOD' }),
      );
    });

    it('refuses a period longer than the limit, and accepts the limit', () => {
      const start = Date.parse('2020-01-01T00:00:00.000Z');
      const last = (days: number) => new Date(start + (days - 1) * 86_400_000).toISOString().slice(0, 10);
      expect(() => parseEvidencePeriod('2020-01-01', last(MAX_EVIDENCE_DAYS))).not.toThrow();
      expect(() => parseEvidencePeriod('2020-01-01', last(MAX_EVIDENCE_DAYS + 1))).toThrow(
        expect.objectContaining({ code: 'INVALID_EVIDENCE_PERIOD' }),
      );
    });
  });
});
