import { GlasshouseError } from '../../shared/errors.js';

export type PrivacyErrorCode =
  | 'PRIVACY_REQUEST_NOT_FOUND'
  | 'INVALID_PRIVACY_REQUEST'
  | 'PRIVACY_REQUEST_CLOSED'
  | 'EXPORT_NOT_AVAILABLE'
  | 'INVALID_PRIVACY_HISTORY'
  | 'SITE_NOT_RUNNING'
  | 'PRIVACY_HISTORY_ALREADY_IMPORTED';

export class PrivacyError extends GlasshouseError<PrivacyErrorCode> {}
