import { describe, expect, it } from 'vitest';
import { parseEventBatch } from './ndjson-batch.js';

const rules = { now: new Date('2026-11-23T12:00:00Z'), retentionDays: 365 };
const limits = { maxBatchLines: 5, maxLineBytes: 300 };
const event = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    ts: '2026-11-23T10:00:00Z',
    installation: '3f9a1c2e-0b4d-4e5f-8a6b-7c8d9e0f1a2b',
    type: 'detection',
    ...extra,
  });

describe('parseEventBatch', () => {
  describe('when some lines are bad', () => {
    it('keeps the good ones and names each bad line by its number', () => {
      const body = Buffer.from(
        [
          event(),
          '{oops',
          '',
          event({ type: 'nope' }),
          `${event({ threat: 'x'.repeat(300) })}`,
          event(),
        ].join('\r\n'),
      );
      const { lines, rejected } = parseEventBatch(body, limits, rules);
      expect(lines).toEqual([1, 6]);
      expect(rejected).toEqual([
        { line: 2, error: 'the line is not JSON' },
        { line: 4, error: expect.stringMatching(/"type"/) },
        { line: 5, error: 'the line is longer than 300 bytes' },
      ]);
    });

    it('rejects a line that is not UTF-8', () => {
      const body = Buffer.concat([Buffer.from(`${event()}\n`), Buffer.from([0xff, 0xfe, 0x0a])]);
      expect(parseEventBatch(body, limits, rules).rejected).toEqual([
        { line: 2, error: 'the line is not UTF-8' },
      ]);
    });
  });

  describe('when the body is not NDJSON at all', () => {
    for (const [what, body] of [
      ['empty', ''],
      ['blank lines', '\n \n'],
      ['a pretty-printed JSON document', '{\n  "a": 1\n}\n'],
      ['a JSON array', '[{"ts":1}]'],
      ['plain text', 'hello world'],
    ] as const) {
      it(`refuses ${what} with INVALID_EVENT_BATCH`, () => {
        expect(() => parseEventBatch(Buffer.from(body), limits, rules)).toThrow(
          expect.objectContaining({ code: 'INVALID_EVENT_BATCH' }),
        );
      });
    }
  });

  describe('when there are more lines than allowed', () => {
    it('refuses the batch with EVENT_BATCH_TOO_LARGE', () => {
      const body = Buffer.from(Array.from({ length: 6 }, () => event()).join('\n'));
      expect(() => parseEventBatch(body, limits, rules)).toThrow(
        expect.objectContaining({ code: 'EVENT_BATCH_TOO_LARGE' }),
      );
    });
  });
});
