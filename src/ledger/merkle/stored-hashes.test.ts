import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import { hashChildren, hashLeaf } from './hashing.js';
import { MerkleError } from './merkle-errors.js';
import {
  MAX_TREE_SIZE,
  splitStoredHashIndex,
  storedHashCount,
  storedHashesForRecord,
  storedHashIndex,
} from './stored-hashes.js';

/**
 * The stored-hash order derived independently, by replaying appends: each record pushes its leaf and
 * then merges equal-sized subtrees at the top of a stack, each merge being a newly stored hash.
 */
function appendOrder(records: number): { level: number; n: number }[] {
  const order: { level: number; n: number }[] = [];
  const stack: { level: number; n: number }[] = [];
  for (let record = 0; record < records; record++) {
    let top = { level: 0, n: record };
    order.push(top);
    while (stack.at(-1)?.level === top.level) {
      stack.pop();
      top = { level: top.level + 1, n: top.n >> 1 };
      order.push(top);
    }
    stack.push(top);
  }
  return order;
}

const codeOf = (fn: () => void): string | undefined => thrownCode(fn, MerkleError);

describe('storedHashIndex', () => {
  const order = appendOrder(5000);

  describe('when compared with replayed appends', () => {
    it('numbers every subtree by the order in which appends complete it', () => {
      order.forEach(({ level, n }, index) => {
        expect(storedHashIndex(level, n)).toBe(index);
        expect(splitStoredHashIndex(index)).toEqual({ level, n });
      });
    });

    it('counts the stored hashes of every tree size', () => {
      let stored = 0;
      for (let size = 0; size <= 5000; size++) {
        expect(storedHashCount(size)).toBe(stored);
        stored = storedHashIndex(0, size) + 1;
        while (stored < order.length && order[stored]!.level > 0) stored++;
      }
    });
  });

  describe('when the numbers are large', () => {
    it('round-trips through splitStoredHashIndex', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 2 ** 11 }), (level, n) => {
          expect(splitStoredHashIndex(storedHashIndex(level, n))).toEqual({ level, n });
        }),
      );
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 2 * MAX_TREE_SIZE - 64 }), (index) => {
          const { level, n } = splitStoredHashIndex(index);
          expect(storedHashIndex(level, n)).toBe(index);
        }),
      );
    });

    it('keeps the count of the largest tree exact', () => {
      expect(storedHashCount(MAX_TREE_SIZE)).toBe(2 * MAX_TREE_SIZE - 1);
      expect(storedHashIndex(0, MAX_TREE_SIZE - 1)).toBe(storedHashCount(MAX_TREE_SIZE - 1));
    });
  });

  describe('when given coordinates outside the supported range', () => {
    it('throws INVALID_INDEX or INVALID_TREE_SIZE', () => {
      expect(codeOf(() => storedHashIndex(-1, 0))).toBe('INVALID_INDEX');
      expect(codeOf(() => storedHashIndex(0, 1.5))).toBe('INVALID_INDEX');
      expect(codeOf(() => storedHashIndex(0, MAX_TREE_SIZE))).toBe('INVALID_INDEX');
      expect(codeOf(() => storedHashIndex(60, 1))).toBe('INVALID_INDEX');
      expect(codeOf(() => splitStoredHashIndex(-1))).toBe('INVALID_INDEX');
      expect(codeOf(() => storedHashCount(-1))).toBe('INVALID_TREE_SIZE');
      expect(codeOf(() => storedHashCount(MAX_TREE_SIZE + 1))).toBe('INVALID_TREE_SIZE');
    });
  });
});

describe('storedHashesForRecord', () => {
  describe('when a record completes subtrees', () => {
    it('returns the leaf and then each completed subtree, reading the left siblings in one call', async () => {
      const leaves = Array.from({ length: 8 }, (_, i) => hashLeaf(Buffer.of(i)));
      const stored: Buffer[] = [];
      const calls: number[][] = [];
      const read = async (indexes: readonly number[]) => {
        calls.push([...indexes]);
        return indexes.map((i) => stored[i]!);
      };
      for (const [n, leaf] of leaves.entries()) stored.push(...(await storedHashesForRecord(n, leaf, read)));
      const l01 = hashChildren(leaves[0]!, leaves[1]!);
      const l23 = hashChildren(leaves[2]!, leaves[3]!);
      const l03 = hashChildren(l01, l23);
      expect(stored.slice(0, 7)).toEqual([leaves[0], leaves[1], l01, leaves[2], leaves[3], l23, l03]);
      expect(stored).toHaveLength(storedHashCount(8));
      // Record 7 (0b111) completes three subtrees, so it reads three siblings in a single call.
      expect(calls.at(-1)).toEqual([storedHashIndex(0, 6), storedHashIndex(1, 2), storedHashIndex(2, 0)]);
      expect(calls).toHaveLength(4); // records 1, 3, 5 and 7; the others read nothing
    });
  });

  describe('when the reader breaks its contract', () => {
    it('throws INVALID_HASH_READ', async () => {
      const leaf = hashLeaf(Buffer.alloc(0));
      await expect(storedHashesForRecord(1, leaf, async () => [])).rejects.toThrow(MerkleError);
      await expect(storedHashesForRecord(1, leaf, async () => [Buffer.alloc(31)])).rejects.toHaveProperty(
        'code',
        'INVALID_HASH_READ',
      );
    });
  });
});
