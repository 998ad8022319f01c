import { GlasshouseError } from '../shared/errors.js';

export type StorageErrorCode = 'BLOB_NOT_FOUND' | 'INVALID_BLOB_KEY' | 'INVALID_TILE_KEY';

export class StorageError extends GlasshouseError<StorageErrorCode> {}
