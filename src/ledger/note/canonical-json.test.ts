import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import { canonicalJson } from './canonical-json.js';
import { NoteError, type NoteErrorCode } from './note-errors.js';

interface Rfc8785Vectors {
  readonly section3_2_2: {
    readonly input: string;
    readonly output: string;
    readonly utf8Hex_section3_2_4: string;
  };
  readonly section3_2_3: { readonly input: string; readonly output: string };
  readonly appendixB: {
    readonly finite: readonly (readonly [string, string])[];
    readonly errors: readonly (readonly [string, string])[];
  };
}

// Test data comes from RFC 8785 §3.2.2, §3.2.3, §3.2.4 and Appendix B (see testdata/note/README.md).
const rfc = JSON.parse(
  readFileSync(new URL('../../../testdata/note/rfc8785-vectors.json', import.meta.url), 'utf8'),
) as Rfc8785Vectors;

function fromIeee754(hex: string): number {
  return Buffer.from(hex, 'hex').readDoubleBE(0);
}

const codeOf = (action: () => unknown): NoteErrorCode | 'NO_ERROR' =>
  thrownCode(action, NoteError) ?? 'NO_ERROR';

describe('canonicalJson', () => {
  describe('when given the sample of RFC 8785 §3.2.2', () => {
    it('returns its canonical form', () => {
      expect(canonicalJson(JSON.parse(rfc.section3_2_2.input))).toBe(rfc.section3_2_2.output);
    });

    it('encodes to the UTF-8 bytes of §3.2.4', () => {
      const bytes = Buffer.from(canonicalJson(JSON.parse(rfc.section3_2_2.input)), 'utf8');
      expect(bytes.toString('hex')).toBe(rfc.section3_2_2.utf8Hex_section3_2_4);
    });
  });

  describe('when member names differ in UTF-16 and code point order (RFC 8785 §3.2.3)', () => {
    it('sorts them by UTF-16 code units', () => {
      expect(canonicalJson(JSON.parse(rfc.section3_2_3.input))).toBe(rfc.section3_2_3.output);
    });
  });

  describe('when given the numbers of RFC 8785 Appendix B', () => {
    it.each(rfc.appendixB.finite)('serializes %s as %s', (hex, expected) => {
      expect(canonicalJson(fromIeee754(hex))).toBe(expected);
      expect(canonicalJson([fromIeee754(hex)])).toBe(`[${expected}]`);
    });

    it.each(rfc.appendixB.errors)('throws UNREPRESENTABLE_JSON for %s (%s)', (hex) => {
      expect(codeOf(() => canonicalJson({ n: fromIeee754(hex) }))).toBe('UNREPRESENTABLE_JSON');
    });
  });

  describe('when a member is undefined', () => {
    it('leaves it out, as JSON.stringify does', () => {
      expect(canonicalJson({ b: undefined, a: 1 })).toBe('{"a":1}');
    });
  });

  describe('when an object is referenced twice without a cycle', () => {
    it('serializes it twice', () => {
      const shared = { x: 1 };
      expect(canonicalJson({ a: shared, b: [shared] })).toBe('{"a":{"x":1},"b":[{"x":1}]}');
    });
  });

  describe('when the value is outside the JSON data model', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    it.each([
      ['undefined', undefined],
      ['a function member', { f: () => 1 }],
      ['a bigint', { n: 1n }],
      ['a symbol', [Symbol('s')]],
      ['a Date', { d: new Date(0) }],
      ['a Map', new Map()],
      ['a Buffer', Buffer.of(1)],
      ['a cycle', cyclic],
      ['a lone surrogate in a string', ['\ud800']],
      ['a lone surrogate in a name', { '\udc00': 1 }],
      ['undefined in an array', [1, undefined]],
      ['a hole in an array', Object.assign(new Array<unknown>(3), { 0: 1, 2: 3 })],
      ['-Infinity', -Infinity],
    ])('throws UNREPRESENTABLE_JSON for %s', (_, value) => {
      expect(codeOf(() => canonicalJson(value))).toBe('UNREPRESENTABLE_JSON');
    });
  });

  describe('when any JSON value is canonicalized', () => {
    it('is a fixed point of parsing and canonicalizing again', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          const once = canonicalJson(value);
          expect(canonicalJson(JSON.parse(once))).toBe(once);
        }),
      );
    });

    it('does not depend on the order members were added', () => {
      fc.assert(
        fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
          const reversed = Object.fromEntries(Object.entries(object).reverse());
          expect(canonicalJson(reversed)).toBe(canonicalJson(object));
        }),
      );
    });
  });
});
