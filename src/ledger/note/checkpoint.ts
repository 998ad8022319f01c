import { decodeCanonicalBase64, isNoteSafe } from './note-encoding.js';
import { NoteError } from './note-errors.js';
import type { NoteVerifier } from './note-keys.js';
import { type NoteSignature, openNote } from './signed-note.js';

/** RFC 6962 §2.1 with SHA-256 (C2SP tlog-checkpoint §Note text): a root hash is 32 bytes. */
export const RFC6962_HASH_BYTES = 32;
/** C2SP tlog-checkpoint §Note text: ASCII decimal, no leading zeroes unless the tree is empty. */
const CHECKPOINT_TREE_SIZE = /^(?:0|[1-9][0-9]*)$/;

/** The note text of a C2SP tlog-checkpoint. */
export interface Checkpoint {
  /** The log's identity, e.g. `glasshouse.example/control`. */
  readonly origin: string;
  /** The number of leaves. Sizes beyond 2^53 - 1 are refused rather than rounded. */
  readonly treeSize: number;
  /** The RFC 6962 Merkle tree hash of the first `treeSize` leaves. */
  readonly rootHash: Buffer;
  /** Opaque extension lines (not recommended by the spec, never auditable). */
  readonly extensions: readonly string[];
}

export interface CheckpointInput {
  readonly origin: string;
  readonly treeSize: number;
  readonly rootHash: Uint8Array;
  readonly extensions?: readonly string[];
}

export interface OpenedCheckpoint extends Checkpoint {
  readonly signatures: readonly NoteSignature[];
}

/**
 * Formats a checkpoint's note text: origin, decimal tree size and base64 root hash, then
 * any extension lines, each ending in a newline (C2SP tlog-checkpoint §Note text).
 *
 * @example
 * signer.sign(formatCheckpoint({ origin: 'glasshouse.example/control', treeSize: 3, rootHash }));
 */
export function formatCheckpoint(checkpoint: CheckpointInput): string {
  const { origin, treeSize, rootHash, extensions = [] } = checkpoint;
  if (!isCheckpointLine(origin)) throw malformed('the origin is one non-empty line');
  if (!Number.isSafeInteger(treeSize) || treeSize < 0) {
    throw malformed('the tree size is an integer from 0 to 2^53 - 1');
  }
  if (rootHash.length !== RFC6962_HASH_BYTES) throw malformed('the root hash is a 32-byte SHA-256 hash');
  if (!extensions.every(isCheckpointLine)) throw malformed('each extension is one non-empty line');
  const lines = [origin, String(treeSize), Buffer.from(rootHash).toString('base64'), ...extensions];
  return lines.map((line) => `${line}\n`).join('');
}

/**
 * Parses a checkpoint's note text strictly (C2SP tlog-checkpoint §Note text). It does not
 * verify anything: call it on the text `openNote` returned, or use `openCheckpoint`.
 */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith('\n') || !isNoteSafe(text)) {
    throw malformed('a checkpoint is note text ending in a newline');
  }
  const lines = text.slice(0, -1).split('\n');
  const [origin, size, hash, ...extensions] = lines;
  if (origin === undefined || size === undefined || hash === undefined || lines.some((l) => l === '')) {
    throw malformed('a checkpoint has at least three lines, none empty');
  }
  if (!CHECKPOINT_TREE_SIZE.test(size)) throw malformed('the tree size is decimal without leading zeroes');
  const treeSize = Number(size);
  if (!Number.isSafeInteger(treeSize)) throw malformed('the tree size is beyond 2^53 - 1');
  const rootHash = decodeCanonicalBase64(hash);
  if (rootHash === undefined || rootHash.length !== RFC6962_HASH_BYTES) {
    throw malformed('the root hash is the standard base64 of 32 bytes');
  }
  return Object.freeze({ origin, treeSize, rootHash, extensions: Object.freeze(extensions) });
}

/**
 * Verifies a signed checkpoint with `openNote`, parses it, and checks that it is the
 * checkpoint of the log the caller expects (a trusted key may sign for several logs).
 *
 * @example
 * const checkpoint = openCheckpoint(body, [parseVerifierKey(key)], { origin: 'glasshouse.example/control' });
 */
export function openCheckpoint(
  signedNote: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
  expected: { readonly origin?: string } = {},
): OpenedCheckpoint {
  const note = openNote(signedNote, verifiers);
  const checkpoint = parseCheckpoint(note.text);
  if (expected.origin !== undefined && checkpoint.origin !== expected.origin) {
    throw new NoteError('UNEXPECTED_ORIGIN', `the checkpoint is for ${checkpoint.origin}`, {
      details: { origin: checkpoint.origin, expected: expected.origin },
    });
  }
  return Object.freeze({ ...checkpoint, signatures: note.signatures });
}

function isCheckpointLine(line: string): boolean {
  return line !== '' && !line.includes('\n') && isNoteSafe(line);
}

function malformed(message: string): NoteError {
  return new NoteError('MALFORMED_CHECKPOINT', message);
}
