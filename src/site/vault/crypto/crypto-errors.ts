import { GlasshouseError } from '../../../shared/errors.js';

/**
 * `DECRYPT_FAILED` covers every authentication failure (tamper, truncation, reordering, wrong key)
 * on purpose: telling them apart would hand an attacker an oracle.
 */
export type CryptoErrorCode = 'DECRYPT_FAILED' | 'BAD_HEADER';

export class CryptoError extends GlasshouseError<CryptoErrorCode> {}
