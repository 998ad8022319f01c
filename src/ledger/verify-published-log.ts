import { Frontier } from './frontier.js';
import { LedgerError } from './ledger-errors.js';
import {
  decodeEntryBundle,
  entriesPath,
  type Hash,
  readTileData,
  TILE_WIDTH,
  tilePath,
  tilesToWrite,
} from './merkle/index.js';
import { type OpenedCheckpoint, openCheckpoint, parseVerifierKey } from './note/index.js';

/** Reads a file of a published log (`checkpoint`, `tile/...`); `undefined` when absent. */
export type PublishedLogReader = (path: string) => Promise<Buffer | undefined>;

export interface VerifyOptions {
  readonly read: PublishedLogReader;
  /** The log's verifier key text, `name+hhhhhhhh+base64`; its name is the log's origin. */
  readonly verifierKey: string;
  /** An older signed checkpoint of the same log that the current one must extend. */
  readonly previousCheckpoint?: string;
  readonly onProgress?: (done: number, total: number) => void;
}

export interface VerifiedLog {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: string;
  readonly tilesChecked: number;
  readonly previous?: { readonly size: number; readonly rootHash: string };
}

/**
 * Verifies a published log from nothing but its files and its key: the checkpoint's
 * signature, every entry bundle (recomputing the tree from the entries), every hash tile
 * (byte for byte against the recomputed tree), and, given an older checkpoint, that the
 * tree then was a prefix of the tree now. Any mismatch throws a `LedgerError`.
 *
 * @example
 * const verified = await verifyPublishedLog({ read: (path) => fetchBytes(`${base}/log/control/${path}`), verifierKey });
 */
export async function verifyPublishedLog(options: VerifyOptions): Promise<VerifiedLog> {
  const verifier = parseVerifierKey(options.verifierKey);
  const checkpoint = await readCheckpoint(options.read, 'checkpoint', verifier.name, options.verifierKey);
  const previous =
    options.previousCheckpoint === undefined
      ? undefined
      : openCheckpoint(options.previousCheckpoint, [verifier], { origin: verifier.name });
  if (previous !== undefined && previous.treeSize > checkpoint.treeSize) {
    throw mismatch(
      `the older checkpoint (${previous.treeSize}) is larger than the current one (${checkpoint.treeSize})`,
    );
  }

  const { stored, previousRoot } = await recomputeFromEntries(
    options,
    checkpoint.treeSize,
    previous?.treeSize,
  );
  const root = stored.root;
  if (!root.equals(checkpoint.rootHash)) throw mismatch('the entries do not hash to the checkpoint root');
  if (previous !== undefined && !previousRoot?.equals(previous.rootHash)) {
    throw mismatch('the older checkpoint is not a prefix of the current log');
  }
  const tilesChecked = await checkHashTiles(options.read, checkpoint.treeSize, stored.hashes);
  return {
    origin: checkpoint.origin,
    size: checkpoint.treeSize,
    rootHash: Buffer.from(checkpoint.rootHash).toString('base64'),
    tilesChecked,
    ...(previous === undefined
      ? {}
      : {
          previous: { size: previous.treeSize, rootHash: Buffer.from(previous.rootHash).toString('base64') },
        }),
  };
}

async function readCheckpoint(
  read: PublishedLogReader,
  path: string,
  origin: string,
  key: string,
): Promise<OpenedCheckpoint> {
  const bytes = await read(path);
  if (bytes === undefined) throw new LedgerError('TILE_NOT_FOUND', 'the log has no checkpoint');
  return openCheckpoint(bytes, [parseVerifierKey(key)], { origin });
}

/** Every stored hash of the tree, in stored-hash order, computed from the entries alone. */
async function recomputeFromEntries(options: VerifyOptions, size: number, previousSize: number | undefined) {
  const frontier = Frontier.empty();
  const hashes: Buffer[] = [];
  let previousRoot: Hash | undefined = previousSize === 0 ? frontier.root() : undefined;
  const bundles = Math.ceil(size / TILE_WIDTH);
  for (let n = 0; n < bundles; n++) {
    const width = Math.min(TILE_WIDTH, size - n * TILE_WIDTH);
    const path = entriesPath(n, width);
    const data = await options.read(path);
    if (data === undefined) throw new LedgerError('TILE_NOT_FOUND', `missing entry bundle ${path}`);
    const entries = decodeEntryBundle(data);
    if (entries.length !== width) throw mismatch(`${path} holds ${entries.length} entries, not ${width}`);
    for (const entry of entries) {
      const added = frontier.append(entry);
      for (let at = 0; at < added.length; at += 32) hashes.push(added.subarray(at, at + 32));
      if (frontier.size === previousSize) previousRoot = frontier.root();
    }
    options.onProgress?.(n + 1, bundles);
  }
  return { stored: { root: frontier.root(), hashes }, previousRoot };
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

function mismatch(message: string): LedgerError {
  return new LedgerError('LOG_INCONSISTENT', message);
}
