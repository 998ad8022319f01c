import { GlasshouseError } from '../shared/errors.js';

export type RegistryErrorCode = 'INSTALLATION_NOT_FOUND' | 'INVALID_INSTALLATION';

export class RegistryError extends GlasshouseError<RegistryErrorCode> {}
