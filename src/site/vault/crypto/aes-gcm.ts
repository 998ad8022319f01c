import { createCipheriv, createDecipheriv, type KeyObject, randomBytes } from 'node:crypto';
import { CryptoError } from './crypto-errors.js';

export const KEY_SIZE = 32;
export const GCM_NONCE_SIZE = 12;
export const GCM_TAG_SIZE = 16;
/** Bytes a one-shot seal adds to its plaintext: the random nonce and the tag. */
export const SEAL_OVERHEAD = GCM_NONCE_SIZE + GCM_TAG_SIZE;

export function assertKey(key: Buffer | KeyObject, what: string): void {
  const size = Buffer.isBuffer(key) ? key.length : key.symmetricKeySize;
  if (size !== KEY_SIZE) throw new RangeError(`${what} must be ${KEY_SIZE} bytes, got ${size}`);
}

/**
 * One-shot AES-256-GCM with a fresh random 96-bit nonce: nonce || ciphertext || tag.
 * Random nonces are safe here because each key seals far fewer than 2^32 messages (NIST SP 800-38D §8.3).
 */
export function sealOnce(key: Buffer, plaintext: Buffer, aad: Buffer): Buffer {
  const nonce = randomBytes(GCM_NONCE_SIZE);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad);
  const body = cipher.update(plaintext);
  cipher.final();
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Inverse of {@link sealOnce}; any failure is reported as `DECRYPT_FAILED` and nothing else. */
export function openOnce(key: Buffer, sealed: Buffer, aad: Buffer, what: string): Buffer {
  if (sealed.length < SEAL_OVERHEAD) throw new CryptoError('DECRYPT_FAILED', `${what} is too short`);
  const nonce = sealed.subarray(0, GCM_NONCE_SIZE);
  const body = sealed.subarray(GCM_NONCE_SIZE, sealed.length - GCM_TAG_SIZE);
  const tag = sealed.subarray(sealed.length - GCM_TAG_SIZE);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: GCM_TAG_SIZE });
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const plaintext = decipher.update(body);
    decipher.final();
    return plaintext;
  } catch (cause) {
    throw new CryptoError('DECRYPT_FAILED', `${what} failed authentication`, { cause });
  }
}
