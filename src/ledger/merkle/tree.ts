import {
  exponentOf,
  isPowerOfTwo,
  largestPowerOfTwoAtMost,
  largestPowerOfTwoBelow,
  lowestSetBit,
} from './bits.js';
import { EMPTY_TREE_HASH, HASH_SIZE, type Hash, hashChildren } from './hashing.js';
import { MerkleError } from './merkle-errors.js';
import { assertTreeSize, type HashReader, readStoredHashes, storedHashIndex } from './stored-hashes.js';

/** The leaves D[lo:hi] of a subtree whose Merkle Tree Hash a proof needs. */
interface Span {
  readonly lo: number;
  readonly hi: number;
}

/**
 * The Merkle Tree Hash MTH(D[0:treeSize]) (RFC 6962 §2.1), from one batched read.
 *
 * @example
 * const root = await treeHash(size, store.read);
 */
export async function treeHash(treeSize: number, read: HashReader): Promise<Hash> {
  assertTreeSize(treeSize);
  if (treeSize === 0) return EMPTY_TREE_HASH;
  const [root] = await hashSpans([{ lo: 0, hi: treeSize }], read);
  return root!;
}

/**
 * The audit path PATH(index, D[0:treeSize]) of RFC 9162 §2.1.3.1, ordered from the leaf's sibling
 * up to the child of the root.
 *
 * @example
 * const proof = await proveInclusion(7, size, store.read);
 * verifyInclusion(proof, 7, size, hashLeaf(entry), root);
 */
export async function proveInclusion(index: number, treeSize: number, read: HashReader): Promise<Hash[]> {
  assertTreeSize(treeSize);
  if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) {
    throw new MerkleError('INVALID_INDEX', `leaf ${index} is not in a tree of size ${treeSize}`);
  }
  return hashSpans(inclusionSpans(index, treeSize), read);
}

/**
 * The consistency proof PROOF(fromSize, D[0:toSize]) of RFC 9162 §2.1.4.1. It is empty when there is
 * nothing to prove: fromSize is 0 or equals toSize.
 *
 * @example
 * const proof = await proveConsistency(oldSize, newSize, store.read);
 * verifyConsistency(proof, oldSize, newSize, oldRoot, newRoot);
 */
export async function proveConsistency(fromSize: number, toSize: number, read: HashReader): Promise<Hash[]> {
  assertTreeSize(fromSize);
  assertTreeSize(toSize);
  if (fromSize > toSize) {
    throw new MerkleError('INVALID_TREE_SIZE', `cannot prove ${fromSize} consistent with smaller ${toSize}`);
  }
  if (fromSize === 0 || fromSize === toSize) return [];
  return hashSpans(consistencySpans(fromSize, toSize), read);
}

/**
 * Checks an audit path as RFC 9162 §2.1.3.2 describes.
 *
 * @throws {MerkleError} `INVALID_PROOF` if `proof` does not show `leafHash` at `index` under `root`.
 * @example
 * verifyInclusion(proof, index, checkpoint.size, hashLeaf(entry), checkpoint.root);
 */
