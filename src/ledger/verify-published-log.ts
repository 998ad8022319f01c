import { Frontier } from './frontier.js';
import { LedgerError } from './ledger-errors.js';
import { followKeyLinks, type KeyLink, keyRotationIn } from './log-keys.js';
import {
  decodeEntryBundle,
  entriesPath,
  type Hash,
  readTileData,
  TILE_WIDTH,
  tilePath,
  tilesToWrite,
} from './merkle/index.js';
import {
  type CosignerVerifier,
  NoteError,
  type NoteVerifier,
  type OpenedCheckpoint,
  openCheckpoint,
  openNote,
  parseCheckpoint,
  parseVerifierKey,
  type VerifiedCosignature,
} from './note/index.js';
import { checkWitnessQuorum } from './witness-quorum.js';

/** Reads a file of a published log (`checkpoint`, `tile/...`); `undefined` when absent. */
export type PublishedLogReader = (path: string) => Promise<Buffer | undefined>;

export interface VerifyOptions {
  readonly read: PublishedLogReader;
  /** The log's verifier key text, `name+hhhhhhhh+base64`; its name is the log's origin. */
  readonly verifierKey: string;
  /** An older signed checkpoint of the same log that the current one must extend. */
  readonly previousCheckpoint?: string;
  readonly onProgress?: (done: number, total: number) => void;
  /** Witnesses whose cosignatures of the checkpoint count (C2SP tlog-cosignature). */
  readonly witnesses?: readonly CosignerVerifier[];
  /** How many of `witnesses` must have cosigned; all of them by default. */
  readonly quorum?: number;
}

export interface VerifiedLog {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: string;
  readonly tilesChecked: number;
  /** The log keys whose signatures of the checkpoint verified, `name+keyid`. */
  readonly signedBy: readonly string[];
  /** Keys trusted because a key rotation in the log links them to the key given. */
  readonly keysFollowed: readonly string[];
  readonly previous?: { readonly size: number; readonly rootHash: string };
  /** The given witnesses that cosigned the checkpoint, with when (POSIX seconds). */
  readonly cosignedBy: readonly { readonly name: string; readonly timestamp: number }[];
}

/**
 * Verifies a published log from nothing but its files and its key: the checkpoint's
 * signature, every entry bundle (recomputing the tree from the entries), every hash tile
 * (byte for byte against the recomputed tree), and, given an older checkpoint, that the
 * tree then was a prefix of the tree now (`LOG_FORKED`, naming both roots, if not). Any
 * mismatch throws a `LedgerError`. A key rotation is followed: the checkpoints may be signed
 * by any key linked to the key given by a `log.key-rotation` entry of the tree that both keys
 * signed (docs/log.md states the rule).
 *
 * @example
 * const verified = await verifyPublishedLog({ read: (path) => fetchBytes(`${base}/log/control/${path}`), verifierKey });
 */
export async function verifyPublishedLog(options: VerifyOptions): Promise<VerifiedLog> {
  const given = parseVerifierKey(options.verifierKey);
  const bytes = await options.read('checkpoint');
  if (bytes === undefined) throw new LedgerError('TILE_NOT_FOUND', 'the log has no checkpoint');
  // The size is trusted only once a key verifies the checkpoint (below, after the entries
  // were read for a key rotation to follow); a wrong key fails before any entry is read.
  const size = sizeOf(bytes, given);
  const previousSize =
    options.previousCheckpoint === undefined
      ? undefined
      : sizeOf(Buffer.from(options.previousCheckpoint, 'utf8'), given);
  if (previousSize !== undefined && previousSize > size) {
    throw mismatch(`the older checkpoint (${previousSize}) is larger than the current one (${size})`);
  }

  const { stored, previousRoot, links } = await recomputeFromEntries(options, size, previousSize);
  const { trusted, learned } = followKeyLinks(given, links);
  const { checkpoint, cosignatures } = readCheckpoint(bytes, options, trusted, given.name);
  const previous =
    options.previousCheckpoint === undefined
      ? undefined
      : openCheckpoint(options.previousCheckpoint, trusted, { origin: given.name });
  if (checkpoint.treeSize !== size || (previous !== undefined && previous.treeSize !== previousSize)) {
    throw mismatch('the checkpoint changed while it was read');
  }
  const root = stored.root;
  if (!root.equals(checkpoint.rootHash)) throw mismatch('the entries do not hash to the checkpoint root');
  if (previous !== undefined && !previousRoot?.equals(previous.rootHash)) {
    throw forked(checkpoint.origin, previous.treeSize, previous.rootHash, previousRoot!, checkpoint.treeSize);
  }
  const tilesChecked = await checkHashTiles(options.read, checkpoint.treeSize, stored.hashes);
  return {
    origin: checkpoint.origin,
    size: checkpoint.treeSize,
    rootHash: Buffer.from(checkpoint.rootHash).toString('base64'),
    tilesChecked,
    signedBy: checkpoint.signatures.map((s) => `${s.name}+${s.keyId.toString('hex')}`),
    keysFollowed: learned,
    cosignedBy: cosignatures.map(({ name, timestamp }) => ({ name, timestamp })),
    ...(previous === undefined
      ? {}
      : {
          previous: { size: previous.treeSize, rootHash: Buffer.from(previous.rootHash).toString('base64') },
        }),
  };
}

