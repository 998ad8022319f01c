import { HASH_SIZE, type Hash, hashChildren } from './hashing.js';
import { MerkleError } from './merkle-errors.js';
import {
  assertTreeSize,
  type HashReader,
  readStoredHashes,
  splitStoredHashIndex,
  storedHashCount,
  storedHashIndex,
} from './stored-hashes.js';
import { assertTile, TILE_HEIGHT, TILE_WIDTH, type Tile, tilePath } from './tile-paths.js';

export {
  entriesPath,
  type ParsedTilePath,
  parseTilePath,
  TILE_HEIGHT,
  TILE_WIDTH,
  type Tile,
  TLOG_TILES_MAX_LEVEL,
  tilePath,
} from './tile-paths.js';

export interface EntryBundleCoordinates {
  readonly n: number;
  readonly width: number;
}

export interface TilesToWrite {
  readonly hashTiles: readonly Tile[];
  readonly entryBundles: readonly EntryBundleCoordinates[];
}

/**
 * The hash tiles and entry bundles to publish when the log grows from `oldSize` to `newSize`: every
 * tile that became full, and the partial tile at the right edge of each level that changed. Tiles
 * of a level whose hash count did not change stay as they were (C2SP tlog-tiles §Partial Tiles).
 *
 * @example
 * tilesToWrite(0, 256).hashTiles.map(tilePath); // ['tile/0/000', 'tile/1/000.p/1']
 */
export function tilesToWrite(oldSize: number, newSize: number): TilesToWrite {
  assertTreeSize(oldSize);
  assertTreeSize(newSize);
  if (oldSize > newSize)
    throw new MerkleError('INVALID_TREE_SIZE', `log cannot shrink from ${oldSize} to ${newSize}`);
  const hashTiles: Tile[] = [];
  for (let level = 0; hashesAtTileLevel(newSize, level) > 0; level++) {
    const oldCount = hashesAtTileLevel(oldSize, level);
    const newCount = hashesAtTileLevel(newSize, level);
    if (oldCount === newCount) continue;
    for (let n = Math.floor(oldCount / TILE_WIDTH); n < Math.floor(newCount / TILE_WIDTH); n++) {
      hashTiles.push({ level, n, width: TILE_WIDTH });
    }
    const partialWidth = newCount % TILE_WIDTH;
    if (partialWidth > 0)
      hashTiles.push({ level, n: Math.floor(newCount / TILE_WIDTH), width: partialWidth });
  }
  // Entry bundle n holds exactly the entries whose leaf hashes level-0 tile n holds.
  const entryBundles = hashTiles.filter((tile) => tile.level === 0).map(({ n, width }) => ({ n, width }));
  return { hashTiles, entryBundles };
}

/**
 * A tile's bytes: its `width` hashes, 32 bytes each, read from the stored hashes in one call.
 *
 * @example
 * await tileStore.put(tilePath(tile), await readTileData(tile, store.read));
 */
export async function readTileData(tile: Tile, read: HashReader): Promise<Buffer> {
  assertTile(tile);
  const first = tile.n * TILE_WIDTH;
  const indexes = Array.from({ length: tile.width }, (_, i) =>
    storedHashIndex(tile.level * TILE_HEIGHT, first + i),
  );
  return Buffer.concat(await readStoredHashes(read, indexes));
}

/**
 * The published tile of a tree of `treeSize` records that holds stored hash `index`: the full tile
 * if that one is complete, otherwise the partial tile at the right edge of its level. Hashes at tree
 * levels between tile levels are not in any tile's data; `hashFromTile` rebuilds them.
 */
export function tileForStoredHash(treeSize: number, index: number): Tile {
  if (!Number.isSafeInteger(index) || index < 0 || index >= storedHashCount(treeSize)) {
    throw new MerkleError('INVALID_INDEX', `stored hash ${index} is not in a tree of size ${treeSize}`);
  }
  const { tile } = locate(index);
  const published = hashesAtTileLevel(treeSize, tile.level) - tile.n * TILE_WIDTH;
  return { ...tile, width: Math.min(TILE_WIDTH, published) };
}

