import {
  type Bytes,
  completeSubtrees,
  equalBytes,
  foldSubtrees,
  HASH_SIZE,
  inclusionSpans,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
} from './merkle.js';

/*
 * C2SP tlog-tiles in the browser: tile and entry-bundle paths, entry bundles decoded, and an
 * inclusion proof built from the public hash tiles, naming every tile it read so that a
 * failed check can say which files it rests on.
 */

/** Tile height 8: a full tile holds 256 hashes, a full entry bundle 256 entries. */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;

export interface Tile {
  readonly level: number;
  readonly n: number;
  readonly width: number;
}

/** N as 3-digit groups, all but the last prefixed with `x`; `.p/W` for a partial tile. */
function indexPath(n: number, width: number): string {
  const groups = [String(n % 1000).padStart(3, '0')];
  for (let rest = Math.floor(n / 1000); rest > 0; rest = Math.floor(rest / 1000)) {
    groups.unshift(`x${String(rest % 1000).padStart(3, '0')}`);
  }
  return `${groups.join('/')}${width === TILE_WIDTH ? '' : `.p/${width}`}`;
}

/** e.g. `tile/0/x001/x234/067`, `tile/1/000.p/17`. */
export function tilePath(tile: Tile): string {
  return `tile/${tile.level}/${indexPath(tile.n, tile.width)}`;
}

/** The entry bundle holding entries n·256 … n·256 + width − 1, e.g. `tile/entries/001.p/3`. */
export function entriesPath(n: number, width: number): string {
  return `tile/entries/${indexPath(n, width)}`;
}

/** The entry bundle that holds entry `index` in a tree of `treeSize` entries. */
export function bundleOfEntry(index: number, treeSize: number): { n: number; width: number } {
  const n = Math.floor(index / TILE_WIDTH);
  return { n, width: Math.min(TILE_WIDTH, treeSize - n * TILE_WIDTH) };
}

/** Each entry as a big-endian uint16 length and its bytes; throws on a bundle cut short. */
export function decodeEntryBundle(data: Uint8Array): Bytes[] {
  const entries: Bytes[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + 2 > data.length) throw new Error(`the entry bundle is truncated at byte ${offset}`);
    const end = offset + 2 + (data[offset]! << 8) + data[offset + 1]!;
    if (end > data.length) throw new Error(`the entry bundle is truncated at byte ${offset}`);
    entries.push(data.slice(offset + 2, end));
    offset = end;
  }
  return entries;
}

/**
 * The published tile holding the hash of the complete subtree (level, n) in a tree of
 * `treeSize` entries, and the range of that tile's hashes lying beneath it.
 */
export function tileForSubtree(
  treeSize: number,
  level: number,
  n: number,
): { tile: Tile; start: number; end: number } {
  const tileLevel = Math.floor(level / TILE_HEIGHT);
  const span = 2 ** (level - tileLevel * TILE_HEIGHT);
  const firstHash = n * span;
  const tileN = Math.floor(firstHash / TILE_WIDTH);
  const start = firstHash - tileN * TILE_WIDTH;
  const published = Math.floor(treeSize / TILE_WIDTH ** tileLevel) - tileN * TILE_WIDTH;
  return {
    tile: { level: tileLevel, n: tileN, width: Math.min(TILE_WIDTH, published) },
    start,
    end: start + span,
  };
}

/** Fetches the bytes at a path under the node's log (`tile/0/000.p/5`). */
export type FetchTile = (path: string) => Promise<Bytes>;

/** Why a check failed, naming the files it rested on. */
export class TileCheckError extends Error {
  constructor(
    message: string,
    readonly files: readonly string[],
  ) {
    super(message);
    this.name = 'TileCheckError';
  }
}

/** Reads the hashes of complete subtrees from the tiles, fetching each tile once. */
export class TileHashReader {
  readonly #tiles = new Map<string, Promise<Bytes>>();

  constructor(
    readonly treeSize: number,
    readonly fetchTile: FetchTile,
  ) {}