/**
 * The checkpoint's size, verified against the key given; read unverified (to be verified once
 * the entries told of the log's key rotations) only when another key of the same log signed it.
 */
function sizeOf(bytes: Buffer, given: NoteVerifier): number {
  return signedByAnotherKeyOfTheLog(bytes, given)
    ? parseCheckpoint(noteText(bytes)).treeSize
    : openCheckpoint(bytes, [given], { origin: given.name }).treeSize;
}

/** Whether the key given does not sign the checkpoint but another key of the same log does (a rotation). */
function signedByAnotherKeyOfTheLog(bytes: Buffer, given: NoteVerifier): boolean {
  try {
    openNote(bytes, [given]);
    return false;
  } catch (error) {
    if (!(error instanceof NoteError) || error.code !== 'UNVERIFIED_NOTE') return false;
    const signers = (error.details?.signers ?? []) as readonly string[];
    return signers.some((label) => label.startsWith(`${given.name}+`));
  }
}

function noteText(bytes: Buffer): string {
  const text = bytes.toString('utf8');
  return text.slice(0, text.lastIndexOf('\n\n') + 1);
}

/** The checkpoint, checked against the log's keys and, when witnesses are given, their quorum. */
function readCheckpoint(
  bytes: Buffer,
  options: VerifyOptions,
  trusted: readonly NoteVerifier[],
  origin: string,
): { checkpoint: OpenedCheckpoint; cosignatures: readonly VerifiedCosignature[] } {
  const checkpoint = openCheckpoint(bytes, trusted, { origin });
  const cosignatures = checkWitnessQuorum(bytes, options.witnesses ?? [], options.quorum);
  return { checkpoint, cosignatures };
}

/** Every stored hash of the tree, in stored-hash order, computed from the entries alone. */
async function recomputeFromEntries(options: VerifyOptions, size: number, previousSize: number | undefined) {
  const frontier = Frontier.empty();
  const hashes: Buffer[] = [];
  let previousRoot: Hash | undefined = previousSize === 0 ? frontier.root() : undefined;
  const links: KeyLink[] = [];
  const bundles = Math.ceil(size / TILE_WIDTH);
  for (let n = 0; n < bundles; n++) {
    const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    const path = entriesPath(n, width);
    const data = await options.read(path);
    if (data === undefined) throw new LedgerError('TILE_NOT_FOUND', `missing entry bundle ${path}`);
    const entries = decodeEntryBundle(data);
    if (entries.length !== width) throw mismatch(`${path} holds ${entries.length} entries, not ${width}`);
    for (const entry of entries) {
      const link = keyRotationIn(entry);
      if (link !== undefined) links.push(link);
      const added = frontier.append(entry);
      for (let at = 0; at < added.length; at += 32) hashes.push(added.subarray(at, at + 32));
      if (frontier.size === previousSize) previousRoot = frontier.root();
    }
    options.onProgress?.(n + 1, bundles);
  }
  return { stored: { root: frontier.root(), hashes }, previousRoot, links };
}

/** Each hash tile must equal, byte for byte, the tile recomputed from the entries. */
async function checkHashTiles(
  read: PublishedLogReader,
  size: number,
  hashes: readonly Buffer[],
): Promise<number> {
  const { hashTiles } = tilesToWrite(0, size);
  const fromEntries = async (indexes: readonly number[]) => indexes.map((i) => hashes[i]!);
  for (const tile of hashTiles) {
    const path = tilePath(tile);
    const published = await read(path);
    if (published === undefined) throw new LedgerError('TILE_NOT_FOUND', `missing hash tile ${path}`);
    if (!published.equals(await readTileData(tile, fromEntries)))
      throw mismatch(`${path} does not match the entries`);
  }
  return hashTiles.length;
}

/**
 * The log rewrote history: the same key signed two trees that disagree at the older size.
 * Both roots are named, so that whoever holds the older checkpoint can prove the fork.
 */
function forked(origin: string, size: number, checkpointRoot: Hash, logRoot: Hash, currentSize: number) {
  const was = Buffer.from(checkpointRoot).toString('base64');
  const now = Buffer.from(logRoot).toString('base64');
  return new LedgerError(
    'LOG_FORKED',
    `${origin} forked: the older checkpoint has root ${was} at size ${size}, but the current log (size ${currentSize}) gives root ${now} at size ${size}`,
    { details: { origin, size, checkpointRoot: was, logRoot: now, currentSize } },
  );
}

function mismatch(message: string): LedgerError {
  return new LedgerError('LOG_INCONSISTENT', message);
}
