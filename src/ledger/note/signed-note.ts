import { type KeyObject, verify } from 'node:crypto';
import { decodeCanonicalBase64, decodeUtf8, isNoteSafe } from './note-encoding.js';
import { NoteError } from './note-errors.js';
import {
  assertKeyName,
  ed25519PublicKeyObject,
  isValidKeyName,
  type NoteVerifier,
  noteKeyId,
  SIGNED_NOTE_KEY_ID_BYTES,
} from './note-keys.js';

export {
  isValidKeyName,
  loadNoteSigner,
  type NoteSigner,
  type NoteVerifier,
  noteKeyId,
  noteSignerFromKey,
  parseSignerKey,
  parseVerifierKey,
  signerKeyText,
  verifierKeyText,
} from './note-keys.js';

/**
 * C2SP signed-note §Format: verifiers must accept at least 16 signatures and should cap
 * them. 100 is the cap of Go's golang.org/x/mod/sumdb/note, so both accept the same notes.
 */
export const SIGNED_NOTE_MAX_SIGNATURES = 100;
/** C2SP signed-note §Format: em dash (U+2014) and a space open every signature line. */
const SIGNED_NOTE_SIGNATURE_PREFIX = '\u2014 ';
/** RFC 8032 §5.1.6: an Ed25519 signature is 64 bytes. */
const RFC8032_ED25519_SIGNATURE_BYTES = 64;

/** A signature line's key: who signed, not the signature itself. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: Buffer;
}

export interface OpenedNote {
  /** The signed text, final newline included. Trust it only because `openNote` returned. */
  readonly text: string;
  /** Verified signatures by trusted keys, one per key, in note order. */
  readonly signatures: readonly NoteSignature[];
  /** Signatures by keys not trusted here (witness cosignatures, rotated keys): ignored. */
  readonly unverifiedSignatures: readonly NoteSignature[];
}

interface TrustedKey {
  readonly verifier: NoteVerifier;
  readonly key: KeyObject;
}

/**
 * Parses a signed note and verifies its signatures, following C2SP signed-note
 * §Signatures: signatures by unknown keys are ignored, every signature by a trusted key
 * (same name and key ID) must verify, and at least one must.
 *
 * @example
 * const { text } = openNote(signedCheckpoint, [parseVerifierKey(logKey)]);
 * const checkpoint = parseCheckpoint(text);
 */
export function openNote(signedNote: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const message = typeof signedNote === 'string' ? signedNote : decodeUtf8(signedNote);
  if (message === undefined || !isNoteSafe(message)) {
    throw malformed('a signed note is UTF-8 without control characters other than newline');
  }
  const { text, lines } = splitNote(message);
  const trusted = indexVerifiers(verifiers);
  const signedBytes = Buffer.from(text, 'utf8');
  const verified = new Map<string, NoteSignature>();
  const unverified = new Map<string, NoteSignature>();
  for (const line of lines) {
    const { name, keyId, signature } = parseSignatureLine(line);
    const id = keyLabel(name, keyId);
    const known = trusted.get(id);
    if (known === undefined) {
      if (!unverified.has(line)) unverified.set(line, Object.freeze({ name, keyId }));
      continue;
    }
    if (!verifyEd25519(known.key, signedBytes, signature)) {
      throw new NoteError('INVALID_SIGNATURE', `the signature by ${id} does not verify`, {
        details: { name, keyId: keyId.toString('hex') },
      });
    }
    if (!verified.has(id)) verified.set(id, Object.freeze({ name, keyId }));
  }
  if (verified.size === 0) {
    // Name both sides: a key of another log (or deployment) is the usual cause.
    const signers = [...unverified.values()].map((s) => keyLabel(s.name, s.keyId));
    const given = verifiers.map((v) => keyLabel(v.name, v.keyId));
    throw new NoteError(
      'UNVERIFIED_NOTE',
      `the note is signed by another key: signed by ${signers.join(', ') || 'no key'}, but the key given is ${given.join(', ') || 'none'}`,
      { details: { signers, trusted: given } },
    );
  }
  return Object.freeze({
    text,
    signatures: Object.freeze([...verified.values()]),
    unverifiedSignatures: Object.freeze([...unverified.values()]),
  });
}

/** C2SP signed-note §Format: the text ends at the last blank line; signature lines follow. */
function splitNote(message: string): { text: string; lines: string[] } {
  const split = message.lastIndexOf('\n\n');
  if (split < 0) throw malformed('a signed note has a blank line before its signatures');
  const block = message.slice(split + 2);
  if (!block.endsWith('\n'))
    throw malformed('a signed note ends with signature lines, each ending in newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > SIGNED_NOTE_MAX_SIGNATURES) {
    throw malformed(`a signed note carries at most ${SIGNED_NOTE_MAX_SIGNATURES} signatures`);
  }
  return { text: message.slice(0, split + 1), lines };
}

/** `— <key name> base64(key ID || signature)` (C2SP signed-note §Signatures). */
function parseSignatureLine(line: string): { name: string; keyId: Buffer; signature: Buffer } {
  if (!line.startsWith(SIGNED_NOTE_SIGNATURE_PREFIX)) {
    throw malformed('a signature line starts with an em dash and a space');
  }
  const rest = line.slice(SIGNED_NOTE_SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  const name = space < 0 ? rest : rest.slice(0, space);
  const bytes = space < 0 ? undefined : decodeCanonicalBase64(rest.slice(space + 1));
  if (!isValidKeyName(name) || bytes === undefined || bytes.length <= SIGNED_NOTE_KEY_ID_BYTES) {
    throw malformed('a signature line reads "— <key name> <base64 key ID and signature>"');
  }
  return {
    name,
    keyId: Buffer.from(bytes.subarray(0, SIGNED_NOTE_KEY_ID_BYTES)),
    signature: bytes.subarray(SIGNED_NOTE_KEY_ID_BYTES),
  };
}

function indexVerifiers(verifiers: readonly NoteVerifier[]): Map<string, TrustedKey> {
  const trusted = new Map<string, TrustedKey>();
  for (const verifier of verifiers) {
    assertKeyName(verifier.name);
    if (!noteKeyId(verifier.name, verifier.publicKey).equals(verifier.keyId)) {
      throw new NoteError('INVALID_KEY', `the key ID of verifier ${verifier.name} does not match its key`);
    }
    const id = keyLabel(verifier.name, verifier.keyId);
    const same = trusted.get(id);
    if (same !== undefined && !same.verifier.publicKey.equals(verifier.publicKey)) {
      // Two trusted keys collide on name and key ID: refuse rather than guess which one signed.
      throw new NoteError('INVALID_KEY', `two trusted keys share the name and key ID ${id}`);
    }
    trusted.set(id, { verifier, key: ed25519PublicKeyObject(verifier.publicKey) });
  }
  return trusted;
}

function verifyEd25519(key: KeyObject, data: Buffer, signature: Buffer): boolean {
  if (signature.length !== RFC8032_ED25519_SIGNATURE_BYTES) return false;
  return verify(null, data, key, signature);
}

function keyLabel(name: string, keyId: Buffer): string {
  return `${name}+${keyId.toString('hex')}`;
}

function malformed(message: string): NoteError {
  return new NoteError('MALFORMED_NOTE', message);
}
