import { GlasshouseError } from './errors.js';

export type HuntErrorCode = 'INVALID_YARA_RULES' | 'HUNT_NOT_FOUND' | 'HUNT_STATE' | 'HUNT_UNAVAILABLE';

/** YARA hunts: a rule set that does not compile, a hunt that is not the caller's, a bad transition. */
export class HuntError extends GlasshouseError<HuntErrorCode> {}
