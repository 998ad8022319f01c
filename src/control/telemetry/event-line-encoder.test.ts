import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PRODUCT_EVENT } from '../../../test/support/events.js';
import { encodePlainLine } from './event-line-encoder.js';
import { parseEventBatch, rowsWithCountry } from './ndjson-batch.js';
import { RowWriter } from './row-writer.js';
import { encodeEventRow, eventWindow, validateEvent } from './telemetry-event.js';

const rules = { now: new Date('2026-11-23T12:00:00Z'), retentionDays: 365 };
const window = eventWindow(rules);

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdefABCDEF'), minLength: length, maxLength: length });
const uuid = fc.uuid().map((id) => id.toUpperCase());
/** Times around the window's edges, with and without milliseconds, and some that are not times. */
const time = fc.oneof(
  fc
    .integer({ min: window.oldestMs - 5_000, max: window.newestMs + 5_000 })
    .chain((ms) =>
      fc.constantFrom(
        new Date(ms).toISOString(),
        new Date(ms).toISOString().replace(/\.\d{3}/, ''),
        new Date(ms).toISOString().replace('Z', '+00:00'),
        new Date(ms).toISOString().toLowerCase(),
      ),
    ),
  fc.constantFrom(
    '2026-02-29T10:00:00Z',
    '2024-02-29T10:00:00Z',
    '2026-04-31T10:00:00.000Z',
    '2026-11-23T24:00:00Z',
    '2026-11-23T10:60:00Z',
    '2026-11-23T10:00:60Z',
    '2026-11-23T10:00:00.5Z',
    '2026-11-23 10:00:00Z',
    '0026-11-23T10:00:00Z',
  ),
  fc.string(),
);
const text = fc.oneof(
  fc.string({ minLength: 0, maxLength: 70 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.constantFrom(
    'Trojan.Win32.Agent',
    'x'.repeat(256),
    'x'.repeat(257),
    'a\u007fb',
    'a\u0085b',
    'tab\there',
  ),
);
const optional = <T>(value: fc.Arbitrary<T>) =>
  fc.option(fc.oneof({ weight: 6, arbitrary: value }, fc.constant(null)), { nil: undefined, freq: 6 });
/** A valid event, mostly: each member valid or absent, times near the window's edges. */
const valid = fc.record(
  {
    ts: fc
      .oneof(
        fc.constantFrom(window.oldestMs - 1, window.oldestMs, window.newestMs, window.newestMs + 1),
        fc.integer({ min: window.oldestMs - 2_000, max: window.oldestMs + 2_000 }),
        fc.integer({ min: window.newestMs - 2_000, max: window.newestMs + 2_000 }),
        fc.integer({ min: window.oldestMs, max: window.newestMs }),
      )
      .chain((ms) =>
        fc.constantFrom(new Date(ms).toISOString(), new Date(ms).toISOString().replace(/\.\d{3}/, '')),
      ),
    installation: fc.oneof(uuid, fc.uuid()),
    type: fc.constantFrom('detection', 'scan', 'lookup', 'update'),
    sha256: optional(hex(64)),
    md5: optional(hex(32)),
    verdict: optional(fc.constantFrom('Malicious', 'pua', 'a-b_1', 'x'.repeat(32))),
    threat: optional(fc.string({ minLength: 1, maxLength: 256 })),
    product: optional(fc.string({ minLength: 1, maxLength: 64 })),
    os: optional(fc.string({ minLength: 1, maxLength: 64 })),
  },
  { requiredKeys: ['ts', 'installation', 'type'] },
);
/** Wrong or unusual values for a member. */
const wild = fc.record(
  {
    ts: time,
    installation: fc.oneof(fc.uuid(), fc.string(), fc.constant(null)),
    type: fc.constantFrom('Scan', 'crash', '', null),
    sha256: fc.oneof(hex(63), hex(65), fc.constant('g'.repeat(64))),
    md5: fc.oneof(hex(31), hex(33)),
    verdict: fc.oneof(fc.constantFrom('x'.repeat(33), '1a', '_a', 'K\u212a', 'very bad', ''), fc.string()),
    threat: text,
    product: text,
    os: text,
    country: fc.oneof(fc.string(), fc.constant(null)),
    extra: fc.string(),
    any: fc.jsonValue(),
  },
  { requiredKeys: [] },
);
const event = fc
  .tuple(valid, fc.option(wild, { freq: 2 }), fc.option(fc.constantFrom('ts', 'installation', 'type')))
  .map(([base, patch, drop]) => {
    const value: Record<string, unknown> = { ...base, ...(patch ?? {}) };
    if (drop !== null) delete value[drop];
    return value;
  });
/** JSON text as products might send it: compact or spaced, escaped or not. */
const line = fc.tuple(event, fc.constantFrom('compact', 'spaced', 'escaped')).map(([value, style]) => {
  const json = JSON.stringify(value, null, style === 'spaced' ? 1 : undefined).replaceAll('\n', ' ');
  return style === 'escaped' ? json.replaceAll('a', '\\u0061') : json;
});

/** What the general path makes of the line: the row with country XX, or undefined. */
function generalRow(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  const result = validateEvent(value, rules);
  return result.ok ? encodeEventRow(result.event, 'XX') : undefined;
}

function plainRow(text: string): string | undefined {
  const body = Buffer.from(`${text}\n{"ts":`);
  const out = new RowWriter(16);
  const country = encodePlainLine(body, 0, body.length - 7, window, out);
  if (country < 0) return undefined;
  expect(out.bytes.toString('latin1', country, country + 2)).toBe('  ');
  return `${out.bytes.toString('utf8', 0, country)}XX${out.bytes.toString('utf8', country + 2, out.length)}`;
}

describe('encodePlainLine', () => {
  it('accepts only lines the general path accepts, and writes the same row', () => {
    fc.assert(
      fc.property(line, (text) => {
        const plain = plainRow(text);
        if (plain !== undefined) expect(plain).toBe(generalRow(text));
      }),
      { numRuns: 5000 },
    );
  });

  it('takes the lines products send', () => {
    const sent = { ...PRODUCT_EVENT, ts: '2026-11-23T10:00:00.123Z' };
    for (const variant of [
      sent,
      { ...sent, ts: '2026-11-23T10:00:00Z', sha256: null, verdict: undefined, country: 'DE' },
      { ts: sent.ts, installation: sent.installation, type: 'update' },
    ]) {
      for (const text of [
        JSON.stringify(variant),
        ` ${JSON.stringify(variant, null, 2).replaceAll('\n', '\t')} `,
      ]) {
        expect(plainRow(text)).toBeDefined();
        expect(plainRow(text)).toBe(generalRow(text));
      }
    }
  });

  it('never reads past the line', () => {
    for (const text of ['{', '{"ts"', '{"ts":', '{"ts":"', '{"ts":nul', '{"ts":null', '{"ts":null,']) {
      expect(plainRow(text)).toBeUndefined();
    }
  });
});

describe('parseEventBatch', () => {
  it('gives each accepted line the row of the general path, and rejects the others', () => {
    fc.assert(
      fc.property(fc.array(line, { minLength: 1, maxLength: 20 }), (texts) => {
        const body = Buffer.from(`{}\n${texts.join('\n')}`);
        const parsed = parseEventBatch(body, { maxBatchLines: 100, maxLineBytes: 10_000 }, rules);
        const expected = texts.map(generalRow);
        expect(parsed.lines).toEqual(expected.flatMap((row, i) => (row === undefined ? [] : [i + 2])));
        const all = parsed.lines.map((_, k) => k);
        const rows = rowsWithCountry(
          parsed,
          all,
          all.map(() => Buffer.from('XX')),
        );
        expect(rows.toString('utf8')).toBe(expected.filter((row) => row !== undefined).join(''));
        const accepted = expected.filter((row) => row !== undefined);
        const withCountry = (row: string, country: string) => {
          const fields = row.split('\u001f');
          fields[3] = country;
          return fields.join('\u001f');
        };
        for (const [parity, country] of [
          [0, 'DE'],
          [1, 'ABC'],
        ] as const) {
          const chosen = all.filter((k) => k % 2 === parity);
          const part = rowsWithCountry(
            parsed,
            chosen,
            chosen.map(() => Buffer.from(country)),
          );
          expect(part.toString('utf8')).toBe(chosen.map((k) => withCountry(accepted[k]!, country)).join(''));
        }
        expect(parsed.installationOf.map((k) => parsed.installations[k])).toEqual(
          expected.flatMap((row) => (row === undefined ? [] : [row.split('\u001f')[1]])),
        );
        expect(parsed.rejected.map((r) => r.line)).toEqual([
          1,
          ...expected.flatMap((row, i) => (row === undefined ? [i + 2] : [])),
        ]);
      }),
      { numRuns: 500 },
    );
  });
});
