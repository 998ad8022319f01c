import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';
import { decodeCanonicalBase64, isNoteSafe } from './note-encoding.js';
import { NoteError } from './note-errors.js';

/** C2SP signed-note §Signature types: the identifier byte of Ed25519 signatures. */
export const SIGNED_NOTE_ED25519 = 0x01;
/** C2SP signed-note §Signatures: a key ID is the first 4 bytes of a SHA-256 hash. */
export const SIGNED_NOTE_KEY_ID_BYTES = 4;
/** RFC 8032 §5.1.5: an Ed25519 public key (and a private seed) is 32 bytes. */
export const RFC8032_ED25519_KEY_BYTES = 32;
/** Go's sumdb/note prefixes encoded private keys so that they are never taken for verifier keys. */
const GO_NOTE_SIGNER_KEY_PREFIX = 'PRIVATE+KEY+';
/** RFC 8410 §4: the DER SubjectPublicKeyInfo of an Ed25519 key, before its 32 key bytes. */
const RFC8410_ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');
/** RFC 8410 §7: the DER PKCS #8 OneAsymmetricKey of an Ed25519 seed, before its 32 bytes. */
const RFC8410_ED25519_PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const KEY_ID_HEX = /^[0-9a-fA-F]{8}$/;
const WHITE_SPACE_OR_PLUS = /[\p{White_Space}+]/u;

/** A trusted public key, as `openNote` needs it. */
export interface NoteVerifier {
  readonly name: string;
  /** C2SP signed-note key ID: 4 bytes. */
  readonly keyId: Buffer;
  /** Raw Ed25519 public key: 32 bytes. */
  readonly publicKey: Buffer;
}

/** A named Ed25519 key that signs notes; it is also a verifier of its own signatures. */
export interface NoteSigner extends NoteVerifier {
  /** The verifier key text (`name+hhhhhhhh+base64`) to give to those who verify. */
  readonly verifierKey: string;
  /**
   * Signs `text` (which must end in a newline) and returns the whole signed note:
   * the text, a blank line and one line `— name base64(keyId || signature)`.
   */
  sign(text: string): string;
}

/**
 * C2SP signed-note §Format: a key name is non-empty and holds no Unicode space and no `+`.
 * Names with control characters are refused too: no note could carry their signatures.
 */
export function isValidKeyName(name: string): boolean {
  return name !== '' && !WHITE_SPACE_OR_PLUS.test(name) && isNoteSafe(name) && !name.includes('\n');
}

/**
 * The C2SP signed-note key ID of an Ed25519 key: `SHA-256(name || 0x0A || 0x01 || key)[:4]`.
 *
 * @example
 * noteKeyId('PeterNeumann', publicKey).toString('hex'); // 'c74f20a3'
 */
export function noteKeyId(name: string, publicKey: Buffer): Buffer {
  assertPublicKey(publicKey);
  return keyIdOfType(name, SIGNED_NOTE_ED25519, publicKey);
}

/**
 * The C2SP key ID of any signature type: the first 4 bytes of SHA-256(name, newline, the
 * type byte, the public key). Signed notes use type 0x01, cosignatures 0x04.
 */
export function keyIdOfType(name: string, signatureType: number, publicKey: Buffer): Buffer {
  const digest = createHash('sha256')
    .update(name, 'utf8')
    .update('\n')
    .update(Buffer.of(signatureType))
    .update(publicKey)
    .digest();
  return Buffer.from(digest.subarray(0, SIGNED_NOTE_KEY_ID_BYTES));
}

/**
 * The verifier key text of Go's sumdb/note: `name+hhhhhhhh+base64(0x01 || publicKey)`.
 *
 * @example
 * verifierKeyText('PeterNeumann', publicKey); // 'PeterNeumann+c74f20a3+ARpc2QcU…'
 */
export function verifierKeyText(name: string, publicKey: Buffer): string {
  assertKeyName(name);
  const key = Buffer.concat([Buffer.of(SIGNED_NOTE_ED25519), publicKey]);
  return `${name}+${noteKeyId(name, publicKey).toString('hex')}+${key.toString('base64')}`;
}

/**
 * Parses a verifier key text and checks its key ID against its name and key.
 *
 * @example
 * const verifier = parseVerifierKey('PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW');
 */
export function parseVerifierKey(text: string): NoteVerifier {
  const { name, keyId, key } = splitKeyText(text, 'verifier key');
  const publicKey = ed25519KeyBytes(key, 'verifier key');
  if (!noteKeyId(name, publicKey).equals(keyId)) {
    throw new NoteError('INVALID_KEY', 'the verifier key ID does not match its name and key');
  }
  return Object.freeze({ name, keyId, publicKey });
}

/**
 * Go's encoded signer key, `PRIVATE+KEY+name+hhhhhhhh+base64(0x01 || seed)`. It holds the
 * private key in clear: write it only where the PEM key itself may go.
 */
export function signerKeyText(name: string, privateKey: KeyObject): string {
  const signer = noteSignerFromKey(privateKey, name);
  const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
  if (!pkcs8.subarray(0, RFC8410_ED25519_PKCS8_PREFIX.length).equals(RFC8410_ED25519_PKCS8_PREFIX)) {
    throw new NoteError('INVALID_KEY', 'the Ed25519 private key does not export as a bare RFC 8410 seed');
  }
  const seed = pkcs8.subarray(RFC8410_ED25519_PKCS8_PREFIX.length);
  const key = Buffer.concat([Buffer.of(SIGNED_NOTE_ED25519), seed]);
  return `${GO_NOTE_SIGNER_KEY_PREFIX}${name}+${signer.keyId.toString('hex')}+${key.toString('base64')}`;
}

