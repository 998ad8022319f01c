import { GlasshouseError } from '../shared/errors.js';

export type LedgerErrorCode =
  | 'LOG_NOT_FOUND'
  | 'TILE_NOT_FOUND'
  | 'ENTRY_TOO_LARGE'
  | 'INVALID_PROOF_REQUEST'
  | 'LOG_CLOSED'
  | 'LOG_INCONSISTENT';

export class LedgerError extends GlasshouseError<LedgerErrorCode> {}
