import { GlasshouseError } from '../shared/errors.js';

export type AuthErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN_ROLE'
  | 'FORBIDDEN_SITE'
  | 'TOKEN_NOT_FOUND'
  | 'INVALID_TOKEN_REQUEST';

export class AuthError extends GlasshouseError<AuthErrorCode> {}
