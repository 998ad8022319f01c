import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import { EMPTY_TREE_HASH, hashLeaf, rootOfLeaves } from './hashing.js';
import { MemoryHashStore } from './memory-hash-store.js';
import { MerkleError } from './merkle-errors.js';
import { storedHashIndex } from './stored-hashes.js';
import { proveConsistency, proveInclusion, treeHash, verifyConsistency, verifyInclusion } from './tree.js';

/** Test data comes from transparency-dev/merkle v0.0.2; see the file's `source` field. */
interface Vectors {
  readonly source: { readonly repository: string; readonly commit: string };
  readonly leaves: readonly string[];
  readonly roots: readonly string[];
  readonly nodeHashes: readonly (readonly string[])[];
  readonly inclusionProofs: readonly { leafIndex: number; treeSize: number; proof: readonly string[] }[];
  readonly consistencyProofs: readonly { fromSize: number; toSize: number; proof: readonly string[] }[];
}

const vectors = JSON.parse(
  readFileSync(new URL('../../../testdata/merkle/rfc6962-vectors.json', import.meta.url), 'utf8'),
) as Vectors;

const hex = (h: string): Buffer => Buffer.from(h, 'hex');
const toHex = (hashes: readonly Buffer[]): string[] => hashes.map((h) => h.toString('hex'));
const leaves = vectors.leaves.map(hex);
const root = (size: number): Buffer => hex(vectors.roots[size]!);

const codeOf = (fn: () => void): string | undefined => thrownCode(fn, MerkleError);

describe('RFC 6962 reference vectors', () => {
  const store = new MemoryHashStore();
  beforeAll(async () => {
    for (const leaf of leaves) await store.append(leaf);
  });

  it('cite their source', () => {
    expect(vectors.source.repository).toBe('https://github.com/transparency-dev/merkle');
    expect(vectors.source.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(vectors.leaves).toHaveLength(8);
    expect(vectors.roots).toHaveLength(9);
  });

  describe('when hashing the eight leaves', () => {
    it('stores every complete subtree hash at its stored-hash index', async () => {
      const expected = vectors.nodeHashes.flatMap((level, l) => level.map((h, n) => ({ l, n, h })));
      expect(expected).toHaveLength(15);
      const read = await store.read(expected.map(({ l, n }) => storedHashIndex(l, n)));
      expect(toHex(read)).toEqual(expected.map(({ h }) => h));
      expect(toHex(leaves.map(hashLeaf))).toEqual(vectors.nodeHashes[0]);
    });

    it('gives the published root for every tree size 0..8', async () => {
      expect(EMPTY_TREE_HASH.toString('hex')).toBe(vectors.roots[0]);
      for (let size = 0; size <= 8; size++) {
        expect((await treeHash(size, store.read)).toString('hex')).toBe(vectors.roots[size]);
        expect(rootOfLeaves(leaves.slice(0, size).map(hashLeaf)).toString('hex')).toBe(vectors.roots[size]);
      }
    });
  });

  describe('when proving inclusion', () => {
    it.each(vectors.inclusionProofs)(
      'matches and verifies leaf $leafIndex in size $treeSize',
      async (vector) => {
        const proof = await proveInclusion(vector.leafIndex, vector.treeSize, store.read);
        expect(toHex(proof)).toEqual(vector.proof);
        const leafHash = hashLeaf(leaves[vector.leafIndex]!);
        expect(() =>
          verifyInclusion(
            vector.proof.map(hex),
            vector.leafIndex,
            vector.treeSize,
            leafHash,
            root(vector.treeSize),
          ),
        ).not.toThrow();
      },
    );

    it.each(vectors.inclusionProofs)(
      'rejects leaf $leafIndex in size $treeSize under the empty root',
      (vector) => {
        const leafHash = hashLeaf(leaves[vector.leafIndex]!);
        const proof = vector.proof.map(hex);
        expect(
          codeOf(() => verifyInclusion(proof, vector.leafIndex, vector.treeSize, leafHash, EMPTY_TREE_HASH)),
        ).toBe('INVALID_PROOF');
      },
    );
  });

  describe('when proving consistency', () => {
    it.each(vectors.consistencyProofs)('matches and verifies $fromSize → $toSize', async (vector) => {
      const proof = await proveConsistency(vector.fromSize, vector.toSize, store.read);
      expect(toHex(proof)).toEqual(vector.proof);
      const [fromRoot, toRoot] = [root(vector.fromSize), root(vector.toSize)];
      expect(() =>
        verifyConsistency(vector.proof.map(hex), vector.fromSize, vector.toSize, fromRoot, toRoot),
      ).not.toThrow();
    });

    it.each(vectors.consistencyProofs.filter((v) => v.fromSize !== v.toSize))(
      'rejects $fromSize → $toSize with swapped roots',
      (vector) => {
        const proof = vector.proof.map(hex);
        const [fromRoot, toRoot] = [root(vector.fromSize), root(vector.toSize)];
        expect(codeOf(() => verifyConsistency(proof, vector.fromSize, vector.toSize, toRoot, fromRoot))).toBe(
          'INVALID_PROOF',
        );
      },
    );
  });
});
