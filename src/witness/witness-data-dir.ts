import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type Cosigner, cosignerFromKey, isValidKeyName, NoteError } from '../ledger/note/index.js';

const KEY_FILE = 'witness.ed25519.pem';
const NAME_FILE = 'witness-name';
/** The witness's state (latest checkpoint per log), in SQLite. */
export const WITNESS_DATABASE = 'witness.db';

/**
 * The witness's key in its data directory, created on first use: a PKCS #8 PEM Ed25519 key
 * (mode 0600) and its key name, which cosignatures carry and verifiers are given.
 *
 * @example
 * const cosigner = witnessCosigner('/var/lib/witness', { name: 'witness.example/w1' });
 */
export function witnessCosigner(dataDir: string, create: { readonly name?: string } = {}): Cosigner {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const keyFile = join(dataDir, KEY_FILE);
  const nameFile = join(dataDir, NAME_FILE);
  if (!existsSync(keyFile)) {
    const name = create.name ?? `${hostname()}/witness`;
    if (!isValidKeyName(name)) {
      throw new NoteError(
        'INVALID_KEY',
        'a witness name is non-empty, without spaces, "+" or control characters',
      );
    }
    const pem = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
    writeFileSync(nameFile, `${name}\n`, { mode: 0o600 });
    writeFileSync(keyFile, pem, { mode: 0o600, flag: 'wx' });
  }
  const name = readFileSync(nameFile, 'utf8').trim();
  if (create.name !== undefined && create.name !== name) {
    // A key keeps its name: verifiers compute the key ID from both.
    throw new NoteError('INVALID_KEY', `this witness's key is named ${name}, not ${create.name}`);
  }
  const pem = readFileSync(keyFile, 'utf8');
  return cosignerFromKey(createPrivateKey({ key: pem, format: 'pem' }), name);
}
