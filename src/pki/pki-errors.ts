import { GlasshouseError } from '../shared/errors.js';

export type PkiErrorCode =
  | 'INVALID_SUBJECT'
  | 'INVALID_CA'
  | 'BUNDLE_INCOMPLETE'
  | 'PKI_EXISTS'
  | 'PKI_NOT_FOUND';

/** A certificate or bundle problem; the message names the file or the field. */
export class PkiError extends GlasshouseError<PkiErrorCode> {}
