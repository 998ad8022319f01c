import { type Bytes, concat, fromBase64, sha256, toHex } from './merkle.js';

/*
 * C2SP signed notes and tlog-checkpoints in the browser: the checkpoint's text parsed, its
 * signature lines listed, and an Ed25519 signature checked with WebCrypto against a verifier
 * key as `glasshouse ledger key` prints it (`name+hhhhhhhh+base64(0x01 || key)`).
 */

const SIGNATURE_PREFIX = '\u2014 ';
const ED25519 = 0x01;

export interface SignatureLine {
  readonly line: string;
  readonly name: string;
  /** 4 bytes, hex. */
  readonly keyId: string;
  readonly signature: Bytes;
}

export interface SignedCheckpoint {
  /** The signed text, final newline included: what the signatures cover. */
  readonly text: string;
  readonly origin: string;
  readonly treeSize: number;
  readonly rootHash: Bytes;
  readonly rootHashBase64: string;
  readonly extensions: readonly string[];
  readonly signatures: readonly SignatureLine[];
}

/** Parses a signed checkpoint; throws an Error saying what is malformed. */
export function parseSignedCheckpoint(note: string): SignedCheckpoint {
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('the checkpoint is not a signed note');
  const text = note.slice(0, split + 1);
  const signatures = note
    .slice(split + 2, -1)
    .split('\n')
    .map(parseSignatureLine);
  const [origin, size, root, ...extensions] = text.slice(0, -1).split('\n');
  if (origin === undefined || size === undefined || root === undefined || origin === '') {
    throw new Error('a checkpoint has an origin, a tree size and a root hash');
  }
  if (!/^(0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) {
    throw new Error(`the tree size ${JSON.stringify(size)} is not a decimal number`);
  }
  const rootHash = fromBase64(root);
  if (rootHash === undefined || rootHash.length !== 32)
    throw new Error('the root hash is not base64 of 32 bytes');
  return { text, origin, treeSize: Number(size), rootHash, rootHashBase64: root, extensions, signatures };
}

function parseSignatureLine(line: string): SignatureLine {
  const malformed = new Error(`not a signature line: ${JSON.stringify(line)}`);
  if (!line.startsWith(SIGNATURE_PREFIX)) throw malformed;
  const [name, encoded, ...rest] = line.slice(SIGNATURE_PREFIX.length).split(' ');
  const bytes = encoded === undefined ? undefined : fromBase64(encoded);
  if (name === undefined || name === '' || bytes === undefined || bytes.length <= 4 || rest.length > 0) {
    throw malformed;
  }
  return { line, name, keyId: toHex(bytes.subarray(0, 4)), signature: bytes.slice(4) };
}

export interface VerifierKey {
  readonly name: string;
  readonly keyId: string;
  readonly publicKey: Bytes;
}

/** C2SP signed-note key ID: the first 4 bytes of SHA-256(name || "\n" || 0x01 || key), hex. */
export async function noteKeyId(name: string, publicKey: Uint8Array): Promise<string> {
  const digest = await sha256(
    concat([new TextEncoder().encode(`${name}\n`), Uint8Array.of(ED25519), publicKey]),
  );
  return toHex(digest.subarray(0, 4));
}

/** Parses `name+hhhhhhhh+base64(0x01 || key)` and checks the key ID; throws saying what is wrong. */
export async function parseVerifierKey(text: string): Promise<VerifierKey> {
  // The base64 may itself hold `+`: the name has none, the key ID is 8 hex digits.
  const match = /^([^+\s]+)\+([^+]*)\+(.*)$/.exec(text.trim());
  if (match === null) throw new Error('a verifier key reads name+hhhhhhhh+base64');
  const [, name = '', keyId = '', encoded = ''] = match;
  if (!/^[0-9a-f]{8}$/i.test(keyId)) throw new Error('the key ID is 8 hex digits');
  const key = fromBase64(encoded);
  if (key === undefined || key.length !== 33 || key[0] !== ED25519) {
    throw new Error('the key is not an Ed25519 key (base64 of 0x01 and 32 bytes)');
  }
  const publicKey = key.slice(1);
  if ((await noteKeyId(name, publicKey)) !== keyId.toLowerCase()) {
    throw new Error('the key ID does not match the name and key');
  }
  return { name, keyId: keyId.toLowerCase(), publicKey };
}

export type SignatureCheck =
  | { readonly outcome: 'verified'; readonly by: string }
  | { readonly outcome: 'invalid'; readonly by: string }
  | { readonly outcome: 'not-signed-by-key'; readonly signers: readonly string[]; readonly key: string };

/**
 * Checks the checkpoint's signature by `key` with WebCrypto's Ed25519. Signatures by other
 * keys (witnesses) are ignored, as C2SP signed-note says; every one by this key must verify.
 */
export async function verifyCheckpointSignature(
  checkpoint: SignedCheckpoint,
  key: VerifierKey,
): Promise<SignatureCheck> {
  const label = `${key.name}+${key.keyId}`;
  const mine = checkpoint.signatures.filter((s) => s.name === key.name && s.keyId === key.keyId);
  if (mine.length === 0) {
    return {
      outcome: 'not-signed-by-key',
      signers: checkpoint.signatures.map((s) => `${s.name}+${s.keyId}`),
      key: label,
    };
  }
  const publicKey = await crypto.subtle.importKey('raw', key.publicKey, { name: 'Ed25519' }, false, [
    'verify',
  ]);
  const text = new TextEncoder().encode(checkpoint.text);
  for (const { signature } of mine) {
    const ok =
      signature.length === 64 &&
      (await crypto.subtle.verify({ name: 'Ed25519' }, publicKey, signature, text));
    if (!ok) return { outcome: 'invalid', by: label };
  }
  return { outcome: 'verified', by: label };
}
