import { GlasshouseError } from '../shared/errors.js';

export type ConfigErrorCode = 'CONFIG_NOT_FOUND' | 'INVALID_CONFIG';

/** A configuration problem; the message names the file, the key and what is wrong. */
export class ConfigError extends GlasshouseError<ConfigErrorCode> {}
