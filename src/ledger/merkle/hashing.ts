import * as crypto from 'node:crypto';
import { createHash } from 'node:crypto';

/** Domain separation between leaves and interior nodes (RFC 6962 §2.1, RFC 9162 §2.1.1). */
export const RFC6962_LEAF_HASH_PREFIX = 0x00;
export const RFC6962_NODE_HASH_PREFIX = 0x01;

/** RFC 6962 §2.1 fixes the hash to SHA-256. */
export const HASH_SIZE = 32;

/** A 32-byte SHA-256 Merkle tree hash. */
export type Hash = Buffer;

const LEAF_PREFIX = Buffer.of(RFC6962_LEAF_HASH_PREFIX);
const NODE_PREFIX = Buffer.of(RFC6962_NODE_HASH_PREFIX);

/**
 * One-shot SHA-256 (Node >= 20.12): a log hashes two to three times per entry, and a Hash
 * object per call made garbage collection a third of the append time in the log benchmark.
 */
const oneShot = (crypto as { hash?: (algorithm: string, data: Uint8Array, encoding: 'buffer') => Buffer })
  .hash;
const sha256: (data: Uint8Array) => Buffer =
  oneShot === undefined
    ? (data) => createHash('sha256').update(data).digest()
    : (data) => oneShot('sha256', data, 'buffer');

/** Reused input buffers: the prefix is written once, the rest overwritten per call. */
const leafScratch = Buffer.alloc(1 + 0xffff, RFC6962_LEAF_HASH_PREFIX);
const nodeScratch = Buffer.alloc(1 + 2 * HASH_SIZE, RFC6962_NODE_HASH_PREFIX);

/** MTH({d(0)}) = SHA-256(0x00 || d(0)) (RFC 6962 §2.1). */
export function hashLeaf(entry: Uint8Array): Hash {
  if (entry.length >= leafScratch.length)
    return createHash('sha256').update(LEAF_PREFIX).update(entry).digest();
  leafScratch.set(entry, 1);
  return sha256(leafScratch.subarray(0, 1 + entry.length));
}

/** SHA-256(0x01 || MTH(left) || MTH(right)) (RFC 6962 §2.1). */
export function hashChildren(left: Hash, right: Hash): Hash {
  if (left.length !== HASH_SIZE || right.length !== HASH_SIZE) {
    return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
  }
  nodeScratch.set(left, 1);
  nodeScratch.set(right, 1 + HASH_SIZE);
  return sha256(nodeScratch);
}

/** MTH({}) = SHA-256(): the root of the empty tree (RFC 6962 §2.1). */
export const EMPTY_TREE_HASH: Hash = createHash('sha256').digest();

/**
 * The Merkle Tree Hash computed straight from RFC 6962 §2.1's recursive definition, with every leaf
 * hash in memory. It reads no stored hashes, so it is the reference the stored-hash code is tested
 * against and the baseline the benchmark compares with.
 *
 * @example
 * rootOfLeaves([hashLeaf(Buffer.from('a')), hashLeaf(Buffer.from('b'))]);
 */
export function rootOfLeaves(leafHashes: readonly Hash[]): Hash {
  if (leafHashes.length === 0) return EMPTY_TREE_HASH;
  return rootOfRange(leafHashes, 0, leafHashes.length);
}

function rootOfRange(leafHashes: readonly Hash[], lo: number, hi: number): Hash {
  if (hi - lo === 1) return leafHashes[lo]!;
  // k is the largest power of two smaller than n (RFC 6962 §2.1).
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return hashChildren(rootOfRange(leafHashes, lo, lo + k), rootOfRange(leafHashes, lo + k, hi));
}
