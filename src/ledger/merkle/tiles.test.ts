import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { thrownCode } from '../../../test/support/thrown-code.js';
import { type Hash, hashLeaf } from './hashing.js';
import { MemoryHashStore } from './memory-hash-store.js';
import { MerkleError } from './merkle-errors.js';
import { type HashReader, splitStoredHashIndex, storedHashCount, storedHashIndex } from './stored-hashes.js';
import { entriesPath, TILE_HEIGHT, TILE_WIDTH, type Tile, tilePath } from './tile-paths.js';
import { hashFromTile, readTileData, tileForStoredHash, tileHashReader, tilesToWrite } from './tiles.js';
import { proveConsistency, proveInclusion, treeHash } from './tree.js';

const LARGE_SIZE = 70_000;
const STORE_SIZE = LARGE_SIZE + 1;
const store = new MemoryHashStore();

beforeAll(async () => {
  for (let i = 0; i < STORE_SIZE; i++) await store.append(Buffer.from(`entry ${i}`));
});

const codeOf = (fn: () => void): string | undefined => thrownCode(fn, MerkleError);

/** Every tile C2SP tlog-tiles publishes for a tree of `size`, straight from the spec's definitions. */
function publishedTiles(size: number): Map<string, Tile> {
  const tiles = new Map<string, Tile>();
  for (let level = 0; Math.floor(size / TILE_WIDTH ** level) > 0; level++) {
    const hashes = Math.floor(size / TILE_WIDTH ** level);
    for (let n = 0; n * TILE_WIDTH < hashes; n++) {
      const tile = { level, n, width: Math.min(TILE_WIDTH, hashes - n * TILE_WIDTH) };
      tiles.set(tilePath(tile), tile);
    }
  }
  return tiles;
}

/** Tiles are immutable once published, so the test server, like a CDN, builds each one once. */
const tileCache = new Map<string, Promise<Buffer>>();

/** A tile server over the store that refuses any tile a tree of `size` would not publish. */
function tileServer(size: number, fetched: string[] = []): (tile: Tile) => Promise<Buffer> {
  const published = publishedTiles(size);
  return async (tile) => {
    const path = tilePath(tile);
    if (!published.has(path)) throw new Error(`${path} is not published at size ${size}`);
    fetched.push(path);
    const data = tileCache.get(path) ?? readTileData(tile, store.read);
    tileCache.set(path, data);
    return Buffer.from(await data);
  };
}

function sizesAround(...sizes: number[]): number[] {
  return sizes.flatMap((s) => [s - 1, s, s + 1]).filter((s) => s >= 0);
}

describe('tilesToWrite', () => {
  function bruteForce(oldSize: number, newSize: number): string[] {
    const old = publishedTiles(oldSize);
    return [...publishedTiles(newSize).keys()].filter((path) => !old.has(path)).sort();
  }

  function written(oldSize: number, newSize: number): { hash: string[]; entries: string[] } {
    const { hashTiles, entryBundles } = tilesToWrite(oldSize, newSize);
    return {
      hash: hashTiles.map(tilePath).sort(),
      entries: entryBundles.map((b) => entriesPath(b.n, b.width)).sort(),
    };
  }

  describe('when growing across tile boundaries', () => {
    it.each([
      [0, 1],
      [1, 1],
      [0, 255],
      [255, 256],
      [256, 257],
      [0, 256],
      [0, 70_000],
      [65_535, 65_536],
      [65_536, 65_537],
      [1000, 70_000],
      [69_999, 70_000],
      [0, 16_777_216],
    ])('writes exactly the tiles %i → %i adds', (oldSize, newSize) => {
      const { hash, entries } = written(oldSize, newSize);
      expect(hash).toEqual(bruteForce(oldSize, newSize));
      const level0 = hash
        .filter((p) => p.startsWith('tile/0/'))
        .map((p) => p.replace('tile/0/', 'tile/entries/'));
      expect(entries).toEqual(level0);
    });

    it('matches the brute force for random growth (property)', () => {
      fc.assert(
        fc.property(fc.nat(300_000), fc.nat(300_000), (a, b) => {
          const [oldSize, newSize] = a <= b ? [a, b] : [b, a];
          expect(written(oldSize, newSize).hash).toEqual(bruteForce(oldSize, newSize));
        }),
        { numRuns: 100 },
      );
    });
  });

  describe('when the tree has the sizes of the C2SP examples', () => {
    it('describes a tree of 70,000 as the spec does', () => {
      const { hashTiles } = tilesToWrite(0, 70_000);
      const full0 = hashTiles.filter((t) => t.level === 0 && t.width === TILE_WIDTH);
      expect(full0).toHaveLength(273);
      expect(hashTiles.filter((t) => t.width < TILE_WIDTH || t.level > 0).map(tilePath)).toEqual([
        'tile/0/273.p/112',
        'tile/1/000',
        'tile/1/001.p/17',
        'tile/2/000.p/1',
      ]);
    });

    it('describes a tree of 256 as a full level-0 tile and a level-1 tile of width 1', () => {
      expect(tilesToWrite(0, 256).hashTiles.map(tilePath)).toEqual(['tile/0/000', 'tile/1/000.p/1']);
      expect(tilesToWrite(0, 256).entryBundles).toEqual([{ n: 0, width: 256 }]);
    });
  });

  describe('when the log would shrink', () => {
    it('throws INVALID_TREE_SIZE', () => {
      expect(codeOf(() => tilesToWrite(2, 1))).toBe('INVALID_TREE_SIZE');
      expect(codeOf(() => tilesToWrite(-1, 1))).toBe('INVALID_TREE_SIZE');
    });
  });
});

