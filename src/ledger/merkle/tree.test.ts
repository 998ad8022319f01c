import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import { EMPTY_TREE_HASH, type Hash, hashLeaf, rootOfLeaves } from './hashing.js';
import { MemoryHashStore } from './memory-hash-store.js';
import { MerkleError } from './merkle-errors.js';
import type { HashReader } from './stored-hashes.js';
import { proveConsistency, proveInclusion, treeHash, verifyConsistency, verifyInclusion } from './tree.js';

const MAX_SIZE = 1100;
const ALL_PAIRS_UP_TO = 64;

const store = new MemoryHashStore();
const leafHashes: Hash[] = [];
const roots: Hash[] = [];

beforeAll(async () => {
  for (let i = 0; i < MAX_SIZE; i++) {
    const entry = Buffer.from(`record ${i}`);
    leafHashes.push(hashLeaf(entry));
    await store.append(entry);
  }
  for (let size = 0; size <= MAX_SIZE; size++) roots.push(await treeHash(size, store.read));
});

/** Deterministic picks so failures replay. */
function pick(seed: number, bound: number): number {
  return Math.floor((Math.abs(Math.sin(seed * 12.9898) * 43758.5453) % 1) * bound);
}

function sampleIndexes(size: number): number[] {
  if (size <= ALL_PAIRS_UP_TO) return Array.from({ length: size }, (_, i) => i);
  const picks = [0, 1, size >> 1, size - 2, size - 1, pick(size, size), pick(size + 1, size)];
  return [...new Set(picks)];
}

function sampleFromSizes(toSize: number): number[] {
  if (toSize <= ALL_PAIRS_UP_TO) return Array.from({ length: toSize + 1 }, (_, i) => i);
  const powerOfTwo = 2 ** Math.floor(Math.log2(toSize));
  const picks = [0, 1, 2, powerOfTwo, toSize - 1, toSize, pick(toSize, toSize), pick(toSize + 7, toSize)];
  return [...new Set(picks)];
}

const codeOf = (fn: () => void): string | undefined => thrownCode(fn, MerkleError);

function flipped(hash: Hash, byte: number, mask: number): Hash {
  const copy = Buffer.from(hash);
  copy[byte % copy.length]! ^= mask;
  return copy;
}

function root(size: number): Hash {
  return roots[size]!;
}

describe('treeHash', () => {
  describe('when compared with the recursive RFC 6962 definition', () => {
    it('agrees for every size 0..1100', () => {
      for (let size = 0; size <= MAX_SIZE; size++) {
        expect(root(size).equals(rootOfLeaves(leafHashes.slice(0, size)))).toBe(true);
      }
      expect(root(0)).toEqual(EMPTY_TREE_HASH);
    });
  });

  describe('when reading stored hashes', () => {
    it('reads once, only the complete subtrees of the tree', async () => {
      const calls: number[] = [];
      const counting: HashReader = (indexes) => {
        calls.push(indexes.length);
        return store.read(indexes);
      };
      await treeHash(1099, counting); // 1099 = 0b10001001011: five complete subtrees
      expect(calls).toEqual([5]);
      await treeHash(0, counting);
      expect(calls).toEqual([5]);
    });
  });

  describe('when the size is not a tree size', () => {
    it('throws INVALID_TREE_SIZE', async () => {
      await expect(treeHash(-1, store.read)).rejects.toHaveProperty('code', 'INVALID_TREE_SIZE');
      await expect(treeHash(2.5, store.read)).rejects.toHaveProperty('code', 'INVALID_TREE_SIZE');
    });
  });
});

describe('proveInclusion', () => {
  describe('when proving then verifying', () => {
    it('verifies for every size 1..1100 (every index up to 64, sampled beyond)', async () => {
      let proofs = 0;
      for (let size = 1; size <= MAX_SIZE; size++) {
        for (const index of sampleIndexes(size)) {
          const proof = await proveInclusion(index, size, store.read);
          verifyInclusion(proof, index, size, leafHashes[index]!, root(size));
          proofs++;
        }
      }
      expect(proofs).toBeGreaterThan(9000);
    });
  });

  describe('when the leaf is outside the tree', () => {
    it('throws INVALID_INDEX', async () => {
      await expect(proveInclusion(5, 5, store.read)).rejects.toHaveProperty('code', 'INVALID_INDEX');
      await expect(proveInclusion(-1, 5, store.read)).rejects.toHaveProperty('code', 'INVALID_INDEX');
      await expect(proveInclusion(0, 0, store.read)).rejects.toHaveProperty('code', 'INVALID_INDEX');
    });
  });
});

