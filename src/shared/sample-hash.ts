import type { HashKind, SampleHash } from '../ports/samples.js';
import { VaultError } from './vault-errors.js';

const KIND_BY_HEX_LENGTH: Readonly<Record<number, HashKind>> = {
  32: 'md5',
  40: 'sha1',
  64: 'sha256',
  128: 'sha512',
};

/** Recognises a hash by its length; anything but 32, 40, 64 or 128 hex digits is malformed. */
export function parseSampleHash(text: string): SampleHash {
  const kind = /^[0-9a-fA-F]+$/.test(text) ? KIND_BY_HEX_LENGTH[text.length] : undefined;
  if (kind === undefined) {
    throw new VaultError('MALFORMED_HASH', 'expected an MD5, SHA-1, SHA-256 or SHA-512 digest in hex', {
      details: { field: 'hash' },
    });
  }
  return { kind, value: text.toLowerCase() };
}
