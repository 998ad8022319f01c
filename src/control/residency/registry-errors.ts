import { GlasshouseError } from '../../shared/errors.js';

export type RegistryErrorCode = 'INSTALLATION_NOT_FOUND' | 'INVALID_INSTALLATION' | 'SITE_NOT_RUNNING';

export class RegistryError extends GlasshouseError<RegistryErrorCode> {}
