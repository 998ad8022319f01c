import { GlasshouseError } from '../shared/errors.js';

/**
 * Requests refused before any route sees them: the HTTP framing (Node's parser), the URL,
 * or a body whose text no route could store or log.
 */
export type HttpErrorCode =
  | 'MALFORMED_REQUEST'
  | 'HEADERS_TOO_LARGE'
  | 'REQUEST_TIMEOUT'
  | 'INVALID_URL'
  | 'INVALID_TEXT'
  | 'BODY_TOO_DEEP'
  | 'NUMBER_OUT_OF_RANGE'
  | 'MISSING_BODY'
  | 'UNEXPECTED_BODY';

export class HttpError extends GlasshouseError<HttpErrorCode> {}
