import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import { parseHistory } from './history-import.js';
import { PrivacyError } from './privacy-errors.js';

const HEADER = 'received_at,type,outcome,closed_at';

function details(csv: string): { errors: { line: number; message: string }[]; invalidLines: number } {
  try {
    parseHistory(csv);
  } catch (error) {
    return (error as { details: never }).details;
  }
  throw new Error('expected the file to be refused');
}

describe('parseHistory', () => {
  describe('when every row is good', () => {
    it('returns the rows with ISO timestamps', () => {
      expect(
        parseHistory(
          `${HEADER}\n2021-01-04,erasure,completed,2021-01-20\r\n2021-12-31,inventory,rejected,2022-01-02\n`,
        ),
      ).toEqual([
        {
          receivedAt: '2021-01-04T00:00:00.000Z',
          type: 'erasure',
          outcome: 'completed',
          closedAt: '2021-01-20T00:00:00.000Z',
        },
        {
          receivedAt: '2021-12-31T00:00:00.000Z',
          type: 'inventory',
          outcome: 'rejected',
          closedAt: '2022-01-02T00:00:00.000Z',
        },
      ]);
    });

    it('accepts any valid closed request (property)', () => {
      const day = fc.date({ min: new Date('2000-01-01'), max: new Date('2030-12-31'), noInvalidDate: true });
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              received: day,
              days: fc.integer({ min: 0, max: 400 }),
              type: fc.constantFrom('inventory', 'export', 'erasure'),
              outcome: fc.constantFrom('completed', 'rejected'),
            }),
            { maxLength: 30 },
          ),
          (rows) => {
            const lines = rows.map((r) => {
              const closed = new Date(r.received.getTime() + r.days * 86_400_000);
              return `${r.received.toISOString().slice(0, 10)},${r.type},${r.outcome},${closed.toISOString().slice(0, 10)}`;
            });
            expect(parseHistory([HEADER, ...lines].join('\n'))).toHaveLength(rows.length);
          },
        ),
      );
    });
  });

  describe('when rows are bad', () => {
    it('reports every bad row by line, the header being line 1', () => {
      const csv = [
        HEADER,
        '2021-01-04,erasure,completed,2021-01-20',
        '2021-02-30,export,completed,2021-03-01',
        '2021-03-01,deletion,rejected,2021-03-02',
        '2021-04-01,inventory,open,',
        '2021-04-01,inventory,completed,2021-03-01',
        '2021-04-01,inventory',
      ].join('\n');
      const { errors, invalidLines } = details(csv);
      expect(errors.map((e) => e.line)).toEqual([3, 4, 5, 6, 7]);
      expect(invalidLines).toBe(5);
      expect(errors[0]!.message).toContain('received_at');
    });

    it('refuses a wrong header, an empty file and broken quoting', () => {
      expect(thrownCode(() => parseHistory('a,b,c,d\n'), PrivacyError)).toBe('INVALID_PRIVACY_HISTORY');
      expect(thrownCode(() => parseHistory(''), PrivacyError)).toBe('INVALID_PRIVACY_HISTORY');
      expect(thrownCode(() => parseHistory(`${HEADER}\n"2021-01-01,erasure`), PrivacyError)).toBe(
        'INVALID_PRIVACY_HISTORY',
      );
    });

    it('never throws anything but INVALID_PRIVACY_HISTORY on arbitrary text (property)', () => {
      fc.assert(
        fc.property(fc.string({ maxLength: 200 }), (tail) => {
          try {
            parseHistory(`${HEADER}\n${tail}`);
          } catch (error) {
            expect((error as { code?: string }).code).toBe('INVALID_PRIVACY_HISTORY');
          }
        }),
      );
    });
  });
});
