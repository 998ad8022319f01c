import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DigestIndex } from './digest-index.js';

describe('DigestIndex', () => {
  describe('when entries are set one by one', () => {
    it('finds each, misses others, and replaces on a second set', () => {
      const index = new DigestIndex(32);
      const digests = Array.from({ length: 2000 }, () => randomBytes(32));
      digests.forEach((d, i) => {
        index.set(d, i + 1, i * 10);
      });
      expect(index.size).toBe(2000);
      digests.forEach((d, i) => {
        expect(index.get(d)).toEqual({ value: i + 1, firstSeen: i * 10 });
      });
      expect(index.get(randomBytes(32))).toBeUndefined();
      index.set(digests[7]!, 99, 5);
      expect(index.get(digests[7]!)).toEqual({ value: 99, firstSeen: 5 });
      expect(index.size).toBe(2000);
    });

    it('grows past its initial capacity and keeps every entry', () => {
      const index = new DigestIndex(16, 10);
      const digests = Array.from({ length: 5000 }, () => randomBytes(16));
      digests.forEach((d, i) => {
        index.set(d, i + 1, 0);
      });
      expect(index.size).toBe(5000);
      expect(digests.every((d, i) => index.get(d)?.value === i + 1)).toBe(true);
    });

    it('tells digests apart that share their first four bytes', () => {
      const index = new DigestIndex(20);
      const a = randomBytes(20);
      const b = Buffer.from(a);
      b[19] = (b[19]! + 1) & 0xff;
      index.set(a, 1, 0);
      expect(index.get(b)).toBeUndefined();
      index.set(b, 2, 0);
      expect(index.get(a)?.value).toBe(1);
      expect(index.get(b)?.value).toBe(2);
    });
  });

  describe('when loaded in sorted order', () => {
    it('answers like one-by-one inserts, and accepts inserts afterwards', () => {
      const digests = Array.from({ length: 3000 }, () => randomBytes(20)).sort(Buffer.compare);
      const index = new DigestIndex(20, digests.length);
      digests.forEach((d, i) => {
        index.appendSorted(d, i + 1, i);
      });
      expect(digests.every((d, i) => index.get(d)?.value === i + 1)).toBe(true);
      const later = randomBytes(20);
      index.set(later, 7, 7);
      expect(index.get(later)?.value).toBe(7);
      expect(digests.every((d, i) => index.get(d)?.value === i + 1)).toBe(true);
    });
  });

  describe('when queried by hex', () => {
    it('refuses non-hex digits and finds a loaded digest', () => {
      const index = new DigestIndex(16);
      const d = randomBytes(16);
      index.set(d, 3, 4);
      expect(index.loadHex(d.toString('hex').toUpperCase())).toBe(true);
      expect(index.valueAt(index.findLoaded())).toBe(3);
      expect(index.loadHex(`${d.toString('hex').slice(0, 31)}g`)).toBe(false);
      expect(index.loadHex(`xx${d.toString('hex')}`, 2)).toBe(true);
      expect(index.firstSeenAt(index.findLoaded())).toBe(4);
    });
  });

  describe('when compared with a Map (property)', () => {
    it('agrees on every look-up after any sequence of sets', () => {
      // Few distinct leading bytes force long clusters and shifts.
      const digest = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((bytes) => {
        bytes[0] = bytes[0]! & 0x03;
        return Buffer.from(bytes);
      });
      fc.assert(
        fc.property(
          fc.array(fc.tuple(digest, fc.integer({ min: 1, max: 2 ** 32 - 1 })), { maxLength: 300 }),
          fc.array(digest, { maxLength: 50 }),
          (writes, probes) => {
            const index = new DigestIndex(16, 8);
            const model = new Map<string, number>();
            for (const [d, v] of writes) {
              index.set(d, v, v >>> 1);
              model.set(d.toString('hex'), v);
            }
            expect(index.size).toBe(model.size);
            for (const d of [...writes.map(([w]) => w), ...probes]) {
              expect(index.get(d)?.value).toBe(model.get(d.toString('hex')));
            }
          },
        ),
        { numRuns: 200 },
      );
    });
  });
});
