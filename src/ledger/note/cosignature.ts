import { type KeyObject, sign, verify } from 'node:crypto';
import { decodeCanonicalBase64, decodeUtf8, isNoteSafe } from './note-encoding.js';
import { NoteError } from './note-errors.js';
import {
  assertKeyName,
  ed25519PublicKeyObject,
  isValidKeyName,
  keyIdOfType,
  noteSignerFromKey,
  RFC8032_ED25519_KEY_BYTES,
  SIGNED_NOTE_KEY_ID_BYTES,
} from './note-keys.js';

/** C2SP tlog-cosignature §Format: the signature type byte of Ed25519 cosignatures (`cosignature/v1`). */
export const COSIGNATURE_V1_ED25519 = 0x04;
/** C2SP tlog-cosignature §Ed25519 signed message: the header line, for domain separation. */
const COSIGNATURE_V1_HEADER = 'cosignature/v1';
/** C2SP tlog-cosignature §Format: `timestamped_signature` is a u64 then 64 signature bytes. */
const TIMESTAMP_BYTES = 8;
const RFC8032_ED25519_SIGNATURE_BYTES = 64;
/** C2SP tlog-cosignature §Format: a timestamp never exceeds 2^63 - 1; we also keep it exact in a number. */
const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER;
const SIGNATURE_LINE_PREFIX = '\u2014 ';
const KEY_ID_HEX = /^[0-9a-fA-F]{8}$/;

/** A witness (cosigner) public key, as a verifier of cosignatures is configured with it. */
export interface CosignerVerifier {
  readonly name: string;
  /** `SHA-256(name || "\n" || 0x04 || publicKey)[:4]`. */
  readonly keyId: Buffer;
  readonly publicKey: Buffer;
}

/** A witness's own key: it cosigns checkpoint bodies. */
export interface Cosigner extends CosignerVerifier {
  /** The vkey text `name+hhhhhhhh+base64(0x04 || publicKey)` to give to verifiers. */
  readonly verifierKey: string;
  /** One signature line `— name base64(keyId || u64 time || signature)\n` over `body`. */
  cosign(checkpointBody: string, timestamp: number): string;
}

/** A cosignature that verified against a trusted cosigner key. */
export interface VerifiedCosignature {
  readonly name: string;
  readonly keyId: Buffer;
  /** POSIX seconds at which the witness cosigned. */
  readonly timestamp: number;
}

/**
 * The C2SP tlog-cosignature key ID of an Ed25519 cosigner key.
 *
 * @example
 * cosignerKeyId('witness.example/w1', publicKey).toString('hex');
 */
export function cosignerKeyId(name: string, publicKey: Buffer): Buffer {
  if (publicKey.length !== RFC8032_ED25519_KEY_BYTES) {
    throw new NoteError('INVALID_KEY', `an Ed25519 public key is ${RFC8032_ED25519_KEY_BYTES} bytes`);
  }
  return keyIdOfType(name, COSIGNATURE_V1_ED25519, publicKey);
}

/** The C2SP signed-note vkey of a cosigner: `name+hhhhhhhh+base64(0x04 || publicKey)`. */
export function cosignerVerifierKeyText(name: string, publicKey: Buffer): string {
  assertKeyName(name);
  const key = Buffer.concat([Buffer.of(COSIGNATURE_V1_ED25519), publicKey]);
  return `${name}+${cosignerKeyId(name, publicKey).toString('hex')}+${key.toString('base64')}`;
}

/**
 * Parses a cosigner vkey (signature type 0x04) and checks its key ID.
 *
 * @example
 * const witness = parseCosignerVerifierKey('witness.example/w1+1a2b3c4d+BK…');
 */
export function parseCosignerVerifierKey(text: string): CosignerVerifier {
  const first = text.indexOf('+');
  const second = first < 0 ? -1 : text.indexOf('+', first + 1);
  const name = text.slice(0, Math.max(first, 0));
  const idHex = text.slice(first + 1, second);
  const key = decodeCanonicalBase64(text.slice(second + 1));
  if (second < 0 || !KEY_ID_HEX.test(idHex) || key === undefined || !isValidKeyName(name)) {
    throw new NoteError('INVALID_KEY', 'a witness key reads name+hhhhhhhh+base64');
  }
  if (key[0] !== COSIGNATURE_V1_ED25519 || key.length !== 1 + RFC8032_ED25519_KEY_BYTES) {
    throw new NoteError('INVALID_KEY', 'a witness key is an Ed25519 cosignature/v1 key (type 0x04)');
  }
  const publicKey = Buffer.from(key.subarray(1));
  const keyId = Buffer.from(idHex, 'hex');
  if (!cosignerKeyId(name, publicKey).equals(keyId)) {
    throw new NoteError('INVALID_KEY', 'the witness key ID does not match its name and key');
  }
  return Object.freeze({ name, keyId, publicKey });
}

/**
 * The message a `cosignature/v1` signs: the header line, `time <seconds>`, then the
 * checkpoint's whole note body (C2SP tlog-cosignature §Ed25519 signed message).
 */
