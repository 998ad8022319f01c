import { MerkleError } from './merkle-errors.js';

/** C2SP tlog-tiles fixes the tile height at 8 levels of the tree… */
export const TILE_HEIGHT = 8;
/** …so a full tile holds 2^8 = 256 hashes (8,192 bytes), and a full entry bundle 256 entries. */
export const TILE_WIDTH = 256;
/** tlog-tiles: `<L>` is between 0 and 63. */
export const TLOG_TILES_MAX_LEVEL = 63;

/**
 * A hash tile (C2SP tlog-tiles "Merkle Tree"): the `width` consecutive Merkle Tree Hashes at tree
 * level `level * 8`, starting with hash number `n * 256` of that level. `width` is 256 for a full
 * tile and 1..255 for the partial tile at the right edge of a level. Entry bundles are not tiles here.
 */
export interface Tile {
  readonly level: number;
  readonly n: number;
  readonly width: number;
}

export type ParsedTilePath =
  | ({ readonly kind: 'hash' } & Tile)
  | { readonly kind: 'entries'; readonly n: number; readonly width: number };

/**
 * The tile's path under the log prefix.
 *
 * @example
 * tilePath({ level: 0, n: 1234067, width: 256 }); // 'tile/0/x001/x234/067'
 * tilePath({ level: 1, n: 0, width: 17 });        // 'tile/1/000.p/17'
 */
export function tilePath(tile: Tile): string {
  assertTile(tile);
  return `tile/${tile.level}/${indexPath(tile.n)}${partialSuffix(tile.width)}`;
}

/**
 * The path of the entry bundle holding entries n·256 .. n·256 + width − 1.
 *
 * @example
 * entriesPath(1, 3); // 'tile/entries/001.p/3'
 */
export function entriesPath(n: number, width: number): string {
  assertTile({ level: 0, n, width });
  return `tile/entries/${indexPath(n)}${partialSuffix(width)}`;
}

/**
 * Parses a tile or entry-bundle path, accepting only the one canonical spelling of each resource, so
 * that a path can serve as a storage key and cache key without aliasing.
 *
 * @throws {MerkleError} `INVALID_TILE_PATH` for anything else (leading zeros, missing `x`, `.p/256`…).
 * @example
 * parseTilePath('tile/entries/x001/234.p/8'); // { kind: 'entries', n: 1234, width: 8 }
 */
export function parseTilePath(path: string): ParsedTilePath {
  const parts = path.split('/');
  const [tile, levelPart, ...rest] = parts;
  const last = rest.at(-1);
  if (tile !== 'tile' || levelPart === undefined || last === undefined) throw badPath(path);
  // A partial tile's last N element carries `.p`, and the width follows as one more element.
  const partial = rest.length >= 2 && rest.at(-2)!.endsWith('.p');
  const elements = partial ? [...rest.slice(0, -2), rest.at(-2)!.slice(0, -'.p'.length)] : rest;
  if (partial && !/^[1-9][0-9]{0,2}$/.test(last)) throw badPath(path);
  const width = partial ? Number(last) : TILE_WIDTH;
  let n = 0;
  for (const [i, element] of elements.entries()) {
    const digits = i < elements.length - 1 ? /^x([0-9]{3})$/.exec(element) : /^([0-9]{3})$/.exec(element);
    if (digits === null) throw badPath(path);
    n = n * 1000 + Number(digits[1]);
  }
  const level = /^(0|[1-9][0-9]?)$/.test(levelPart) ? Number(levelPart) : undefined;
  const parsed: ParsedTilePath =
    levelPart === 'entries' ? { kind: 'entries', n, width } : { kind: 'hash', level: level ?? -1, n, width };
  // Re-encoding rejects what the element checks let through: x000 groups, .p/256, huge levels or N.
  if (!isValidTile({ level: parsed.kind === 'hash' ? parsed.level : 0, n, width })) throw badPath(path);
  const canonical = parsed.kind === 'hash' ? tilePath(parsed) : entriesPath(n, width);
  if (canonical !== path) throw badPath(path);
  return parsed;
}

export function assertTile(tile: Tile): void {
  if (!isValidTile(tile)) {
    throw new MerkleError(
      'INVALID_TILE',
      `invalid tile (level ${tile.level}, n ${tile.n}, width ${tile.width})`,
    );
  }
}

function isValidTile({ level, n, width }: Tile): boolean {
  return (
    Number.isInteger(level) &&
    level >= 0 &&
    level <= TLOG_TILES_MAX_LEVEL &&
    Number.isSafeInteger(n) &&
    n >= 0 &&
    Number.isInteger(width) &&
    width >= 1 &&
    width <= TILE_WIDTH
  );
}

/** tlog-tiles: N as zero-padded 3-digit elements, all but the last prefixed with `x`. */
function indexPath(n: number): string {
  const groups = [String(n % 1000).padStart(3, '0')];
  for (let rest = Math.floor(n / 1000); rest > 0; rest = Math.floor(rest / 1000)) {
    groups.unshift(`x${String(rest % 1000).padStart(3, '0')}`);
  }
  return groups.join('/');
}

/** tlog-tiles: only partial tiles (1..255 wide) carry `.p/<W>`. */
function partialSuffix(width: number): string {
  return width === TILE_WIDTH ? '' : `.p/${width}`;
}

function badPath(path: string): MerkleError {
  return new MerkleError('INVALID_TILE_PATH', `not a canonical tlog-tiles path: ${JSON.stringify(path)}`);
}
