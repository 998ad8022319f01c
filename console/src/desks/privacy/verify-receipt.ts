import {
  type Bytes,
  equalBytes,
  fromBase64,
  HASH_SIZE,
  inclusionSpans,
  leafHash,
  rootFromInclusionProof,
  toBase64,
} from '../../ledger/merkle.js';
import {
  type SignatureCheck as NoteSignatureCheck,
  parseSignedCheckpoint,
  parseVerifierKey,
  type SignedCheckpoint,
  type VerifierKey,
  verifyCheckpointSignature,
} from '../../ledger/note.js';

/*
 * Checks an erasure receipt's log entry in the browser, with the console's ledger code
 * (WebCrypto only): the entry's leaf hash, the inclusion proof walked up to a root, that root
 * compared with the checkpoint the receipt names, and, given the log's verifier key, the
 * checkpoint's signature. Nothing here trusts the server: a receipt that was changed on the
 * way says where it stops adding up.
 */

/** The `log` part of an erasure receipt (`GET /v1/privacy-requests/{id}/receipt`). */
export interface ReceiptLog {
  readonly node: string;
  /** The control-log entry's text, exactly as it was hashed into the log. */
  readonly entry: string;
  readonly index: number;
  readonly treeSize: number;
  /** Base64 sibling hashes, leaf side first (RFC 9162 §2.1.3.1). */
  readonly proof: readonly string[];
  /** The signed note of the checkpoint the proof leads to. */
  readonly checkpoint: string;
}

export type SignatureCheck =
  | { readonly status: 'verified'; readonly keyName: string }
  | { readonly status: 'not-checked'; readonly why: string }
  | { readonly status: 'failed'; readonly why: string };

export type ReceiptCheck =
  | {
      readonly ok: true;
      readonly leafHash: string;
      readonly rootHash: string;
      readonly origin: string;
      readonly treeSize: number;
      readonly signature: SignatureCheck;
    }
  | { readonly ok: false; readonly mismatch: string };

/**
 * Checks a receipt's log entry: its leaf hash, the proof up to a root, and that root against
 * the checkpoint's (whose size must be the proof's). The first mismatch is said exactly.
 */
export async function verifyReceiptLog(log: ReceiptLog, verifierKey?: string): Promise<ReceiptCheck> {
  let checkpoint: SignedCheckpoint;
  try {
    checkpoint = parseSignedCheckpoint(log.checkpoint);
  } catch (error) {
    return { ok: false, mismatch: messageOf(error) };
  }
  if (checkpoint.treeSize !== log.treeSize) {
    return {
      ok: false,
      mismatch: `the proof is for a tree of ${log.treeSize} entries, the checkpoint for ${checkpoint.treeSize}`,
    };
  }
  const proof: Bytes[] = [];
  for (const [i, encoded] of log.proof.entries()) {
    const hash = fromBase64(encoded);
    if (hash === undefined) return { ok: false, mismatch: `proof hash ${i + 1} is not base64` };
    proof.push(hash);
  }
  const unfit = proofUnfit(proof, log.index, log.treeSize);
  if (unfit !== undefined) return { ok: false, mismatch: unfit };
  const leaf = await leafHash(new TextEncoder().encode(log.entry));
  const root = await rootFromInclusionProof(proof, log.index, log.treeSize, leaf);
  if (root === undefined || !equalBytes(root, checkpoint.rootHash)) {
    const reached = root === undefined ? 'no root' : `the root ${toBase64(root)}`;
    return {
      ok: false,
      mismatch: `the proof leads to ${reached}, but the checkpoint's root is ${toBase64(checkpoint.rootHash)}`,
    };
  }
  return {
    ok: true,
    leafHash: toBase64(leaf),
    rootHash: toBase64(root),
    origin: checkpoint.origin,
    treeSize: checkpoint.treeSize,
    signature: await checkSignature(checkpoint, verifierKey),
  };
}

/**
 * Why `proof` cannot be the audit path of `index` in a tree of `treeSize` entries, said for
 * the person reading the receipt; `undefined` when its shape fits.
 */
function proofUnfit(proof: readonly Bytes[], index: number, treeSize: number): string | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(treeSize) || index < 0 || index >= treeSize) {
    return `the entry's index ${index} is not inside a tree of ${treeSize} entries`;
  }
  const bad = proof.findIndex((hash) => hash.length !== HASH_SIZE);
  if (bad >= 0) return `proof hash ${bad + 1} is not ${HASH_SIZE} bytes`;
  const needed = inclusionSpans(index, treeSize).length;
  if (proof.length > needed) return 'the proof has more hashes than a tree of this size needs';
  if (proof.length < needed) return 'the proof has fewer hashes than a tree of this size needs';
  return undefined;
}

/** The checkpoint's signature by the verifier key (`name+hhhhhhhh+base64`), when one is given. */
async function checkSignature(
  checkpoint: SignedCheckpoint,
  verifierKey: string | undefined,
): Promise<SignatureCheck> {
  if (verifierKey === undefined || verifierKey.trim() === '') {
    return { status: 'not-checked', why: 'no verifier key of the log was given to check the signature with' };
  }
  let key: VerifierKey;
  try {
    key = await parseVerifierKey(verifierKey);
  } catch (error) {
    return { status: 'failed', why: messageOf(error) };
  }
  let check: NoteSignatureCheck;
  try {
    check = await verifyCheckpointSignature(checkpoint, key);
  } catch (error) {
    // Older browsers lack Ed25519 in WebCrypto: the proof still stands, the signature is unchecked.
    if (error instanceof DOMException && error.name === 'NotSupportedError') {
      return { status: 'not-checked', why: 'this browser has no Ed25519 in WebCrypto' };
    }
    throw error;
  }
  if (check.outcome === 'verified') return { status: 'verified', keyName: key.name };
  if (check.outcome === 'invalid') {
    return { status: 'failed', why: `the signature by ${check.by} does not verify` };
  }
  const signers = check.signers.join(', ') || 'no key';
  return { status: 'failed', why: `the checkpoint is not signed by ${check.key} (signed by ${signers})` };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
