import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import { MerkleError } from './merkle-errors.js';
import { entriesPath, parseTilePath, TILE_WIDTH, tilePath } from './tile-paths.js';

const codeOf = (fn: () => void): string | undefined => thrownCode(fn, MerkleError);

const tile = fc.record({
  level: fc.integer({ min: 0, max: 63 }),
  n: fc.oneof(fc.integer({ min: 0, max: 2_000_000 }), fc.maxSafeNat()),
  width: fc.integer({ min: 1, max: TILE_WIDTH }),
});

describe('tilePath', () => {
  describe('when given the examples of C2SP tlog-tiles', () => {
    it('encodes N in 3-digit elements with x before all but the last', () => {
      expect(tilePath({ level: 0, n: 1234067, width: 256 })).toBe('tile/0/x001/x234/067');
      expect(tilePath({ level: 0, n: 1234067, width: 8 })).toBe('tile/0/x001/x234/067.p/8');
      expect(entriesPath(1234067, 256)).toBe('tile/entries/x001/x234/067');
    });

    it('names the tiles of a tree of size 70,000', () => {
      expect(tilePath({ level: 0, n: 272, width: 256 })).toBe('tile/0/272');
      expect(tilePath({ level: 0, n: 273, width: 112 })).toBe('tile/0/273.p/112');
      expect(tilePath({ level: 1, n: 0, width: 256 })).toBe('tile/1/000');
      expect(tilePath({ level: 1, n: 1, width: 17 })).toBe('tile/1/001.p/17');
      expect(tilePath({ level: 2, n: 0, width: 1 })).toBe('tile/2/000.p/1');
      expect(entriesPath(273, 112)).toBe('tile/entries/273.p/112');
    });

    it('pads every element, including exact thousands', () => {
      expect(tilePath({ level: 3, n: 1000, width: 256 })).toBe('tile/3/x001/000');
      expect(tilePath({ level: 63, n: 999, width: 255 })).toBe('tile/63/999.p/255');
      expect(entriesPath(1_000_000, 1)).toBe('tile/entries/x001/x000/000.p/1');
    });
  });

  describe('when the tile is out of range', () => {
    it('throws INVALID_TILE', () => {
      expect(codeOf(() => tilePath({ level: 64, n: 0, width: 1 }))).toBe('INVALID_TILE');
      expect(codeOf(() => tilePath({ level: 0, n: -1, width: 1 }))).toBe('INVALID_TILE');
      expect(codeOf(() => tilePath({ level: 0, n: 0, width: 0 }))).toBe('INVALID_TILE');
      expect(codeOf(() => tilePath({ level: 0, n: 0, width: 257 }))).toBe('INVALID_TILE');
      expect(codeOf(() => entriesPath(0.5, 1))).toBe('INVALID_TILE');
    });
  });
});

describe('parseTilePath', () => {
  describe('when given a formatted path', () => {
    it('round-trips hash tiles and entry bundles (property)', () => {
      fc.assert(
        fc.property(tile, (t) => {
          expect(parseTilePath(tilePath(t))).toEqual({ kind: 'hash', ...t });
          expect(parseTilePath(entriesPath(t.n, t.width))).toEqual({
            kind: 'entries',
            n: t.n,
            width: t.width,
          });
        }),
        { numRuns: 1000 },
      );
    });

    it('parses the spec examples', () => {
      expect(parseTilePath('tile/0/x001/x234/067')).toEqual({
        kind: 'hash',
        level: 0,
        n: 1234067,
        width: 256,
      });
      expect(parseTilePath('tile/1/001.p/17')).toEqual({ kind: 'hash', level: 1, n: 1, width: 17 });
      expect(parseTilePath('tile/entries/000.p/1')).toEqual({ kind: 'entries', n: 0, width: 1 });
    });
  });

  describe('when the path is not canonical', () => {
    it.each([
      '',
      'tile',
      'tile/0',
      '/tile/0/000',
      'tile/0/000/',
      'tiles/0/000',
      'tile/00/000',
      'tile/01/000',
      'tile/64/000',
      'tile/-1/000',
      'tile/+1/000',
      'tile/data/000',
      'tile/8/0/000',
      'tile/0/0',
      'tile/0/00',
      'tile/0/0000',
      'tile/0/1234',
      'tile/0/001/234',
      'tile/0/x001',
      'tile/0/x000/234',
      'tile/0/x001/x234/x067',
      'tile/0/X001/234',
      'tile/0/x01/234',
      'tile/0/000.p',
      'tile/0/000.p/',
      'tile/0/000.p/0',
      'tile/0/000.p/256',
      'tile/0/000.p/300',
      'tile/0/000.p/08',
      'tile/0/000.p/+8',
      'tile/0/000.p/8/',
      'tile/0/000.P/8',
      'tile/0/000p/8',
      'tile/0/.p/8',
      'tile/0/x001.p/234/8',
      'tile/0/ 001',
      'tile/0/00a',
      'tile/entries/000.p/256',
      'tile/entries/x000/001',
      'tile/entries',
      'tile/0/x999/x999/x999/x999/x999/x999',
    ])('refuses %j', (path) => {
      expect(codeOf(() => parseTilePath(path))).toBe('INVALID_TILE_PATH');
    });

    it('refuses every path that formatting would spell differently (property)', () => {
      const element = fc.constantFrom('x', '0', '1', '9', '.p', '/', 'entries', '00', '256');
      fc.assert(
        fc.property(fc.array(element, { maxLength: 10 }), (pieces) => {
          const path = `tile/${pieces.join('')}`;
          let parsed: ReturnType<typeof parseTilePath>;
          try {
            parsed = parseTilePath(path);
          } catch (error) {
            expect(error).toBeInstanceOf(MerkleError);
            return;
          }
          const again = parsed.kind === 'hash' ? tilePath(parsed) : entriesPath(parsed.n, parsed.width);
          expect(again).toBe(path);
        }),
        { numRuns: 2000 },
      );
    });
  });
});
