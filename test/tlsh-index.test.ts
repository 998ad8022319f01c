import { describe, expect, it } from 'vitest';
import { parseTlsh, type TlshDigest, tlshDistance } from '../src/site/catalogue/tlsh-distance.js';
import { TlshIndex } from '../src/site/catalogue/tlsh-index.js';
import { DEBIAN_FALSE, DEBIAN_TRUE } from './support/debian-digests.js';

function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state >>> 8;
  };
}

function sha(n: number): string {
  return n.toString(16).padStart(8, '0').repeat(8);
}

/** Families of near digests (a few bucket changes apart) and unrelated ones, over few length buckets. */
function digests(count: number, seed: number): TlshDigest[] {
  const next = prng(seed);
  const out: TlshDigest[] = [];
  let family: TlshDigest | undefined;
  for (let i = 0; i < count; i++) {
    if (family === undefined || next() % 4 === 0) {
      const body = new Uint8Array(32);
      for (let j = 0; j < 32; j++) body[j] = next() & 255;
      family = { checksum: next() & 255, lvalue: 90 + (next() % 12), q1: next() % 16, q2: next() % 16, body };
      out.push(family);
      continue;
    }
    const body = new Uint8Array(family.body);
    for (let c = next() % 6; c > 0; c--) body[next() % 32] = next() & 255;
    out.push({ ...family, lvalue: family.lvalue + (next() % 3) - 1, body });
  }
  return out;
}

describe('the TLSH index', () => {
  it('answers what a plain scan over every digest answers, after inserts, replacements and deletes', () => {
    const index = new TlshIndex();
    const model = new Map<string, TlshDigest>();
    const all = digests(3000, 7);
    const next = prng(11);
    all.forEach((digest, i) => {
      index.set(sha(i), digest);
      model.set(sha(i), digest);
    });
    for (let round = 0; round < 1500; round++) {
      const victim = sha(next() % all.length);
      if (next() % 3 === 0) {
        const replacement = all[next() % all.length]!;
        index.set(victim, replacement);
        model.set(victim, replacement);
      } else {
        expect(index.delete(victim)).toBe(model.delete(victim));
      }
    }
    expect(index.size).toBe(model.size);
    for (const [key] of model) expect(index.has(key)).toBe(true);
    for (let q = 0; q < 30; q++) {
      const query = all[next() % all.length]!;
      for (const [maxDistance, limit] of [
        [30, 10],
        [120, 5],
        [400, 25],
      ] as const) {
        const expected = [...model]
          .map(([sha256, digest]) => ({ sha256, distance: tlshDistance(query, digest) }))
          .filter((n) => n.distance <= maxDistance)
          .sort((a, b) => a.distance - b.distance || (a.sha256 < b.sha256 ? -1 : 1))
          .slice(0, limit);
        expect(index.nearest(query, { maxDistance, limit })).toEqual(expected);
        expect(index.scan(query, { maxDistance, limit })).toEqual(expected);
      }
    }
  });

  it('leaves out the excluded sample and keeps distances inclusive', () => {
    const index = new TlshIndex();
    const a = parseTlsh(DEBIAN_TRUE.tlsh)!;
    const b = parseTlsh(DEBIAN_FALSE.tlsh)!;
    index.set(sha(1), a);
    index.set(sha(2), b);
    expect(index.nearest(a, { maxDistance: 11, limit: 10, exclude: sha(1) })).toEqual([
      { sha256: sha(2), distance: 11 },
    ]);
    expect(index.nearest(a, { maxDistance: 10, limit: 10, exclude: sha(1) })).toEqual([]);
    expect(index.delete(sha(1))).toBe(true);
    expect(index.delete(sha(1))).toBe(false);
    expect(index.nearest(a, { maxDistance: 100, limit: 10 })).toEqual([{ sha256: sha(2), distance: 11 }]);
  });
});
