import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { StatsGroup } from '../../ports/storage.js';
import {
  byEvents,
  byKey,
  firstGroupsByKey,
  mergeGroups,
  parseGroupBy,
  parseRange,
  parseTypes,
} from './stats-query.js';

describe('mergeGroups', () => {
  describe('when the same group comes from several sites', () => {
    it('sums events and installations, then suppresses on the total', () => {
      const zurich = [
        { key: ['BR'], events: 10, installations: 3 },
        { key: ['DE'], events: 4, installations: 2 },
      ];
      const moscow = [
        { key: ['BR'], events: 7, installations: 2 },
        { key: ['RU'], events: 50, installations: 9 },
      ];
      const { groups, suppressed } = mergeGroups([zurich, moscow], 5);
      expect(groups.sort(byEvents)).toEqual([
        { key: ['RU'], events: 50, installations: 9 },
        { key: ['BR'], events: 17, installations: 5 },
      ]);
      expect(suppressed).toBe(1);
    });
  });

  it('orders by key with absent values last', () => {
    const groups = [
      { key: [null], events: 1, installations: 1 },
      { key: ['b'], events: 1, installations: 1 },
      { key: ['a'], events: 1, installations: 1 },
    ];
    expect(groups.sort(byKey).map((g) => g.key[0])).toEqual(['a', 'b', null]);
  });
});

describe('firstGroupsByKey', () => {
  /** A site's answer: distinct keys of two values (null among them), sorted unless told. */
  const site = (sorted: boolean) =>
    fc
      .uniqueArray(
        fc.record({
          key: fc.tuple(
            fc.constantFrom('a', 'b', 'é', '\u{1F600}', '\uFF01', null),
            fc.constantFrom('x', 'y', null),
          ),
          events: fc.integer({ min: 1, max: 50 }),
          installations: fc.integer({ min: 1, max: 6 }),
        }),
        { selector: (group) => JSON.stringify(group.key), maxLength: 18 },
      )
      .map((groups: StatsGroup[]) => (sorted ? groups.sort(byKey) : groups));

  it('answers as merging, sorting by key and taking the first `limit` do, whether the runs are sorted or not', () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean().chain(site), { maxLength: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 20 }),
        (perSite, minGroupSize, limit) => {
          const { groups, suppressed } = mergeGroups(perSite, minGroupSize);
          groups.sort(byKey);
          expect(firstGroupsByKey(perSite, minGroupSize, limit)).toEqual({
            groups: groups.slice(0, limit),
            suppressed,
            truncated: groups.length > limit,
          });
        },
      ),
    );
  });

  it('sums a group that several sites have and suppresses it on the total', () => {
    const zurich = [
      { key: ['BR'], events: 10, installations: 3 },
      { key: ['DE'], events: 4, installations: 2 },
    ];
    const moscow = [
      { key: ['BR'], events: 7, installations: 2 },
      { key: ['RU'], events: 50, installations: 9 },
    ];
    expect(firstGroupsByKey([zurich, moscow], 5, 1)).toEqual({
      groups: [{ key: ['BR'], events: 17, installations: 5 }],
      suppressed: 1,
      truncated: true,
    });
  });
});

describe('query parsing', () => {
  it('reads group keys and event types', () => {
    expect(parseGroupBy('day,country,threat')).toEqual(['day', 'country', 'threat']);
    expect(parseTypes('detection,scan')).toEqual(['detection', 'scan']);
  });

  for (const [what, run] of [
    ['an unknown group key', () => parseGroupBy('day,installation')],
    ['a repeated group key', () => parseGroupBy('day,day')],
    ['an unknown type', () => parseTypes('crash')],
    ['an inverted range', () => parseRange('2026-11-23', '2026-11-01')],
    ['an empty range', () => parseRange('2026-11-23', '2026-11-23')],
    ['a bad date', () => parseRange('2026-13-01', undefined)],
    ['a day that does not exist', () => parseRange(undefined, '2026-02-30')],
    ['a date-time without a zone', () => parseRange('2026-11-01T10:00:00', undefined)],
  ] as const) {
    it(`refuses ${what} with INVALID_STATS_QUERY`, () => {
      expect(run).toThrow(expect.objectContaining({ code: 'INVALID_STATS_QUERY' }));
    });
  }

  it('reads dates as UTC midnight and date-times with their zone', () => {
    expect(parseRange('2026-11-01', '2026-11-02T01:00:00+01:00')).toEqual({
      from: new Date('2026-11-01T00:00:00Z'),
      to: new Date('2026-11-02T00:00:00Z'),
    });
  });
});
