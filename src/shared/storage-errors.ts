import { GlasshouseError } from './errors.js';

export type StorageErrorCode =
  | 'BLOB_NOT_FOUND'
  | 'INVALID_BLOB_KEY'
  | 'INVALID_TILE_KEY'
  | 'DATA_DIR_IN_USE'
  | 'STORAGE_UNAVAILABLE'
  | 'INVALID_STORAGE_URL'
  /** `storage migrate`: config.yaml names no engine for the node, or the node has no embedded data. */
  | 'NOTHING_TO_MIGRATE'
  /** `storage migrate`: a new store already holds data; nothing was copied. */
  | 'STORAGE_NOT_EMPTY'
  /** `storage migrate`: what the new store holds differs from what was copied. */
  | 'MIGRATION_MISMATCH';

export class StorageError extends GlasshouseError<StorageErrorCode> {}
