export { decodeEntryBundle, encodeEntryBundle, TLOG_TILES_MAX_ENTRY_SIZE } from './entry-bundle.js';
export {
  EMPTY_TREE_HASH,
  HASH_SIZE,
  type Hash,
  hashChildren,
  hashLeaf,
  RFC6962_LEAF_HASH_PREFIX,
  RFC6962_NODE_HASH_PREFIX,
  rootOfLeaves,
} from './hashing.js';
export { MemoryHashStore } from './memory-hash-store.js';
export { MerkleError, type MerkleErrorCode } from './merkle-errors.js';
export {
  type HashReader,
  MAX_TREE_SIZE,
  splitStoredHashIndex,
  storedHashCount,
  storedHashesForRecord,
  storedHashIndex,
} from './stored-hashes.js';
export {
  type EntryBundleCoordinates,
  entriesPath,
  hashFromTile,
  type ParsedTilePath,
  parseTilePath,
  readTileData,
  TILE_HEIGHT,
  TILE_WIDTH,
  type Tile,
  type TilesToWrite,
  TLOG_TILES_MAX_LEVEL,
  tileForStoredHash,
  tileHashReader,
  tilePath,
  tilesToWrite,
} from './tiles.js';
export { proveConsistency, proveInclusion, treeHash, verifyConsistency, verifyInclusion } from './tree.js';
