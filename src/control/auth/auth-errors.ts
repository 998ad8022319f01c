import { GlasshouseError } from '../../shared/errors.js';

export type AuthErrorCode =
  | 'UNAUTHENTICATED'
  | 'FORBIDDEN_ROLE'
  | 'FORBIDDEN_SITE'
  | 'TOKEN_NOT_FOUND'
  | 'TOKEN_ALREADY_REVOKED'
  | 'INVALID_TOKEN_REQUEST'
  | 'TOKEN_EXPIRED'
  | 'ACTIVE_TOKEN_EXISTS'
  | 'PERSON_REQUIRED';

export class AuthError extends GlasshouseError<AuthErrorCode> {}