/**
 * Stored hash `index` from the data of a tile that holds it (as `tileForStoredHash` chose, or any
 * wider tile at the same coordinates): read directly at the tile's own level, and rebuilt by hashing
 * the 2^k tile hashes beneath it for the k levels above.
 *
 * @throws {MerkleError} `INVALID_TILE` if the data has the wrong length or the tile lacks the hash.
 */
export function hashFromTile(tile: Tile, data: Buffer, index: number): Hash {
  assertTile(tile);
  if (data.length !== tile.width * HASH_SIZE) {
    throw new MerkleError(
      'INVALID_TILE',
      `${tilePath(tile)} has ${data.length} bytes, not ${tile.width * HASH_SIZE}`,
    );
  }
  const { tile: least, start, end } = locate(index);
  if (least.level !== tile.level || least.n !== tile.n || least.width > tile.width) {
    throw new MerkleError('INVALID_TILE', `stored hash ${index} is not in ${tilePath(tile)}`);
  }
  return subtreeHash(data.subarray(start * HASH_SIZE, end * HASH_SIZE));
}

/**
 * A `HashReader` over a published log: each call fetches the tiles it needs once each (in parallel)
 * and extracts the hashes. The tiles are not authenticated here, so whatever is computed from them is
 * only as good as `fetchTile` until checked against a trusted checkpoint: compare `treeHash` with its
 * root, or check proofs with `verifyInclusion` / `verifyConsistency`.
 *
 * @example
 * const read = tileHashReader(checkpoint.size, (tile) => fetchBytes(`${prefix}/${tilePath(tile)}`));
 * verifyInclusion(await proveInclusion(i, checkpoint.size, read), i, checkpoint.size, leaf, checkpoint.root);
 */
export function tileHashReader(treeSize: number, fetchTile: (tile: Tile) => Promise<Buffer>): HashReader {
  assertTreeSize(treeSize);
  return async (indexes) => {
    const tiles = new Map<string, Tile>();
    const pathOf = indexes.map((index) => {
      const tile = tileForStoredHash(treeSize, index);
      const path = tilePath(tile);
      tiles.set(path, tile);
      return path;
    });
    const fetched = await Promise.all(
      [...tiles].map(async ([path, tile]) => [path, await fetchTile(tile)] as const),
    );
    const data = new Map(fetched);
    return indexes.map((index, i) => {
      const path = pathOf[i]!;
      return hashFromTile(tiles.get(path)!, data.get(path)!, index);
    });
  };
}

/** How many hashes a tree of `treeSize` records has at tree level `level * 8` (tlog-tiles). */
function hashesAtTileLevel(treeSize: number, level: number): number {
  return Math.floor(treeSize / TILE_WIDTH ** level);
}

/**
 * The narrowest tile holding stored hash `index`, and the range [start, end) of that tile's hashes
 * lying beneath it: a hash k levels above the tile's level covers 2^k consecutive tile hashes.
 */
function locate(index: number): { tile: Tile; start: number; end: number } {
  const { level, n } = splitStoredHashIndex(index);
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const span = 2 ** (level - tileLevel * TILE_HEIGHT);
  const firstHash = n * span;
  const tileN = Math.floor(firstHash / TILE_WIDTH);
  const start = firstHash - tileN * TILE_WIDTH;
  return { tile: { level: tileLevel, n: tileN, width: start + span }, start, end: start + span };
}

/** The root of the perfect subtree whose 2^k leaves are the concatenated hashes in `data`. */
function subtreeHash(data: Buffer): Hash {
  if (data.length === HASH_SIZE) return Buffer.from(data); // a copy: callers must not alias tile data
  let level: Hash[] = [];
  for (let offset = 0; offset < data.length; offset += HASH_SIZE)
    level.push(data.subarray(offset, offset + HASH_SIZE));
  while (level.length > 1) {
    const parents: Hash[] = [];
    for (let i = 0; i < level.length; i += 2) parents.push(hashChildren(level[i]!, level[i + 1]!));
    level = parents;
  }
  return level[0]!;
}
