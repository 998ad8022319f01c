/*
 * RFC 6962 / RFC 9162 Merkle trees in the browser, with WebCrypto's SHA-256: leaf and node
 * hashes, the stored-hash numbering of tlog-tiles (Go's sumdb/tlog), and the check of an
 * inclusion proof against a checkpoint's root. Pure functions over bytes: the server's own
 * implementation (src/ledger/merkle) is the reference the unit tests compare with.
 */

export type Bytes = Uint8Array<ArrayBuffer>;

export const HASH_SIZE = 32;

export async function sha256(data: Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', data));
}

/** RFC 6962 §2.1: SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Promise<Bytes> {
  return sha256(concat([Uint8Array.of(0), entry]));
}

/** RFC 6962 §2.1: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Bytes> {
  return sha256(concat([Uint8Array.of(1), left, right]));
}

export function concat(parts: readonly Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

export function toBase64(bytes: Uint8Array): string {
  return btoa(Array.from(bytes, (b) => String.fromCharCode(b)).join(''));
}

/** Standard base64 to bytes; `undefined` for anything that is not. */
export function fromBase64(text: string): Bytes | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  try {
    return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
}

function popCount(n: number): number {
  let count = 0;
  for (let rest = n; rest > 0; rest = Math.floor(rest / 2)) count += rest % 2;
  return count;
}

/**
 * The position of the complete subtree at `level` and index `n` in the stored-hash sequence
 * (the order in which an append-only log learns its subtree hashes; tlog-tiles' numbering).
 */
export function storedHashIndex(level: number, n: number): number {
  const completingRecord = (n + 1) * 2 ** level - 1;
  return 2 * completingRecord - popCount(completingRecord) + level;
}

/** The leaves [lo, hi) of a subtree whose hash a proof needs. */
export interface Span {
  readonly lo: number;
  readonly hi: number;
}

/** RFC 9162 §2.1.3.1 audit path as spans of leaves, from the leaf's sibling up. */
export function inclusionSpans(index: number, treeSize: number): Span[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) {
    throw new RangeError(`entry ${index} is not in a tree of size ${treeSize}`);
  }
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

/** The largest power of two strictly below n (n ≥ 2). */
function largestPowerOfTwoBelow(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** The stored-hash indexes of the maximal complete subtrees covering a span, left to right. */
export function completeSubtrees({ lo, hi }: Span): { level: number; n: number; index: number }[] {
  const pieces: { level: number; n: number; index: number }[] = [];
  for (let start = lo; start < hi; ) {
    let width = 1;
    while (start % (width * 2) === 0 && width * 2 <= hi - start) width *= 2;
    const level = Math.log2(width);
    pieces.push({ level, n: start / width, index: storedHashIndex(level, start / width) });
    start += width;
  }
  return pieces;
}

/** The hash of a span from the hashes of its complete subtrees, folded from the right. */
export async function foldSubtrees(hashes: readonly Bytes[]): Promise<Bytes> {
  let right = hashes.at(-1);
  if (right === undefined) throw new RangeError('an empty span has no hash');
  for (let i = hashes.length - 2; i >= 0; i--) right = await nodeHash(hashes[i]!, right);
  return right;
}

/**
 * The root an audit path leads to from `leaf` at `index` (RFC 9162 §2.1.3.2), or `undefined`
 * when the path has the wrong length for the tree size.
 */
export async function rootFromInclusionProof(
  proof: readonly Uint8Array[],
  index: number,
  treeSize: number,
  leaf: Uint8Array,
): Promise<Bytes | undefined> {
  if (!Number.isSafeInteger(index) || index < 0 || index >= treeSize) return undefined;
  if ([...proof, leaf].some((h) => h.length !== HASH_SIZE)) return undefined;
  let fn = index;
  let sn = treeSize - 1;
  let r: Bytes = concat([leaf]);
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      // A right-edge node with no right sibling is promoted unchanged until it is a right child.
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      r = await nodeHash(r, p);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  return sn === 0 ? r : undefined;
}

/** True when the audit path shows `leaf` at `index` under `root`. */
export async function verifyInclusion(
  proof: readonly Uint8Array[],
  index: number,
  treeSize: number,
  leaf: Uint8Array,
  root: Uint8Array,
): Promise<boolean> {
  const reached = await rootFromInclusionProof(proof, index, treeSize, leaf);
  return reached !== undefined && equalBytes(reached, root);
}
