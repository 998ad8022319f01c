import { type Hash, hashLeaf } from './hashing.js';
import { MerkleError } from './merkle-errors.js';
import { type HashReader, storedHashesForRecord } from './stored-hashes.js';

/**
 * Stored hashes kept in an array: for tests, benchmarks and tools that build a small log in memory.
 *
 * @example
 * const store = new MemoryHashStore();
 * await store.append(Buffer.from('entry'));
 * const root = await treeHash(store.size, store.read);
 */
export class MemoryHashStore {
  readonly #hashes: Hash[] = [];
  #size = 0;

  /** The number of records appended. */
  get size(): number {
    return this.#size;
  }

  readonly read: HashReader = async (indexes) =>
    indexes.map((index) => {
      const hash = this.#hashes[index];
      if (hash === undefined) throw new MerkleError('INVALID_INDEX', `no stored hash ${index}`);
      return hash;
    });

  async append(entry: Uint8Array): Promise<void> {
    await this.appendLeafHash(hashLeaf(entry));
  }

  async appendLeafHash(leafHash: Hash): Promise<void> {
    const added = await storedHashesForRecord(this.#size, leafHash, this.read);
    this.#hashes.push(...added);
    this.#size++;
  }
}
