import { type Bytes, concat, fromBase64, sha256, toHex } from '../ledger/merkle.js';
import type { SignedCheckpoint } from '../ledger/note.js';
import { verifyEd25519 } from './ed25519.js';

/*
 * C2SP tlog-cosignature in the browser: a witness's verifier key
 * (`name+hhhhhhhh+base64(0x04 || key)`, as `glasshouse witness key` prints it) and its
 * `cosignature/v1` over a checkpoint: key ID, u64 timestamp, Ed25519 signature of
 * "cosignature/v1\ntime <seconds>\n" and the checkpoint body.
 */

const COSIGNATURE_V1 = 0x04;

export interface WitnessKey {
  readonly name: string;
  readonly keyId: string;
  readonly publicKey: Bytes;
}

/** Parses a witness verifier key and checks its key ID; throws saying what is wrong. */
export async function parseWitnessKey(text: string): Promise<WitnessKey> {
  const match = /^([^+\s]+)\+([0-9a-f]{8})\+(.*)$/i.exec(text.trim());
  if (match === null) throw new Error('a witness key reads name+hhhhhhhh+base64');
  const [, name = '', keyId = '', encoded = ''] = match;
  const key = fromBase64(encoded);
  if (key === undefined || key.length !== 33 || key[0] !== COSIGNATURE_V1) {
    throw new Error(`the key of ${name} is not a cosignature/v1 Ed25519 key (base64 of 0x04 and 32 bytes)`);
  }
  const publicKey = key.slice(1);
  const digest = await sha256(
    concat([new TextEncoder().encode(`${name}\n`), Uint8Array.of(COSIGNATURE_V1), publicKey]),
  );
  if (toHex(digest.subarray(0, 4)) !== keyId.toLowerCase()) {
    throw new Error(`the key ID of ${name} does not match its name and key`);
  }
  return { name, keyId: keyId.toLowerCase(), publicKey };
}

export type CosignatureCheck =
  | { readonly outcome: 'cosigned'; readonly witness: WitnessKey; readonly timestamp: number }
  | { readonly outcome: 'missing'; readonly witness: WitnessKey }
  | { readonly outcome: 'invalid'; readonly witness: WitnessKey };

/** The witness's cosignature of the checkpoint: there and valid, absent, or present but not valid. */
export async function checkCosignature(
  checkpoint: SignedCheckpoint,
  witness: WitnessKey,
): Promise<CosignatureCheck> {
  const line = checkpoint.signatures.find(
    (s) => s.name === witness.name && s.keyId === witness.keyId && s.signature.length === 8 + 64,
  );
  if (line === undefined) return { outcome: 'missing', witness };
  const view = new DataView(line.signature.buffer, line.signature.byteOffset, 8);
  const time = view.getBigUint64(0);
  if (time > BigInt(Number.MAX_SAFE_INTEGER)) return { outcome: 'invalid', witness };
  const timestamp = Number(time);
  const message = new TextEncoder().encode(`cosignature/v1\ntime ${timestamp}\n${checkpoint.text}`);
  const ok = await verifyEd25519(witness.publicKey, line.signature.slice(8), message);
  return ok ? { outcome: 'cosigned', witness, timestamp } : { outcome: 'invalid', witness };
}