export function verifyInclusion(
  proof: readonly Hash[],
  index: number,
  treeSize: number,
  leafHash: Hash,
  root: Hash,
): void {
  if (!isIndexInTree(index, treeSize) || !allHashes([...proof, leafHash, root])) {
    throw invalidProof('malformed inclusion proof');
  }
  let fn = index;
  let sn = treeSize - 1;
  let r = leafHash;
  for (const p of proof) {
    if (sn === 0) throw invalidProof('inclusion proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      // A right-edge node with no right sibling is promoted unchanged until it becomes a right child.
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      r = hashChildren(r, p);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  if (sn !== 0 || !r.equals(root)) throw invalidProof('inclusion proof does not lead to the root');
}

/**
 * Checks a consistency proof as RFC 9162 §2.1.4.2 describes, including the trivial cases it leaves
 * to the caller: from the empty tree (the proof must be empty and fromRoot the empty-tree hash) and
 * between equal sizes (the proof must be empty and the roots equal).
 *
 * @throws {MerkleError} `INVALID_PROOF` if the tree at `toSize` does not extend the one at `fromSize`.
 * @example
 * verifyConsistency(proof, trusted.size, latest.size, trusted.root, latest.root);
 */
export function verifyConsistency(
  proof: readonly Hash[],
  fromSize: number,
  toSize: number,
  fromRoot: Hash,
  toRoot: Hash,
): void {
  if (!isTreeSize(fromSize) || !isTreeSize(toSize) || fromSize > toSize) {
    throw invalidProof(`sizes ${fromSize} and ${toSize} are not in order`);
  }
  if (!allHashes([...proof, fromRoot, toRoot])) throw invalidProof('malformed consistency proof');
  if (fromSize === 0 || fromSize === toSize) {
    const expectedFrom = fromSize === 0 ? EMPTY_TREE_HASH : toRoot;
    if (proof.length !== 0 || !fromRoot.equals(expectedFrom)) throw invalidProof('trivial consistency fails');
    return;
  }
  // When fromSize is a power of two its root is a node of the new tree and the proof leaves it out.
  const path = isPowerOfTwo(fromSize) ? [fromRoot, ...proof] : proof;
  const [first, ...rest] = path;
  if (first === undefined) throw invalidProof('empty consistency proof');
  let fn = fromSize - 1;
  let sn = toSize - 1;
  while (fn % 2 === 1) [fn, sn] = [(fn - 1) / 2, Math.floor(sn / 2)];
  let fr = first;
  let sr = first;
  for (const c of rest) {
    if (sn === 0) throw invalidProof('consistency proof is too long');
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      sr = hashChildren(sr, c);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  if (sn !== 0 || !fr.equals(fromRoot) || !sr.equals(toRoot)) {
    throw invalidProof('consistency proof does not lead to both roots');
  }
}

/** RFC 9162 §2.1.3.1 recursion, unrolled from the root: the sibling spans, leaf side first. */
function inclusionSpans(index: number, treeSize: number): Span[] {
  const spans: Span[] = [];
  let lo = 0;
  let hi = treeSize;
  while (hi - lo > 1) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (index < lo + k) {
      spans.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      spans.push({ lo, hi: lo + k });
      lo += k;
    }
  }
  return spans.reverse();
}

/** RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], true), unrolled from the root, deepest span first. */
function consistencySpans(fromSize: number, toSize: number): Span[] {
  const spans: Span[] = [];
  let lo = 0;
  let hi = toSize;
  let fromRootIsNode = true; // SUBPROOF's b: the old root is itself a node here, so leave it out.
  while (fromSize !== hi) {
    const k = largestPowerOfTwoBelow(hi - lo);
    if (fromSize - lo <= k) {
      spans.push({ lo: lo + k, hi });
      hi = lo + k;
    } else {
      spans.push({ lo, hi: lo + k });
      lo += k;
      fromRootIsNode = false;
    }
  }
  if (!fromRootIsNode) spans.push({ lo, hi });
  return spans.reverse();
}

/**
 * The Merkle Tree Hashes of `spans`, from a single read. Every span here is a subtree of the RFC 6962
 * tree, so its leaves split into complete subtrees, largest first, each one a stored hash; folding
 * those from the right rebuilds the span's MTH exactly as §2.1 splits it at the largest power of two.
 */
async function hashSpans(spans: readonly Span[], read: HashReader): Promise<Hash[]> {
  const pieces = spans.map(completeSubtrees);
  const hashes = await readStoredHashes(read, pieces.flat());
  let next = 0;
  return pieces.map((indexes) => {
    const parts = hashes.slice(next, next + indexes.length);
    next += indexes.length;
    return parts.reduceRight((right, left) => hashChildren(left, right));
  });
}

/** The stored-hash indexes of the maximal complete subtrees covering `span`, left to right. */
function completeSubtrees({ lo, hi }: Span): number[] {
  const indexes: number[] = [];
  for (let start = lo; start < hi; ) {
    const width = Math.min(lowestSetBit(start), largestPowerOfTwoAtMost(hi - start));
    indexes.push(storedHashIndex(exponentOf(width), start / width));
    start += width;
  }
  return indexes;
}

function isTreeSize(size: number): boolean {
  return Number.isSafeInteger(size) && size >= 0;
}

function isIndexInTree(index: number, treeSize: number): boolean {
  return isTreeSize(treeSize) && Number.isSafeInteger(index) && index >= 0 && index < treeSize;
}

function allHashes(hashes: readonly Hash[]): boolean {
  return hashes.every((hash) => Buffer.isBuffer(hash) && hash.length === HASH_SIZE);
}

function invalidProof(message: string): MerkleError {
  return new MerkleError('INVALID_PROOF', message);
}