  /** The paths of the tiles read so far. */
  get paths(): string[] {
    return [...this.#tiles.keys()];
  }

  async subtreeHash(level: number, n: number): Promise<{ hash: Bytes; path: string }> {
    const { tile, start, end } = tileForSubtree(this.treeSize, level, n);
    const path = tilePath(tile);
    let data = this.#tiles.get(path);
    if (data === undefined) {
      data = this.fetchTile(path);
      this.#tiles.set(path, data);
    }
    const bytes = await data;
    if (bytes.length !== tile.width * HASH_SIZE) {
      throw new TileCheckError(`${path} has ${bytes.length} bytes, not ${tile.width * HASH_SIZE}`, [path]);
    }
    const hashes: Bytes[] = [];
    for (let i = start; i < end; i++) hashes.push(bytes.slice(i * HASH_SIZE, (i + 1) * HASH_SIZE));
    // A hash k levels above the tile's level is the perfect subtree over 2^k tile hashes.
    while (hashes.length > 1) {
      const parents: Bytes[] = [];
      for (let i = 0; i < hashes.length; i += 2) parents.push(await nodeHash(hashes[i]!, hashes[i + 1]!));
      hashes.splice(0, hashes.length, ...parents);
    }
    return { hash: hashes[0]!, path };
  }
}

/** The audit path of entry `index` in a tree of `treeSize` entries, from the hash tiles. */
export async function inclusionProofFromTiles(
  index: number,
  treeSize: number,
  reader: TileHashReader,
): Promise<Bytes[]> {
  const proof: Bytes[] = [];
  for (const span of inclusionSpans(index, treeSize)) {
    const pieces = await Promise.all(
      completeSubtrees(span).map(async ({ level, n }) => (await reader.subtreeHash(level, n)).hash),
    );
    proof.push(await foldSubtrees(pieces));
  }
  return proof;
}

export interface InclusionCheck {
  readonly index: number;
  readonly treeSize: number;
  /** The entry's leaf hash, computed here from its bytes. */
  readonly leafHash: Bytes;
  readonly proof: readonly Bytes[];
  /** Where the proof came from: the hash tiles read, or the proof route. */
  readonly source: readonly string[];
}

/**
 * Checks that `entry` (read from `bundlePath`) is entry `index` under `root`: its leaf hash is
 * computed here, and the audit path must lead to the root. When the proof comes from tiles,
 * the leaf hash is first compared with the one the level-0 tile holds, so that an altered
 * entry bundle and an altered hash tile are told apart.
 *
 * @throws {TileCheckError} naming the entry and the files when anything does not match.
 */
export async function checkInclusion(options: {
  readonly entry: Uint8Array;
  readonly index: number;
  readonly treeSize: number;
  readonly root: Uint8Array;
  readonly bundlePath: string;
  /** Tiles to build the proof from, or a proof already fetched (from the proof route). */
  readonly from: TileHashReader | { readonly proof: readonly Bytes[]; readonly source: string };
}): Promise<InclusionCheck> {
  const { entry, index, treeSize, root, bundlePath, from } = options;
  const leaf = await leafHash(entry);
  let proof: readonly Bytes[];
  let source: string[];
  if (from instanceof TileHashReader) {
    const stored = await from.subtreeHash(0, index);
    if (!equalBytes(stored.hash, leaf)) {
      throw new TileCheckError(
        `entry ${index} from ${bundlePath} does not hash to the leaf hash in ${stored.path}: one of them was altered`,
        [bundlePath, stored.path],
      );
    }
    proof = await inclusionProofFromTiles(index, treeSize, from);
    source = from.paths;
  } else {
    proof = from.proof;
    source = [from.source];
  }
  const reached = await rootFromInclusionProof(proof, index, treeSize, leaf);
  if (reached === undefined || !equalBytes(reached, root)) {
    throw new TileCheckError(
      `the inclusion proof of entry ${index} built from ${source.join(', ')} does not reach the checkpoint's root hash`,
      [bundlePath, ...source],
    );
  }
  return { index, treeSize, leafHash: leaf, proof, source };
}
