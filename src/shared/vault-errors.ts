import { GlasshouseError } from './errors.js';

export type VaultErrorCode =
  | 'SAMPLE_NOT_FOUND'
  | 'SAMPLE_TOO_LARGE'
  | 'EMPTY_SAMPLE'
  | 'MALFORMED_HASH'
  | 'INVALID_FILENAME'
  | 'UNSUPPORTED_MEDIA_TYPE';

export class VaultError extends GlasshouseError<VaultErrorCode> {}
