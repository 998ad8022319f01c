import { GlasshouseError } from '../../shared/errors.js';

export type RelocationErrorCode =
  | 'RELOCATION_NOT_FOUND'
  | 'RELOCATION_ACTIVE'
  | 'RELOCATION_STATE'
  | 'RELOCATION_UNAVAILABLE'
  | 'INVALID_RELOCATION';

export class RelocationError extends GlasshouseError<RelocationErrorCode> {}