/** Parses Go's encoded signer key (see `signerKeyText`) into a signer. */
export function parseSignerKey(text: string): NoteSigner {
  if (!text.startsWith(GO_NOTE_SIGNER_KEY_PREFIX)) {
    throw new NoteError('INVALID_KEY', `a signer key starts with ${GO_NOTE_SIGNER_KEY_PREFIX}`);
  }
  const { name, keyId, key } = splitKeyText(text.slice(GO_NOTE_SIGNER_KEY_PREFIX.length), 'signer key');
  const seed = ed25519KeyBytes(key, 'signer key');
  const privateKey = createPrivateKey({
    key: Buffer.concat([RFC8410_ED25519_PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const signer = noteSignerFromKey(privateKey, name);
  if (!signer.keyId.equals(keyId)) {
    throw new NoteError('INVALID_KEY', 'the signer key ID does not match its name and key');
  }
  return signer;
}

/**
 * Loads a node's signing key, a PKCS #8 PEM Ed25519 key as `config/data-dir.ts` writes
 * `keys/<node>.ed25519.pem`, as a note signer under the key name `name`.
 *
 * @example
 * const signer = loadNoteSigner(readFileSync('keys/control.ed25519.pem', 'utf8'), 'glasshouse.example/control');
 * const checkpoint = signer.sign(formatCheckpoint({ origin: signer.name, treeSize, rootHash }));
 */
export function loadNoteSigner(pemText: string, name: string): NoteSigner {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pemText, format: 'pem' });
  } catch (cause) {
    throw new NoteError('INVALID_KEY', 'the signing key is not a readable PEM private key', { cause });
  }
  return noteSignerFromKey(privateKey, name);
}

/** Makes a note signer of an Ed25519 private key object. */
export function noteSignerFromKey(privateKey: KeyObject, name: string): NoteSigner {
  if (privateKey.type !== 'private' || privateKey.asymmetricKeyType !== 'ed25519') {
    throw new NoteError('INVALID_KEY', 'a note signing key is an Ed25519 private key');
  }
  assertKeyName(name);
  const spki = createPublicKey(privateKey).export({ format: 'der', type: 'spki' });
  const publicKey = Buffer.from(spki.subarray(RFC8410_ED25519_SPKI_PREFIX.length));
  const keyId = noteKeyId(name, publicKey);
  const verifierKey = verifierKeyText(name, publicKey);
  return Object.freeze({ name, keyId, publicKey, verifierKey, sign: (text: string) => signNote(text) });

  function signNote(text: string): string {
    assertSignableText(text);
    const signature = cryptoSign(text, privateKey);
    const encoded = Buffer.concat([keyId, signature]).toString('base64');
    return `${text}\n\u2014 ${name} ${encoded}\n`;
  }
}

/** Imports a raw Ed25519 public key for `crypto.verify`. */
export function ed25519PublicKeyObject(publicKey: Buffer): KeyObject {
  assertPublicKey(publicKey);
  return createPublicKey({
    key: Buffer.concat([RFC8410_ED25519_SPKI_PREFIX, publicKey]),
    format: 'der',
    type: 'spki',
  });
}

export function assertKeyName(name: string): void {
  if (!isValidKeyName(name)) {
    throw new NoteError('INVALID_KEY', 'a key name is non-empty, without spaces, "+" or control characters');
  }
}

function assertPublicKey(publicKey: Buffer): void {
  if (publicKey.length !== RFC8032_ED25519_KEY_BYTES) {
    throw new NoteError('INVALID_KEY', `an Ed25519 public key is ${RFC8032_ED25519_KEY_BYTES} bytes`);
  }
}

/** C2SP signed-note §Format: the signed text ends in a newline and is note-safe. */
function assertSignableText(text: string): void {
  if (!text.endsWith('\n') || !isNoteSafe(text)) {
    throw new NoteError(
      'MALFORMED_NOTE',
      'a note text ends in a newline and holds no control character other than newline',
    );
  }
}

function cryptoSign(text: string, privateKey: KeyObject): Buffer {
  // Ed25519 (RFC 8032 §5.1.6) hashes internally: Node takes `null` as the digest.
  return sign(null, Buffer.from(text, 'utf8'), privateKey);
}

/** Go's key texts split at the first two `+`; the base64 key may hold more. */
function splitKeyText(text: string, what: string): { name: string; keyId: Buffer; key: Buffer } {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  const name = text.slice(0, Math.max(first, 0));
  const idHex = text.slice(first + 1, second);
  const key = decodeCanonicalBase64(text.slice(second + 1));
  if (second < 0 || !KEY_ID_HEX.test(idHex) || key === undefined || !isValidKeyName(name)) {
    throw new NoteError('INVALID_KEY', `a ${what} reads name+hhhhhhhh+base64`);
  }
  return { name, keyId: Buffer.from(idHex, 'hex'), key };
}

function ed25519KeyBytes(key: Buffer, what: string): Buffer {
  if (key[0] !== SIGNED_NOTE_ED25519) {
    throw new NoteError('INVALID_KEY', `the ${what} is not an Ed25519 key (type 0x01)`);
  }
  if (key.length !== 1 + RFC8032_ED25519_KEY_BYTES) {
    throw new NoteError('INVALID_KEY', `an Ed25519 ${what} holds ${RFC8032_ED25519_KEY_BYTES} key bytes`);
  }
  return Buffer.from(key.subarray(1));
}
