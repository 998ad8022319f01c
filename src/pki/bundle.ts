import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TlsMaterial } from './certificates.js';
import { PkiError } from './pki-errors.js';

/** The files of a bundle folder: what one peer carries to its machine. */
export const BUNDLE_FILES = { ca: 'ca.pem', cert: 'cert.pem', key: 'key.pem' } as const;

/**
 * Writes a peer's TLS material to `dir` (created owner-only, 0700): `ca.pem`, `cert.pem` and
 * `key.pem` (0600). Existing files are replaced; callers that must not replace check first.
 *
 * @example
 * writeBundle('./glasshouse-data/pki/control', { ca: ca.cert, ...controlPair });
 */
export function writeBundle(dir: string, material: TlsMaterial): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  writeFileSync(join(dir, BUNDLE_FILES.ca), material.ca, { mode: 0o644 });
  writeFileSync(join(dir, BUNDLE_FILES.cert), material.cert, { mode: 0o644 });
  const keyFile = join(dir, BUNDLE_FILES.key);
  writeFileSync(keyFile, material.key, { mode: 0o600 });
  // A replaced file keeps its old mode; the key must not.
  chmodSync(keyFile, 0o600);
}

/**
 * Reads the bundle `writeBundle` wrote; a missing or empty file is a `BUNDLE_INCOMPLETE`
 * error naming it.
 *
 * @example
 * const tls = readBundle('./zurich-bundle');
 */
export function readBundle(dir: string): TlsMaterial {
  const read = (name: string) => {
    const file = join(dir, name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new PkiError('BUNDLE_INCOMPLETE', `TLS bundle ${dir}: cannot read ${name}`, {
        cause,
        details: { file: name },
      });
    }
    if (!text.includes('-----BEGIN ')) {
      throw new PkiError('BUNDLE_INCOMPLETE', `TLS bundle ${dir}: ${name} holds no PEM`, {
        details: { file: name },
      });
    }
    return text;
  };
  return { ca: read(BUNDLE_FILES.ca), cert: read(BUNDLE_FILES.cert), key: read(BUNDLE_FILES.key) };
}
