import { GlasshouseError } from './errors.js';

export type StorageErrorCode =
  | 'BLOB_NOT_FOUND'
  | 'INVALID_BLOB_KEY'
  | 'INVALID_TILE_KEY'
  | 'DATA_DIR_IN_USE'
  | 'STORAGE_UNAVAILABLE';

export class StorageError extends GlasshouseError<StorageErrorCode> {}
