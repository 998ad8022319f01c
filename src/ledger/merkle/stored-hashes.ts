import { popCount, trailingOnes } from './bits.js';
import { HASH_SIZE, type Hash, hashChildren } from './hashing.js';
import { MerkleError } from './merkle-errors.js';

/**
 * Reads stored hashes by their position in the stored-hash sequence. Callers batch: one call per
 * tree hash, proof or tile, so a storage adapter can answer with one query.
 *
 * @example
 * const read: HashReader = async (indexes) => indexes.map((i) => hashes[i]!);
 */
export type HashReader = (indexes: readonly number[]) => Promise<readonly Hash[]>;

/**
 * The largest supported tree size. A log of N records has about 2N stored hashes, and every stored
 * hash index must stay a safe integer.
 */
export const MAX_TREE_SIZE = 2 ** 52;

/*
 * The stored-hash sequence is the order in which an append-only log learns complete subtree hashes:
 * appending record m writes its leaf hash, then the hash of every subtree that record completes,
 * lowest level first. Record m completes one subtree per trailing one bit of m. This is the
 * numbering of golang.org/x/mod/sumdb/tlog, so tile data and proofs match Go's checksum database.
 */

export function assertTreeSize(treeSize: number): void {
  if (!Number.isSafeInteger(treeSize) || treeSize < 0 || treeSize > MAX_TREE_SIZE) {
    throw new MerkleError('INVALID_TREE_SIZE', `invalid tree size ${treeSize}`);
  }
}

/** The number of stored hashes of a log with `treeSize` records: Σ_L ⌊N / 2^L⌋ = 2N − popcount(N). */
export function storedHashCount(treeSize: number): number {
  assertTreeSize(treeSize);
  return 2 * treeSize - popCount(treeSize);
}

/**
 * The position of the hash of the complete subtree at `level` (0 = leaves) and index `n` within that
 * level: after everything stored for the records before the one that completes it, plus its level.
 *
 * @example
 * storedHashIndex(0, 2); // 3: leaves 0 and 1 and their parent come first
 */
export function storedHashIndex(level: number, n: number): number {
  if (!Number.isSafeInteger(level) || level < 0 || !Number.isSafeInteger(n) || n < 0) {
    throw new MerkleError('INVALID_INDEX', `invalid subtree (level ${level}, index ${n})`);
  }
  const completingRecord = (n + 1) * 2 ** level - 1;
  if (completingRecord >= MAX_TREE_SIZE) {
    throw new MerkleError('INVALID_INDEX', `subtree (level ${level}, index ${n}) is beyond the largest tree`);
  }
  return 2 * completingRecord - popCount(completingRecord) + level;
}

/**
 * The inverse of `storedHashIndex`.
 *
 * @example
 * splitStoredHashIndex(3); // { level: 0, n: 2 }
 */
export function splitStoredHashIndex(index: number): { level: number; n: number } {
  if (!Number.isSafeInteger(index) || index < 0 || index >= 2 * MAX_TREE_SIZE) {
    throw new MerkleError('INVALID_INDEX', `invalid stored hash index ${index}`);
  }
  const record = completingRecordOf(index);
  const level = index - (2 * record - popCount(record));
  return { level, n: Math.floor(record / 2 ** level) };
}

/**
 * The record m whose append wrote stored hash `index`: the largest m with storedHashCount(m) ≤ index.
 * 2m − popcount(m) lies within 53 of 2m, so m is within 28 of ⌊index / 2⌋.
 */
function completingRecordOf(index: number): number {
  let lo = Math.floor(index / 2);
  let hi = lo + 28;
  while (hi - lo > 1) {
    const mid = lo + Math.floor((hi - lo) / 2);
    if (2 * mid - popCount(mid) <= index) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * The stored hashes that appending record `n` adds, in order: its leaf hash, then each subtree hash
 * it completes. `readHashes` must serve the stored hashes of records 0..n−1; it is called at most once.
 *
 * @example
 * const added = await storedHashesForRecord(size, hashLeaf(entry), read);
 * hashes.push(...added); // now at indexes storedHashCount(size) .. storedHashCount(size + 1) − 1
 */
export async function storedHashesForRecord(
  n: number,
  leafHash: Hash,
  readHashes: HashReader,
): Promise<Hash[]> {
  if (!Number.isSafeInteger(n) || n < 0 || n >= MAX_TREE_SIZE) {
    throw new MerkleError('INVALID_INDEX', `invalid record number ${n}`);
  }
  if (leafHash.length !== HASH_SIZE) throw new MerkleError('INVALID_HASH', 'leaf hash is not 32 bytes');
  const completed = trailingOnes(n);
  // The left siblings, lowest level first: at level L the new subtree pairs with ⌊n / 2^L⌋ − 1.
  const siblingIndexes = Array.from({ length: completed }, (_, level) =>
    storedHashIndex(level, Math.floor(n / 2 ** level) - 1),
  );
  const siblings = await readStoredHashes(readHashes, siblingIndexes);
  const added = [leafHash];
  let hash = leafHash;
  for (const sibling of siblings) {
    hash = hashChildren(sibling, hash);
    added.push(hash);
  }
  return added;
}

/** Calls `read` once (or not at all for no indexes) and checks that it kept its contract. */
export async function readStoredHashes(
  read: HashReader,
  indexes: readonly number[],
): Promise<readonly Hash[]> {
  if (indexes.length === 0) return [];
  const hashes = await read(indexes);
  if (hashes.length !== indexes.length) {
    throw new MerkleError('INVALID_HASH_READ', `asked for ${indexes.length} hashes, got ${hashes.length}`);
  }
  for (const hash of hashes) {
    if (hash.length !== HASH_SIZE) throw new MerkleError('INVALID_HASH_READ', 'stored hash is not 32 bytes');
  }
  return hashes;
}
