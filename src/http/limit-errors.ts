import { GlasshouseError } from '../shared/errors.js';

export type LimitErrorCode = 'RATE_LIMITED' | 'BODY_TOO_LARGE';

/** A request refused by a limit against abuse (src/http/limits.ts). */
export class LimitError extends GlasshouseError<LimitErrorCode> {}