describe('readTileData', () => {
  describe('when reading a level-0 and a level-1 tile', () => {
    it('concatenates the leaf hashes, and the roots of the 256-leaf subtrees', async () => {
      const level0 = await readTileData({ level: 0, n: 1, width: 3 }, store.read);
      expect(level0).toEqual(Buffer.concat([256, 257, 258].map((i) => hashLeaf(Buffer.from(`entry ${i}`)))));
      const level1 = await readTileData({ level: 1, n: 0, width: 256 }, store.read);
      expect(level1).toHaveLength(256 * 32);
      for (const n of [0, 1, 200, 255]) {
        const expected = await treeHash(256, (indexes) =>
          store.read(indexes.map((i) => i + storedHashIndex(0, n * 256))),
        );
        expect(level1.subarray(n * 32, (n + 1) * 32)).toEqual(expected);
      }
    });
  });
});

describe('tileForStoredHash', () => {
  describe('when the hash lies in the rightmost tile of its level', () => {
    it('names the partial tile the tree publishes', () => {
      expect(tileForStoredHash(300, storedHashIndex(0, 299))).toEqual({ level: 0, n: 1, width: 44 });
      expect(tileForStoredHash(300, storedHashIndex(3, 36))).toEqual({ level: 0, n: 1, width: 44 });
      expect(tileForStoredHash(300, storedHashIndex(0, 3))).toEqual({ level: 0, n: 0, width: 256 });
      expect(tileForStoredHash(70_000, storedHashIndex(8, 272))).toEqual({ level: 1, n: 1, width: 17 });
      expect(tileForStoredHash(70_000, storedHashIndex(16, 0))).toEqual({ level: 2, n: 0, width: 1 });
    });
  });

  describe('when the hash is not in the tree', () => {
    it('throws INVALID_INDEX', () => {
      expect(codeOf(() => tileForStoredHash(300, storedHashCount(300)))).toBe('INVALID_INDEX');
      expect(codeOf(() => tileForStoredHash(0, 0))).toBe('INVALID_INDEX');
    });
  });
});

