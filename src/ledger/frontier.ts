import type { RecordHashReader } from '../ports/storage.js';
import { EMPTY_TREE_HASH, type Hash, hashChildren, hashLeaf } from './merkle/index.js';

const HASH_SIZE = 32;

/**
 * The right edge of a Merkle tree: the roots of its complete subtrees, one per set bit of
 * the tree size (RFC 9162 §2.1.1 splits a tree at the largest power of two, so these are
 * exactly the subtrees a new leaf can complete). It is all a sequencer needs to extend the
 * tree: appending never reads anything else.
 */
export class Frontier {
  #size: number;
  /** `levels[l]` is the root of the complete subtree of height l, present iff bit l of size is set. */
  readonly #levels: (Hash | undefined)[];

  private constructor(size: number, levels: (Hash | undefined)[]) {
    this.#size = size;
    this.#levels = levels;
  }

  static empty(): Frontier {
    return new Frontier(0, []);
  }

  /**
   * Rebuilds the frontier of a tree of `size` records from the journal. Record r stores the
   * hashes it completed, leaf first: level l of record r is the subtree ending at r.
   */
  static fromJournal(size: number, readRecord: RecordHashReader): Frontier {
    const levels: (Hash | undefined)[] = [];
    let end = 0;
    for (let level = size === 0 ? -1 : Math.floor(Math.log2(size)); level >= 0; level--) {
      const span = 2 ** level;
      if (Math.floor(size / span) % 2 === 1) {
        end += span;
        levels[level] = readRecord(end - 1).subarray(level * HASH_SIZE, (level + 1) * HASH_SIZE);
      }
    }
    return new Frontier(size, levels);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds one entry; returns the stored hashes it adds (the leaf, then each completed subtree). */
  append(entry: Uint8Array): Buffer {
    let hash = hashLeaf(entry);
    const stored = [hash];
    let level = 0;
    while (this.#levels[level] !== undefined) {
      hash = hashChildren(this.#levels[level]!, hash);
      this.#levels[level] = undefined;
      stored.push(hash);
      level += 1;
    }
    this.#levels[level] = hash;
    this.#size += 1;
    return stored.length === 1 ? hash : Buffer.concat(stored);
  }

  /** The tree's root hash (RFC 9162 §2.1.1): the complete subtrees folded right to left. */
  root(): Hash {
    let root: Hash | undefined;
    for (const subtree of this.#levels) {
      if (subtree !== undefined) root = root === undefined ? subtree : hashChildren(subtree, root);
    }
    return root ?? EMPTY_TREE_HASH;
  }

  clone(): Frontier {
    return new Frontier(this.#size, [...this.#levels]);
  }
}
