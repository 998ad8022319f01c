import { randomBytes } from 'node:crypto';
import { assertKey, KEY_SIZE, openOnce, SEAL_OVERHEAD, sealOnce } from './aes-gcm.js';
import { CryptoError } from './crypto-errors.js';

const FIELD_VERSION = 1;
/** Domain separation: a wrapped key can never be mistaken for a sealed field, or the reverse. */
const WRAP_KEY_AAD = Buffer.from('glasshouse/wrap-key/v1', 'utf8');

/** Size of {@link wrapKey}'s output: nonce (12) || encrypted key (32) || tag (16). */
export const WRAPPED_KEY_SIZE = KEY_SIZE + SEAL_OVERHEAD;

/** A fresh random 256-bit key (a blob DEK or a per-installation field key). */
export function generateKey(): Buffer {
  return randomBytes(KEY_SIZE);
}

/**
 * Encrypts a 32-byte key under the master key, AES-256-GCM.
 *
 * @example
 * const wrapped = wrapKey(masterKey, generateKey()); // 60 bytes, safe to store
 */
export function wrapKey(masterKey: Buffer, key: Buffer): Buffer {
  assertKey(masterKey, 'master key');
  assertKey(key, 'key to wrap');
  return sealOnce(masterKey, key, WRAP_KEY_AAD);
}

/** Inverse of {@link wrapKey}; throws `CryptoError` `DECRYPT_FAILED` on a wrong master key or tamper. */
export function unwrapKey(masterKey: Buffer, wrapped: Buffer): Buffer {
  assertKey(masterKey, 'master key');
  if (wrapped.length !== WRAPPED_KEY_SIZE) {
    throw new CryptoError('DECRYPT_FAILED', `wrapped key must be ${WRAPPED_KEY_SIZE} bytes`);
  }
  return openOnce(masterKey, wrapped, WRAP_KEY_AAD, 'wrapped key');
}

/**
 * Seals a small personal field (a file name, a path). `context` is bound as AAD so a sealed
 * value cannot be moved to another installation or another field and still decrypt.
 *
 * @example
 * const sealed = encryptField(fieldKey, 'report.pdf', `${installationId}/file-name`);
 */
export function encryptField(key: Buffer, plaintext: string, context: string): string {
  assertKey(key, 'field key');
  const sealed = sealOnce(key, Buffer.from(plaintext, 'utf8'), fieldAad(context));
  return Buffer.concat([Buffer.of(FIELD_VERSION), sealed]).toString('base64url');
}

/** Inverse of {@link encryptField}; throws `CryptoError` `DECRYPT_FAILED` on any mismatch. */
export function decryptField(key: Buffer, sealed: string, context: string): string {
  assertKey(key, 'field key');
  const bytes = Buffer.from(sealed, 'base64url');
  // Node's base64url decoder skips junk and ignores stray bits; insist on the canonical form so
  // that every accepted string is exactly one we produced.
  if (bytes.toString('base64url') !== sealed || bytes[0] !== FIELD_VERSION) {
    throw new CryptoError('DECRYPT_FAILED', 'sealed field is malformed');
  }
  return openOnce(key, bytes.subarray(1), fieldAad(context), 'sealed field').toString('utf8');
}

// The version byte is authenticated too, so a later format cannot be downgraded onto this one.
function fieldAad(context: string): Buffer {
  return Buffer.concat([Buffer.of(FIELD_VERSION), Buffer.from(context, 'utf8')]);
}