describe('verifyInclusion', () => {
  const instance = fc
    .record({ size: fc.integer({ min: 1, max: MAX_SIZE }), seed: fc.nat() })
    .map(({ size, seed }) => ({ size, index: seed % size }));

  describe('when any proof element is altered', () => {
    it('throws INVALID_PROOF for a flipped byte in each element', async () => {
      for (const size of [2, 3, 7, 64, 255, 256, 257, 1000, MAX_SIZE]) {
        for (const index of sampleIndexes(size)) {
          const proof = await proveInclusion(index, size, store.read);
          proof.forEach((_, k) => {
            const altered = proof.map((h, j) => (j === k ? flipped(h, 0, 0x01) : h));
            expect(codeOf(() => verifyInclusion(altered, index, size, leafHashes[index]!, root(size)))).toBe(
              'INVALID_PROOF',
            );
          });
        }
      }
    });

    it('throws INVALID_PROOF for any byte and bit of any element (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          instance.filter(({ size }) => size > 1),
          fc.nat(),
          fc.nat(31),
          fc.integer({ min: 1, max: 255 }),
          async ({ size, index }, element, byte, mask) => {
            const proof = await proveInclusion(index, size, store.read);
            const k = element % proof.length;
            const altered = proof.map((h, j) => (j === k ? flipped(h, byte, mask) : h));
            expect(codeOf(() => verifyInclusion(altered, index, size, leafHashes[index]!, root(size)))).toBe(
              'INVALID_PROOF',
            );
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('when the index, size, leaf or root is wrong', () => {
    it('throws INVALID_PROOF (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          instance,
          fc.nat(),
          fc.nat(31),
          fc.integer({ min: 1, max: 255 }),
          async (t, other, byte, mask) => {
            const { size, index } = t;
            const proof = await proveInclusion(index, size, store.read);
            const leaf = leafHashes[index]!;
            const verify = (i: number, s: number, l: Hash, r: Hash) =>
              codeOf(() => verifyInclusion(proof, i, s, l, r));
            expect(verify(index, size, leaf, root(size))).toBeUndefined();
            const wrongIndex = (index + 1 + (other % size)) % size;
            if (wrongIndex !== index)
              expect(verify(wrongIndex, size, leaf, root(size))).toBe('INVALID_PROOF');
            const wrongSize = 1 + ((size + (other % (MAX_SIZE - 1))) % MAX_SIZE);
            if (wrongSize !== size)
              expect(verify(index, wrongSize, leaf, root(wrongSize))).toBe('INVALID_PROOF');
            expect(verify(index, size, flipped(leaf, byte, mask), root(size))).toBe('INVALID_PROOF');
            expect(verify(index, size, leaf, flipped(root(size), byte, mask))).toBe('INVALID_PROOF');
            expect(verify(index, size, leafHashes[(index + 1) % MAX_SIZE]!, root(size))).toBe(
              'INVALID_PROOF',
            );
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('when the proof has extra or missing elements', () => {
    it('throws INVALID_PROOF', async () => {
      for (const [index, size] of [
        [0, 1],
        [0, 2],
        [5, 8],
        [999, 1000],
        [512, MAX_SIZE],
      ] as const) {
        const proof = await proveInclusion(index, size, store.read);
        const leaf = leafHashes[index]!;
        expect(codeOf(() => verifyInclusion([...proof, root(size)], index, size, leaf, root(size)))).toBe(
          'INVALID_PROOF',
        );
        if (proof.length > 0) {
          expect(codeOf(() => verifyInclusion(proof.slice(1), index, size, leaf, root(size)))).toBe(
            'INVALID_PROOF',
          );
        }
      }
    });

    it('throws INVALID_PROOF for hashes that are not 32 bytes', () => {
      const leaf = leafHashes[0]!;
      expect(codeOf(() => verifyInclusion([Buffer.alloc(31)], 0, 2, leaf, root(2)))).toBe('INVALID_PROOF');
      expect(codeOf(() => verifyInclusion([], 0, 1, leaf, Buffer.alloc(0)))).toBe('INVALID_PROOF');
      expect(codeOf(() => verifyInclusion([], 0, 0, leaf, EMPTY_TREE_HASH))).toBe('INVALID_PROOF');
    });
  });
});

describe('proveConsistency', () => {
  describe('when proving then verifying', () => {
    it('verifies every pair of sizes up to 64 and sampled pairs up to 1100', async () => {
      let proofs = 0;
      for (let toSize = 0; toSize <= MAX_SIZE; toSize++) {
        for (const fromSize of sampleFromSizes(toSize)) {
          const proof = await proveConsistency(fromSize, toSize, store.read);
          verifyConsistency(proof, fromSize, toSize, root(fromSize), root(toSize));
          proofs++;
        }
      }
      expect(proofs).toBeGreaterThan(2000 + 8000);
    });
  });

  describe('when there is nothing to prove', () => {
    it('returns an empty proof without reading', async () => {
      const read: HashReader = () => Promise.reject(new Error('must not read'));
      expect(await proveConsistency(0, 10, read)).toEqual([]);
      expect(await proveConsistency(10, 10, read)).toEqual([]);
    });
  });

  describe('when the sizes are out of order', () => {
    it('throws INVALID_TREE_SIZE', async () => {
      await expect(proveConsistency(5, 4, store.read)).rejects.toHaveProperty('code', 'INVALID_TREE_SIZE');
    });
  });
});

describe('verifyConsistency', () => {
  const instance = fc
    .record({ toSize: fc.integer({ min: 2, max: MAX_SIZE }), seed: fc.nat() })
    .map(({ toSize, seed }) => ({ toSize, fromSize: 1 + (seed % (toSize - 1)) }));

  describe('when any proof element is altered', () => {
    it('throws INVALID_PROOF for any byte and bit of any element (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          instance,
          fc.nat(),
          fc.nat(31),
          fc.integer({ min: 1, max: 255 }),
          async ({ fromSize, toSize }, element, byte, mask) => {
            const proof = await proveConsistency(fromSize, toSize, store.read);
            const k = element % proof.length;
            const altered = proof.map((h, j) => (j === k ? flipped(h, byte, mask) : h));
            expect(
              codeOf(() => verifyConsistency(altered, fromSize, toSize, root(fromSize), root(toSize))),
            ).toBe('INVALID_PROOF');
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('when a size or root is wrong', () => {
    it('throws INVALID_PROOF (property)', async () => {
      await fc.assert(
        fc.asyncProperty(
          instance,
          fc.nat(),
          fc.nat(31),
          fc.integer({ min: 1, max: 255 }),
          async (t, other, byte, mask) => {
            const { fromSize, toSize } = t;
            const proof = await proveConsistency(fromSize, toSize, store.read);
            const verify = (m: number, n: number, r1: Hash, r2: Hash) =>
              codeOf(() => verifyConsistency(proof, m, n, r1, r2));
            expect(verify(fromSize, toSize, root(fromSize), root(toSize))).toBeUndefined();
            const wrongFrom = 1 + ((fromSize + (other % (toSize - 1))) % (toSize - 1));
            if (wrongFrom !== fromSize) {
              expect(verify(wrongFrom, toSize, root(wrongFrom), root(toSize))).toBe('INVALID_PROOF');
            }
            const wrongTo = fromSize + 1 + ((toSize + other) % (MAX_SIZE - fromSize));
            if (wrongTo !== toSize)
              expect(verify(fromSize, wrongTo, root(fromSize), root(wrongTo))).toBe('INVALID_PROOF');
            expect(verify(fromSize, toSize, flipped(root(fromSize), byte, mask), root(toSize))).toBe(
              'INVALID_PROOF',
            );
            expect(verify(fromSize, toSize, root(fromSize), flipped(root(toSize), byte, mask))).toBe(
              'INVALID_PROOF',
            );
            expect(verify(fromSize, toSize, root(toSize), root(fromSize))).toBe('INVALID_PROOF');
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('when one of the trees is empty or the sizes are equal', () => {
    it('accepts only an empty proof with the matching roots', () => {
      const none: Hash[] = [];
      expect(codeOf(() => verifyConsistency(none, 0, 5, EMPTY_TREE_HASH, root(5)))).toBeUndefined();
      expect(codeOf(() => verifyConsistency(none, 0, 0, EMPTY_TREE_HASH, EMPTY_TREE_HASH))).toBeUndefined();
      expect(codeOf(() => verifyConsistency(none, 5, 5, root(5), root(5)))).toBeUndefined();
      expect(codeOf(() => verifyConsistency(none, 0, 5, root(1), root(5)))).toBe('INVALID_PROOF');
      expect(codeOf(() => verifyConsistency(none, 5, 5, root(4), root(5)))).toBe('INVALID_PROOF');
      expect(codeOf(() => verifyConsistency([root(5)], 5, 5, root(5), root(5)))).toBe('INVALID_PROOF');
      expect(codeOf(() => verifyConsistency([EMPTY_TREE_HASH], 0, 1, EMPTY_TREE_HASH, root(1)))).toBe(
        'INVALID_PROOF',
      );
      expect(codeOf(() => verifyConsistency(none, 4, 5, root(4), root(5)))).toBe('INVALID_PROOF');
      expect(codeOf(() => verifyConsistency(none, 6, 5, root(6), root(5)))).toBe('INVALID_PROOF');
    });
  });

  describe('when the proof has extra or missing elements', () => {
    it('throws INVALID_PROOF', async () => {
      for (const [m, n] of [
        [1, 2],
        [3, 7],
        [4, 8],
        [6, 8],
        [300, MAX_SIZE],
      ] as const) {
        const proof = await proveConsistency(m, n, store.read);
        expect(codeOf(() => verifyConsistency([...proof, root(n)], m, n, root(m), root(n)))).toBe(
          'INVALID_PROOF',
        );
        expect(codeOf(() => verifyConsistency(proof.slice(0, -1), m, n, root(m), root(n)))).toBe(
          'INVALID_PROOF',
        );
      }
    });
  });
});
