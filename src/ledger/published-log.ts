import { LedgerError } from './ledger-errors.js';
import {
  type Hash,
  proveConsistency,
  proveInclusion,
  type Tile,
  tileHashReader,
  tilePath,
} from './merkle/index.js';
import { parseCheckpoint } from './note/index.js';
import type { TransparencyLog } from './transparency-log.js';

/**
 * A node's log as the public and auditors read it: its latest checkpoint, its tiles (C2SP
 * tlog-tiles) and proofs at published tree sizes. A `TransparencyLog` is one; a remote site's
 * log is one through {@link publishedLogFrom}.
 */
export type PublishedLog = Pick<
  TransparencyLog,
  'checkpoint' | 'readPublished' | 'proveInclusion' | 'proveConsistency'
>;

/**
 * A log known only by its published files (a remote site's, read through its client): proofs
 * are computed from its tiles at its latest checkpoint, as any auditor could. Tiles are not
 * authenticated here; the auditor checks the proof against a checkpoint it verified.
 *
 * @example
 * const zurich = publishedLogFrom({ checkpoint: () => site.logCheckpoint(), readPublished: (p) => site.readLogTile(p) });
 */
export function publishedLogFrom(files: Pick<PublishedLog, 'checkpoint' | 'readPublished'>): PublishedLog {
  const publishedSize = async () => {
    const text = await files.checkpoint();
    return text === undefined ? 0 : parseCheckpoint(text.slice(0, text.indexOf('\n\n') + 1)).treeSize;
  };
  const fetchTile = async (tile: Tile) => {
    const data = await files.readPublished(tilePath(tile));
    if (data === undefined) throw new LedgerError('TILE_NOT_FOUND', `no published tile ${tilePath(tile)}`);
    return data;
  };
  const readerUpTo = async (treeSize: number) => {
    const published = await publishedSize();
    if (!(Number.isSafeInteger(treeSize) && treeSize >= 1 && treeSize <= published)) {
      throw new LedgerError(
        'INVALID_PROOF_REQUEST',
        `size must be a published tree size, 1..${published} (see the checkpoint)`,
      );
    }
    return tileHashReader(published, fetchTile);
  };
  return {
    checkpoint: () => files.checkpoint(),
    readPublished: (path) => files.readPublished(path),
    async proveInclusion(index: number, treeSize: number): Promise<Hash[]> {
      const read = await readerUpTo(treeSize);
      if (!(Number.isSafeInteger(index) && index >= 0 && index < treeSize)) {
        throw new LedgerError('INVALID_PROOF_REQUEST', `index must be in 0..${treeSize - 1}`);
      }
      return proveInclusion(index, treeSize, read);
    },
    async proveConsistency(fromSize: number, toSize: number): Promise<Hash[]> {
      const read = await readerUpTo(toSize);
      if (!(Number.isSafeInteger(fromSize) && fromSize >= 1 && fromSize <= toSize)) {
        throw new LedgerError('INVALID_PROOF_REQUEST', `from must be in 1..${toSize}`);
      }
      return proveConsistency(fromSize, toSize, read);
    },
  };
}
