import { GlasshouseError } from '../../shared/errors.js';

/**
 * - `INVALID_PROOF`: an inclusion or consistency proof does not verify. Every verification failure
 *   (bad hash, wrong index, wrong size, wrong root, malformed proof) has this one code on purpose.
 * - `INVALID_TREE_SIZE`: a tree size is negative, not an integer, too large, or sizes are out of order.
 * - `INVALID_INDEX`: a leaf or stored-hash index is outside the tree, or not an integer.
 * - `INVALID_TILE`: tile coordinates are out of range, or tile data has the wrong length or tile.
 * - `INVALID_TILE_PATH`: a path is not a canonical C2SP tlog-tiles tile or entry-bundle path.
 * - `INVALID_ENTRY_BUNDLE`: an entry bundle is truncated.
 * - `ENTRY_TOO_LARGE`: an entry does not fit the uint16 length prefix of an entry bundle.
 * - `INVALID_HASH`: a hash given as input is not 32 bytes.
 * - `INVALID_HASH_READ`: a `HashReader` answered with the wrong number of hashes or a non-32-byte hash.
 */
export type MerkleErrorCode =
  | 'INVALID_PROOF'
  | 'INVALID_TREE_SIZE'
  | 'INVALID_INDEX'
  | 'INVALID_TILE'
  | 'INVALID_TILE_PATH'
  | 'INVALID_ENTRY_BUNDLE'
  | 'ENTRY_TOO_LARGE'
  | 'INVALID_HASH'
  | 'INVALID_HASH_READ';

export class MerkleError extends GlasshouseError<MerkleErrorCode> {}
