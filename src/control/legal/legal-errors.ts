import { GlasshouseError } from '../../shared/errors.js';

export type LegalErrorCode =
  | 'LEGAL_REQUEST_NOT_FOUND'
  | 'INVALID_LEGAL_REQUEST'
  | 'INVALID_TRANSITION'
  | 'FOUR_EYES_REQUIRED'
  | 'INVALID_LEGAL_HISTORY'
  | 'LEGAL_HISTORY_ALREADY_IMPORTED'
  | 'LEGAL_PACKAGE_NOT_FOUND'
  | 'PERSONAL_DATA_IN_TECHNICAL_PACKAGE'
  | 'INVALID_STIX_BUNDLE';

export class LegalError extends GlasshouseError<LegalErrorCode> {}
