import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import { decodeEntryBundle, encodeEntryBundle, TLOG_TILES_MAX_ENTRY_SIZE } from './entry-bundle.js';
import { MerkleError } from './merkle-errors.js';

const codeOf = (fn: () => void): string | undefined => thrownCode(fn, MerkleError);

const entries = fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 40 });

describe('encodeEntryBundle', () => {
  describe('when encoding', () => {
    it('prefixes each entry with its big-endian uint16 length', () => {
      const bundle = encodeEntryBundle([Buffer.from('ab'), new Uint8Array(0), Buffer.alloc(258, 7)]);
      expect(bundle.subarray(0, 6)).toEqual(Buffer.from([0x00, 0x02, 0x61, 0x62, 0x00, 0x00]));
      expect(bundle.subarray(6, 8)).toEqual(Buffer.from([0x01, 0x02]));
      expect(bundle).toHaveLength(2 + 2 + 2 + 2 + 258);
    });

    it('round-trips through decodeEntryBundle (property)', () => {
      fc.assert(
        fc.property(entries, (list) => {
          expect(decodeEntryBundle(encodeEntryBundle(list))).toEqual(list.map((e) => Buffer.from(e)));
        }),
      );
    });

    it('round-trips an entry of exactly 65,535 bytes', () => {
      const largest = Buffer.alloc(TLOG_TILES_MAX_ENTRY_SIZE, 1);
      expect(decodeEntryBundle(encodeEntryBundle([largest, Buffer.of(2)]))).toEqual([largest, Buffer.of(2)]);
    });

    it('encodes a view of a larger buffer without its neighbours', () => {
      const backing = Buffer.from('xxhelloyy');
      expect(decodeEntryBundle(encodeEntryBundle([backing.subarray(2, 7)]))).toEqual([Buffer.from('hello')]);
    });
  });

  describe('when an entry is larger than 65,535 bytes', () => {
    it('throws ENTRY_TOO_LARGE', () => {
      expect(codeOf(() => encodeEntryBundle([Buffer.alloc(TLOG_TILES_MAX_ENTRY_SIZE + 1)]))).toBe(
        'ENTRY_TOO_LARGE',
      );
    });
  });
});

describe('decodeEntryBundle', () => {
  describe('when the bundle is cut inside an entry or a length prefix', () => {
    it('throws INVALID_ENTRY_BUNDLE for every such cut (property)', () => {
      fc.assert(
        fc.property(
          entries.filter((list) => list.length > 0),
          fc.nat(),
          (list, seed) => {
            const bundle = encodeEntryBundle(list);
            const boundaries = new Set<number>([0]);
            let offset = 0;
            for (const entry of list) {
              offset += 2 + entry.length;
              boundaries.add(offset);
            }
            const cut = seed % bundle.length;
            if (boundaries.has(cut)) {
              expect(decodeEntryBundle(bundle.subarray(0, cut))).toHaveLength([...boundaries].indexOf(cut));
            } else {
              expect(codeOf(() => decodeEntryBundle(bundle.subarray(0, cut)))).toBe('INVALID_ENTRY_BUNDLE');
            }
          },
        ),
        { numRuns: 500 },
      );
    });

    it('throws INVALID_ENTRY_BUNDLE for a lone length byte and an overlong length', () => {
      expect(codeOf(() => decodeEntryBundle(Buffer.of(0)))).toBe('INVALID_ENTRY_BUNDLE');
      expect(codeOf(() => decodeEntryBundle(Buffer.of(0, 3, 1, 2)))).toBe('INVALID_ENTRY_BUNDLE');
      expect(decodeEntryBundle(Buffer.alloc(0))).toEqual([]);
    });
  });

  describe('when decoding', () => {
    it('returns copies that do not alias the bundle', () => {
      const bundle = encodeEntryBundle([Buffer.from('abc')]);
      const [entry] = decodeEntryBundle(bundle);
      bundle[2] = 0x7a;
      expect(entry).toEqual(Buffer.from('abc'));
    });
  });
});
