import { createCipheriv, createDecipheriv, randomBytes, scrypt } from 'node:crypto';
import { BackupError } from './backup-errors.js';

/**
 * Keys sealed under a passphrase: scrypt (N = 2^17, r = 8, p = 1, about 128 MiB and a
 * fraction of a second, OWASP's floor) derives an AES-256-GCM key; the salt, nonce and
 * parameters travel in the clear beside the ciphertext, the format line is the associated
 * data. A backup without keys is useless to a thief (every sample and file name is
 * encrypted under them); with them it is the whole node, so they go only when asked.
 */
const FORMAT = 'glasshouse-sealed-keys/1';
const SCRYPT = { N: 2 ** 17, r: 8, p: 1, maxmem: 256 * 1024 * 1024 } as const;

export interface SealedKeys {
  readonly format: typeof FORMAT;
  readonly kdf: {
    readonly name: 'scrypt';
    readonly N: number;
    readonly r: number;
    readonly p: number;
    readonly salt: string;
  };
  readonly nonce: string;
  readonly ciphertext: string;
  readonly tag: string;
}

/** `files`: the key files by name (`zurich.master.key`, `control.ed25519.pem`, …). */
export async function sealKeys(
  files: Readonly<Record<string, Buffer>>,
  passphrase: string,
): Promise<SealedKeys> {
  const salt = randomBytes(16);
  const nonce = randomBytes(12);
  const key = await derive(passphrase, salt, SCRYPT);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(FORMAT));
  const plain = Buffer.from(
    JSON.stringify(Object.fromEntries(Object.entries(files).map(([n, b]) => [n, b.toString('base64')]))),
  );
  const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
  return {
    format: FORMAT,
    kdf: { name: 'scrypt', N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p, salt: salt.toString('base64') },
    nonce: nonce.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

export async function openSealedKeys(
  sealed: SealedKeys,
  passphrase: string,
): Promise<Record<string, Buffer>> {
  if (sealed.format !== FORMAT || sealed.kdf.name !== 'scrypt') {
    throw new BackupError('BACKUP_INVALID', `keys.sealed is not ${FORMAT}`);
  }
  const { N, r, p } = sealed.kdf;
  const key = await derive(passphrase, Buffer.from(sealed.kdf.salt, 'base64'), {
    N,
    r,
    p,
    maxmem: SCRYPT.maxmem,
  });
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.nonce, 'base64'));
  decipher.setAAD(Buffer.from(FORMAT));
  decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
  let plain: Buffer;
  try {
    plain = Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]);
  } catch (cause) {
    throw new BackupError('BACKUP_PASSPHRASE', "the passphrase does not open the backup's keys", { cause });
  }
  const files = JSON.parse(plain.toString('utf8')) as Record<string, string>;
  return Object.fromEntries(Object.entries(files).map(([n, b]) => [n, Buffer.from(b, 'base64')]));
}

function derive(
  passphrase: string,
  salt: Buffer,
  params: { N: number; r: number; p: number; maxmem: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(passphrase, salt, 32, params, (error, key) => (error === null ? resolve(key) : reject(error))),
  );
}
