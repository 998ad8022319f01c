import { GlasshouseError } from '../shared/errors.js';

export type KeyErrorCode =
  /** `keys rotate`: the data directory holds no master key for the site named. */
  | 'MASTER_KEY_NOT_FOUND'
  /** A site's master-key rotation began and has not finished: the site does not start until it has. */
  | 'KEY_ROTATION_UNFINISHED';

/** A problem with a site's master key or its rotation; the message says what to run. */
export class KeyError extends GlasshouseError<KeyErrorCode> {}