export function cosignedMessage(checkpointBody: string, timestamp: number): Buffer {
  assertTimestamp(timestamp);
  if (!checkpointBody.endsWith('\n') || !isNoteSafe(checkpointBody)) {
    throw new NoteError('MALFORMED_CHECKPOINT', 'a checkpoint body is note text ending in a newline');
  }
  return Buffer.from(`${COSIGNATURE_V1_HEADER}\ntime ${timestamp}\n${checkpointBody}`, 'utf8');
}

/**
 * Makes a cosigner of an Ed25519 private key under the key name `name`.
 *
 * @example
 * const line = cosignerFromKey(privateKey, 'witness.example/w1').cosign(body, Math.floor(now() / 1000));
 */
export function cosignerFromKey(privateKey: KeyObject, name: string): Cosigner {
  const { publicKey } = noteSignerFromKey(privateKey, name);
  const keyId = cosignerKeyId(name, publicKey);
  const verifierKey = cosignerVerifierKeyText(name, publicKey);
  return Object.freeze({
    name,
    keyId,
    publicKey,
    verifierKey,
    cosign(checkpointBody: string, timestamp: number): string {
      const signature = sign(null, cosignedMessage(checkpointBody, timestamp), privateKey);
      const time = Buffer.alloc(TIMESTAMP_BYTES);
      time.writeBigUInt64BE(BigInt(timestamp));
      const encoded = Buffer.concat([keyId, time, signature]).toString('base64');
      return `${SIGNATURE_LINE_PREFIX}${name} ${encoded}\n`;
    },
  });
}

/**
 * Verifies the cosignatures of a signed note by the given witnesses, ignoring every other
 * signature line (the log's own, unknown witnesses'). A line that claims a trusted witness's
 * name and key ID but does not verify rejects the note, as C2SP signed-note does for its
 * signatures. Returns one cosignature per witness that cosigned, in note order.
 *
 * @example
 * const cosigned = openCosignatures(checkpoint, witnessKeys.map(parseCosignerVerifierKey));
 */
export function openCosignatures(
  signedNote: string | Uint8Array,
  witnesses: readonly CosignerVerifier[],
): readonly VerifiedCosignature[] {
  const message = typeof signedNote === 'string' ? signedNote : decodeUtf8(signedNote);
  const split = message === undefined ? -1 : message.lastIndexOf('\n\n');
  if (message === undefined || split < 0 || !message.endsWith('\n')) {
    throw new NoteError('MALFORMED_NOTE', 'a signed note has a blank line before its signatures');
  }
  const body = message.slice(0, split + 1);
  const lines = message.slice(split + 2, -1).split('\n');
  const verified = new Map<string, VerifiedCosignature>();
  for (const line of lines) {
    const parsed = parseCosignatureLine(line);
    if (parsed === undefined) continue;
    const witness = witnesses.find((w) => w.name === parsed.name && w.keyId.equals(parsed.keyId));
    if (witness === undefined) continue;
    const { name, keyId, timestamp, signature } = parsed;
    const ok =
      timestamp <= MAX_TIMESTAMP &&
      verify(null, cosignedMessage(body, timestamp), ed25519PublicKeyObject(witness.publicKey), signature);
    if (!ok) {
      throw new NoteError('INVALID_SIGNATURE', `the cosignature by ${name} does not verify`, {
        details: { name, keyId: keyId.toString('hex') },
      });
    }
    const label = `${name}+${keyId.toString('hex')}`;
    if (!verified.has(label)) verified.set(label, Object.freeze({ name, keyId, timestamp }));
  }
  return Object.freeze([...verified.values()]);
}

/** A signature line shaped as a cosignature (key ID, u64, 64 bytes); `undefined` for any other. */
function parseCosignatureLine(
  line: string,
): { name: string; keyId: Buffer; timestamp: number; signature: Buffer } | undefined {
  if (!line.startsWith(SIGNATURE_LINE_PREFIX)) {
    throw new NoteError('MALFORMED_NOTE', 'a signature line starts with an em dash and a space');
  }
  const rest = line.slice(SIGNATURE_LINE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = rest.slice(0, space);
  const bytes = space < 0 ? undefined : decodeCanonicalBase64(rest.slice(space + 1));
  const expected = SIGNED_NOTE_KEY_ID_BYTES + TIMESTAMP_BYTES + RFC8032_ED25519_SIGNATURE_BYTES;
  if (bytes === undefined || bytes.length !== expected) return undefined;
  const time = bytes.readBigUInt64BE(SIGNED_NOTE_KEY_ID_BYTES);
  return {
    name,
    keyId: Buffer.from(bytes.subarray(0, SIGNED_NOTE_KEY_ID_BYTES)),
    timestamp: time > BigInt(MAX_TIMESTAMP) ? Number.POSITIVE_INFINITY : Number(time),
    signature: bytes.subarray(SIGNED_NOTE_KEY_ID_BYTES + TIMESTAMP_BYTES),
  };
}

function assertTimestamp(timestamp: number): void {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new NoteError('MALFORMED_NOTE', 'a cosignature timestamp is POSIX seconds, 0 to 2^53 - 1');
  }
}
