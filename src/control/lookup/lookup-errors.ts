import { GlasshouseError } from '../../shared/errors.js';

export type LookupErrorCode =
  | 'MALFORMED_HASH'
  | 'INVALID_VERDICT'
  | 'INVALID_FEED'
  | 'BATCH_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE';

export class LookupError extends GlasshouseError<LookupErrorCode> {}