describe('hashFromTile', () => {
  async function expectSameHashes(size: number, indexes: readonly number[]): Promise<void> {
    const fromTiles = await tileHashReader(size, tileServer(size))(indexes);
    const direct = await store.read(indexes);
    expect(fromTiles.every((hash, i) => hash.equals(direct[i]!))).toBe(true);
  }

  describe('when given every stored hash of a tree', () => {
    it.each([1, 2, 3, 255, 256, 257, 511, 512, 1100])('recovers each one for size %i', async (size) => {
      await expectSameHashes(
        size,
        Array.from({ length: storedHashCount(size) }, (_, i) => i),
      );
    });
  });

  describe('when the tree has level-1 and level-2 tiles', () => {
    it('recovers every hash at tree level 8 and above, and a sample below, for size 70,000', async () => {
      const indexes = Array.from({ length: storedHashCount(LARGE_SIZE) }, (_, i) => i).filter(
        (i) => i % 61 === 0 || splitStoredHashIndex(i).level >= TILE_HEIGHT,
      );
      expect(indexes.filter((i) => splitStoredHashIndex(i).level >= 16)).toHaveLength(1);
      await expectSameHashes(LARGE_SIZE, indexes);
    });
  });

  describe('when the tile or its data do not fit the index', () => {
    it('throws INVALID_TILE', async () => {
      const tile = { level: 0, n: 0, width: 4 };
      const data = await readTileData(tile, store.read);
      expect(hashFromTile(tile, data, storedHashIndex(2, 0))).toEqual(
        (await store.read([storedHashIndex(2, 0)]))[0],
      );
      expect(codeOf(() => hashFromTile(tile, data.subarray(32), 0))).toBe('INVALID_TILE');
      expect(codeOf(() => hashFromTile(tile, data, storedHashIndex(0, 4)))).toBe('INVALID_TILE');
      expect(codeOf(() => hashFromTile(tile, data, storedHashIndex(3, 0)))).toBe('INVALID_TILE');
      expect(codeOf(() => hashFromTile({ level: 1, n: 0, width: 4 }, data, 0))).toBe('INVALID_TILE');
    });
  });
});

describe('tileHashReader', () => {
  /** Compared as hex: vitest's deep equality on Buffers is slow enough to dominate these loops. */
  const hex = (hashes: readonly Hash[]): string[] => hashes.map((h) => h.toString('hex'));

  async function expectSameProofs(
    size: number,
    read: HashReader,
    indexes: readonly number[],
    fromSizes: readonly number[],
  ): Promise<void> {
    expect(hex([await treeHash(size, read)])).toEqual(hex([await treeHash(size, store.read)]));
    for (const index of indexes) {
      const viaTiles = await proveInclusion(index, size, read);
      expect(hex(viaTiles)).toEqual(hex(await proveInclusion(index, size, store.read)));
    }
    for (const fromSize of fromSizes) {
      const viaTiles = await proveConsistency(fromSize, size, read);
      expect(hex(viaTiles)).toEqual(hex(await proveConsistency(fromSize, size, store.read)));
    }
  }

  describe('when serving every tree size up to 1100 from tiles alone', () => {
    it('gives the same tree hashes and proofs as the stored hashes', async () => {
      for (let size = 1; size <= 1100; size++) {
        const read = tileHashReader(size, tileServer(size));
        const index = (size * 7919 + 13) % size; // spread over the tree, deterministic
        await expectSameProofs(
          size,
          read,
          [...new Set([index, size - 1])],
          [1 + ((size * 104_729 + 7) % size)],
        );
      }
    });
  });

  describe('when the tree needs level-1 and level-2 tiles', () => {
    it.each(sizesAround(65_536, 70_000))('gives the same tree hashes and proofs at size %i', async (size) => {
      const indexes = [0, 255, 256, 65_535, size >> 1, size - 257, size - 1].filter((i) => i < size);
      const fromSizes = [1, 256, 65_535, 65_536, size - 1].filter((m) => m <= size);
      await expectSameProofs(size, tileHashReader(size, tileServer(size)), indexes, fromSizes);
    });

    it('fetches each tile once per read, in one batch', async () => {
      const fetched: string[] = [];
      const read = tileHashReader(LARGE_SIZE, tileServer(LARGE_SIZE, fetched));
      await proveInclusion(12_345, LARGE_SIZE, read);
      expect(new Set(fetched).size).toBe(fetched.length);
      expect(fetched).toContain('tile/1/001.p/17');
      fetched.length = 0;
      await treeHash(LARGE_SIZE, read);
      expect(fetched.sort()).toEqual(['tile/0/273.p/112', 'tile/1/001.p/17', 'tile/2/000.p/1']);
    });
  });

  describe('when a tile server returns data of the wrong length', () => {
    it('throws INVALID_TILE', async () => {
      const read = tileHashReader(
        300,
        async (tile: Tile): Promise<Hash> => Buffer.alloc(tile.width * 32 - 1),
      );
      await expect(read([0])).rejects.toHaveProperty('code', 'INVALID_TILE');
    });
  });
});
