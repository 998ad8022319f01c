import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRODUCT_EVENT } from '../../../test/support/events.js';
import { encodeEventRow, validateEvent } from './telemetry-event.js';

const rules = { now: new Date('2026-11-23T12:00:00Z'), retentionDays: 365 };
const valid = PRODUCT_EVENT;

describe('validateEvent', () => {
  describe('when the event is valid', () => {
    it('normalizes the timestamp to UTC and ids, hashes and verdict to lower case', () => {
      const result = validateEvent({ ...valid, ts: '2026-11-23T11:30:00.5+01:00' }, rules);
      expect(result).toEqual({
        ok: true,
        event: {
          ts: '2026-11-23 10:30:00.500',
          installation: valid.installation.toLowerCase(),
          type: 'detection',
          sha256: 'a'.repeat(64),
          md5: 'b'.repeat(32),
          verdict: 'malicious',
          threat: 'Trojan.Win32.Agent',
          product: 'endpoint-12',
          os: 'windows-11',
        },
      });
    });

    it('takes optional fields as absent or null, and ignores unknown members', () => {
      const result = validateEvent(
        { ts: valid.ts, installation: valid.installation, type: 'scan', md5: null, country: 'XX' },
        rules,
      );
      expect(result.ok && result.event).toMatchObject({ sha256: null, md5: null, threat: null });
    });
  });

  describe('when a field is wrong', () => {
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['not an object', [] as unknown as Record<string, unknown>, /JSON object/],
      ['a time without a zone', { ts: '2026-11-23T10:00:00' }, /"ts"/],
      ['a day that does not exist', { ts: '2026-02-30T10:00:00Z' }, /not a valid/],
      ['a time two days ahead', { ts: '2026-11-25T13:00:00Z' }, /future/],
      ['a time before the retention period', { ts: '2025-11-01T00:00:00Z' }, /retention/],
      ['an installation that is not a UUID', { installation: 'abc' }, /"installation"/],
      ['an unknown type', { type: 'crash' }, /"type"/],
      ['a short sha256', { sha256: 'ab' }, /"sha256"/],
      ['a threat with a control character', { threat: 'a\u001fb' }, /"threat"/],
      ['a threat that is too long', { threat: 'x'.repeat(257) }, /"threat"/],
      ['a verdict with spaces', { verdict: 'very bad' }, /"verdict"/],
    ];
    for (const [what, change, message] of cases) {
      it(`rejects ${what}`, () => {
        const event = Array.isArray(change) ? change : { ...valid, ...change };
        const result = validateEvent(event, rules);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.error).toMatch(message);
      });
    }
  });

  describe('when given arbitrary JSON', () => {
    it('never throws, and every accepted event encodes to one row of ten fields', () => {
      fc.assert(
        fc.property(
          fc.jsonValue(),
          fc.dictionary(fc.constantFrom(...Object.keys(valid)), fc.jsonValue()),
          (any, patch) => {
            validateEvent(any, rules);
            const result = validateEvent({ ...valid, ...patch }, rules);
            if (result.ok) {
              const row = encodeEventRow(result.event, 'BR');
              expect(row.endsWith('\n')).toBe(true);
              expect(row.slice(0, -1).split('\u001f')).toHaveLength(10);
              expect(row.slice(0, -1)).not.toContain('\n');
            }
          },
        ),
      );
    });
  });
});
