import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CryptoError, type CryptoErrorCode } from './crypto-errors.js';
import {
  decryptField,
  encryptField,
  generateKey,
  unwrapKey,
  WRAPPED_KEY_SIZE,
  wrapKey,
} from './field-cipher.js';

function expectThrow(fn: () => unknown, code: CryptoErrorCode): void {
  let error: unknown;
  try {
    fn();
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(CryptoError);
  expect((error as CryptoError).code).toBe(code);
}

const CONTEXT = 'installation-7f3a/file-name';

describe('field cipher', () => {
  const key = generateKey();

  describe('when a field is sealed and opened with the same key and context', () => {
    it('round-trips any string, empty and non-ASCII included', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 200 }), fc.string(), (plaintext, context) => {
          expect(decryptField(key, encryptField(key, plaintext, context), context)).toBe(plaintext);
        }),
        { numRuns: 100 },
      );
      expect(decryptField(key, encryptField(key, '', CONTEXT), CONTEXT)).toBe('');
      expect(decryptField(key, encryptField(key, 'Übersicht 报告.pdf', CONTEXT), CONTEXT)).toBe(
        'Übersicht 报告.pdf',
      );
    });

    it('emits compact base64url with a fresh nonce each time', () => {
      const a = encryptField(key, 'report.pdf', CONTEXT);
      const b = encryptField(key, 'report.pdf', CONTEXT);
      expect(a).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(Buffer.from(a, 'base64url').length).toBe(1 + 12 + 'report.pdf'.length + 16);
      expect(a).not.toBe(b);
    });
  });

  describe('when the key or the context differ', () => {
    it('fails with DECRYPT_FAILED', () => {
      const sealed = encryptField(key, '/samples/report.pdf', CONTEXT);
      expectThrow(() => decryptField(generateKey(), sealed, CONTEXT), 'DECRYPT_FAILED');
      expectThrow(() => decryptField(key, sealed, 'installation-7f3a/path'), 'DECRYPT_FAILED');
      expectThrow(() => decryptField(key, sealed, 'installation-0000/file-name'), 'DECRYPT_FAILED');
    });
  });

  describe('when the sealed value is tampered with', () => {
    const sealed = Buffer.from(encryptField(key, '/samples/report.pdf', CONTEXT), 'base64url');

    it('rejects any flipped byte', () => {
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: sealed.length - 1 }),
          fc.integer({ min: 1, max: 255 }),
          (i, mask) => {
            const tampered = Buffer.from(sealed);
            tampered[i] = (tampered[i] ?? 0) ^ mask;
            expectThrow(() => decryptField(key, tampered.toString('base64url'), CONTEXT), 'DECRYPT_FAILED');
          },
        ),
      );
    });

    it('rejects truncation, extension and non-canonical encodings', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: sealed.length - 1 }), (length) => {
          const cut = sealed.subarray(0, length).toString('base64url');
          expectThrow(() => decryptField(key, cut, CONTEXT), 'DECRYPT_FAILED');
        }),
      );
      const text = sealed.toString('base64url');
      expectThrow(() => decryptField(key, `${text}AA`, CONTEXT), 'DECRYPT_FAILED');
      expectThrow(() => decryptField(key, `${text}=`, CONTEXT), 'DECRYPT_FAILED');
      expectThrow(() => decryptField(key, `${text.slice(0, 8)}.${text.slice(8)}`, CONTEXT), 'DECRYPT_FAILED');
      expectThrow(() => decryptField(key, '', CONTEXT), 'DECRYPT_FAILED');
    });
  });
});

describe('key wrapping', () => {
  const masterKey = generateKey();

  describe('when a key is wrapped and unwrapped with the same master key', () => {
    it('returns the key from a 60-byte wrapping', () => {
      const dek = generateKey();
      const wrapped = wrapKey(masterKey, dek);
      expect(wrapped.length).toBe(WRAPPED_KEY_SIZE);
      expect(WRAPPED_KEY_SIZE).toBe(60);
      expect(unwrapKey(masterKey, wrapped).equals(dek)).toBe(true);
    });
  });

  describe('when the master key is wrong or the wrapping is altered', () => {
    it('fails with DECRYPT_FAILED', () => {
      const wrapped = wrapKey(masterKey, generateKey());
      expectThrow(() => unwrapKey(generateKey(), wrapped), 'DECRYPT_FAILED');
      expectThrow(() => unwrapKey(masterKey, wrapped.subarray(0, 59)), 'DECRYPT_FAILED');
      const flipped = Buffer.from(wrapped);
      flipped[20] = (flipped[20] ?? 0) ^ 1;
      expectThrow(() => unwrapKey(masterKey, flipped), 'DECRYPT_FAILED');
    });
  });

  describe('when keys have the wrong size', () => {
    it('throws a RangeError', () => {
      expect(() => wrapKey(randomBytes(16), generateKey())).toThrow(RangeError);
      expect(() => wrapKey(masterKey, randomBytes(31))).toThrow(RangeError);
      expect(() => encryptField(randomBytes(24), 'x', CONTEXT)).toThrow(RangeError);
    });
  });

  describe('when generating keys', () => {
    it('returns 32 fresh random bytes', () => {
      const a = generateKey();
      expect(a.length).toBe(32);
      expect(a.equals(generateKey())).toBe(false);
    });
  });
});
