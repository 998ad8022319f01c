import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  expectedLegal,
  expectedPrivacy,
  type LegalHistory,
  legalEntries,
  legalHistory,
  type PrivacyHistory,
  privacyEntries,
  privacyHistory,
} from '../../../test/support/desk-entries.js';
import { canonicalJson, type JsonValue } from '../../ledger/note/index.js';
import { deskStates } from './desk-entries.js';
import { parsePeriod } from './period.js';
import { computeReportNumbers, type LegalOutcomes, sumRejected } from './report-numbers.js';

const PERIODS = ['2020', '2020-H2', '2021', '2021-H1', '2021-H2', '2022-H1'] as const;

function entriesOf(
  legal: readonly LegalHistory[],
  privacy: readonly PrivacyHistory[],
  noise: readonly string[] = [],
) {
  return [...legal.flatMap((h) => legalEntries(h)), ...privacy.flatMap((h) => privacyEntries(h))]
    .map((e) => canonicalJson(e as unknown as JsonValue))
    .concat(noise);
}

function partitionSum(o: LegalOutcomes): number {
  return o.fulfilled + o.partially_fulfilled + sumRejected(o) + o.withdrawn + o.open;
}

describe('computeReportNumbers', () => {
  describe('when given arbitrary request histories', () => {
    it('agrees with counts computed independently, for every period', () => {
      fc.assert(
        fc.property(
          fc.array(legalHistory, { maxLength: 60 }),
          fc.array(privacyHistory, { maxLength: 40 }),
          (legal, privacy) => {
            const states = deskStates(entriesOf(legal, privacy));
            for (const period of PERIODS) {
              const n = computeReportNumbers(states, parsePeriod(period));
              const want = expectedLegal(legal, period);
              expect(n.legal.total).toBe(want.total);
              expect(n.legal.countries).toBe(want.countries);
              expect(n.legal.byCategory).toEqual({
                user_data: want.userData,
                technical_expertise: want.technical,
              });
              expect(n.legal.byOutcome.fulfilled).toBe(want.fulfilled);
              expect(n.legal.byOutcome.partially_fulfilled).toBe(want.partially);
              expect(n.legal.byOutcome.withdrawn).toBe(want.withdrawn);
              expect(n.legal.byOutcome.rejected.no_data).toBe(want.rejectedNoData);
              expect(n.legal.rejected).toBe(want.rejected);
              expect(sumRejected(n.legal.byCategoryOutcome.technical_expertise)).toBe(want.technicalRejected);
              expect(n.legal.open).toBe(want.open);
              expect(n.legal.byAuthorityKind.court).toBe(want.court);
              expect(Object.fromEntries(n.legal.byCountry.map((c) => [c.country, c.total]))).toEqual(
                want.perCountry,
              );
              expect(n.legal.rejectedShare).toEqual(want.share);
              const p = expectedPrivacy(privacy, period);
              expect(n.privacy.total).toBe(p.total);
              expect(n.privacy.byType.erasure).toBe(p.erasure);
              expect(n.privacy.byOutcome.completed).toBe(p.completed);
              expect(n.privacy.byOutcome.open).toBe(p.open);
            }
          },
        ),
        { numRuns: 150 },
      );
    });

    it('keeps outcomes an exclusive partition, per category and per table row', () => {
      fc.assert(
        fc.property(fc.array(legalHistory, { maxLength: 60 }), (legal) => {
          const n = computeReportNumbers(deskStates(entriesOf(legal, [])), parsePeriod('2021'));
          expect(partitionSum(n.legal.byOutcome)).toBe(n.legal.total);
          for (const category of ['user_data', 'technical_expertise'] as const) {
            expect(partitionSum(n.legal.byCategoryOutcome[category])).toBe(n.legal.byCategory[category]);
          }
          for (const row of n.legal.table) {
            expect(row.fulfilled + row.partially_fulfilled + row.rejected + row.withdrawn + row.open).toBe(
              row.requests,
            );
          }
          expect(n.legal.table.reduce((s, r) => s + r.requests, 0)).toBe(n.legal.total);
        }),
      );
    });

    it('adds the halves up to the year, except countries, which are a union', () => {
      fc.assert(
        fc.property(
          fc.array(legalHistory, { maxLength: 60 }),
          fc.array(privacyHistory, { maxLength: 30 }),
          (l, p) => {
            const n = computeReportNumbers(deskStates(entriesOf(l, p)), parsePeriod('2021'));
            const [h1, h2] = n.halves;
            expect(n.legal.total).toBe(h1!.legal.total + h2!.legal.total);
            expect(n.legal.rejected).toBe(h1!.legal.rejected + h2!.legal.rejected);
            expect(n.privacy.total).toBe(h1!.privacy.total + h2!.privacy.total);
            expect(n.legal.countries).toBeGreaterThanOrEqual(
              Math.max(h1!.legal.countries, h2!.legal.countries),
            );
            expect(n.legal.countries).toBeLessThanOrEqual(h1!.legal.countries + h2!.legal.countries);
            expect(n.legal.countries).toBe(expectedLegal(l, '2021').countries);
          },
        ),
      );
    });
  });

  describe('the rejected share', () => {
    const request = (i: number, state: string): LegalHistory => ({
      request: `r${i}`,
      receivedAt: '2021-08-01',
      requesterCountry: 'DE',
      authorityKind: 'court',
      category: 'technical_expertise',
      states: ['received', state],
      reason: 'no_data',
    });

    it('is "at least" while a request of the period is open, and exact once all are closed', () => {
      const open = [...Array.from({ length: 40 }, (_, i) => request(i, 'rejected'))];
      for (let i = 40; i < 104; i++) open.push(request(i, 'fulfilled'));
      for (let i = 104; i < 109; i++) open.push(request(i, 'in_verification'));
      const before = computeReportNumbers(deskStates(entriesOf(open, [])), parsePeriod('2021-H2'));
      expect(before.legal.rejectedShare).toEqual({ value: 36, atLeast: true });
      // The five open ones close, all rejected: the share grows, and is no longer a bound.
      const after = computeReportNumbers(
        deskStates(
          entriesOf(
            open.map((h, i) => (i >= 104 ? request(i, 'rejected') : h)),
            [],
          ),
        ),
        parsePeriod('2021-H2'),
      );
      expect(after.legal.rejectedShare).toEqual({ value: 41, atLeast: false });
    });

    it('rounds down, so that "at least" is never an overstatement', () => {
      const requests = [request(0, 'rejected'), request(1, 'fulfilled'), request(2, 'fulfilled')];
      expect(
        computeReportNumbers(deskStates(entriesOf(requests, [])), parsePeriod('2021')).legal.rejectedShare,
      ).toEqual({
        value: 33,
        atLeast: false,
      });
    });

    it('is 0 and exact for a period without requests', () => {
      expect(computeReportNumbers(deskStates([]), parsePeriod('2019')).legal.rejectedShare).toEqual({
        value: 0,
        atLeast: false,
      });
    });
  });

  describe('when the log holds other entries and malformed desk entries', () => {
    it('counts only contract-conforming desk entries, and says how many it skipped', () => {
      const good: LegalHistory = {
        request: 'a',
        receivedAt: '2021-03-01',
        requesterCountry: 'FR',
        authorityKind: 'government',
        category: 'user_data',
        states: ['received'],
        reason: 'no_data',
      };
      const noise = [
        canonicalJson({
          type: 'token.created',
          time: 't',
          actor: { role: 'admin', token: 'x' },
          tokenId: 'b',
        }),
        canonicalJson({ type: 'legal.request', request: 'b', receivedAt: '2021-13-01' }),
        canonicalJson({
          ...(legalEntries(good)[0] as Record<string, JsonValue>),
          request: 'c',
          state: 'rejected',
        }),
        'not json .request"',
      ];
      const n = computeReportNumbers(deskStates(entriesOf([good], [], noise)), parsePeriod('2021-H1'));
      expect(n.legal.total).toBe(1);
      expect(n.malformedEntries).toBe(2);
    });
  });
});
