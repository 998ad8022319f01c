import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { formatCheckpoint, type NoteSigner } from '../../src/ledger/note/index.js';

/**
 * A deliberately naive writer of C2SP tlog-tiles, independent of src/ledger/merkle, so that
 * the Go checker has a log to read before (and besides) the real tile writer: it hashes the
 * whole tree from scratch and writes every tile of every size it is asked for.
 */

/** C2SP tlog-tiles §Merkle Tree: tiles are 256 hashes (height 8) wide. */
const TLOG_TILES_WIDTH = 256;
/** RFC 6962 §2.1 domain separation. */
const RFC6962_LEAF_PREFIX = Buffer.of(0x00);
const RFC6962_NODE_PREFIX = Buffer.of(0x01);

function sha256(...parts: Buffer[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

export function leafHash(entry: Buffer): Buffer {
  return sha256(RFC6962_LEAF_PREFIX, entry);
}

/** RFC 6962 §2.1 MTH: split at the largest power of two smaller than n. */
export function merkleTreeHash(leaves: readonly Buffer[]): Buffer {
  if (leaves.length === 0) return sha256();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return sha256(RFC6962_NODE_PREFIX, merkleTreeHash(leaves.slice(0, k)), merkleTreeHash(leaves.slice(k)));
}

/** C2SP tlog-tiles: index 1234067 is `x001/x234/067`. */
export function tileIndexPath(n: number): string {
  const groups = [String(n % 1000).padStart(3, '0')];
  for (let rest = Math.floor(n / 1000); rest > 0; rest = Math.floor(rest / 1000)) {
    groups.unshift(`x${String(rest % 1000).padStart(3, '0')}`);
  }
  return groups.join('/');
}

function resourcePath(level: number | 'entries', n: number, width: number): string {
  const partial = width === TLOG_TILES_WIDTH ? '' : `.p/${width}`;
  return `tile/${level}/${tileIndexPath(n)}${partial}`;
}

function put(dir: string, path: string, data: Buffer): void {
  const file = join(dir, ...path.split('/'));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, data);
}

/** Writes the tiles and entry bundles of the first `size` entries. Returns the paths written. */
export function writeTiles(dir: string, entries: readonly Buffer[], size: number): string[] {
  const written: string[] = [];
  let hashes = entries.slice(0, size).map(leafHash);
  for (let level = 0; hashes.length > 0; level++) {
    for (let n = 0; n * TLOG_TILES_WIDTH < hashes.length; n++) {
      const tile = hashes.slice(n * TLOG_TILES_WIDTH, (n + 1) * TLOG_TILES_WIDTH);
      const path = resourcePath(level, n, tile.length);
      put(dir, path, Buffer.concat(tile));
      written.push(path);
    }
    const full = Math.floor(hashes.length / TLOG_TILES_WIDTH);
    hashes = Array.from({ length: full }, (_, n) =>
      merkleTreeHash(hashes.slice(n * TLOG_TILES_WIDTH, (n + 1) * TLOG_TILES_WIDTH)),
    );
  }
  for (let n = 0; n * TLOG_TILES_WIDTH < size; n++) {
    const bundle = entries.slice(n * TLOG_TILES_WIDTH, Math.min((n + 1) * TLOG_TILES_WIDTH, size));
    const path = resourcePath('entries', n, bundle.length);
    put(dir, path, encodeBundle(bundle));
    written.push(path);
  }
  return written;
}

/** C2SP tlog-tiles §Log entries: big-endian uint16 length, then the entry. */
function encodeBundle(entries: readonly Buffer[]): Buffer {
  return Buffer.concat(
    entries.flatMap((entry) => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(entry.length);
      return [length, entry];
    }),
  );
}

/** Writes `checkpoint`: the signed checkpoint of the first `size` entries. */
export function writeCheckpoint(
  dir: string,
  entries: readonly Buffer[],
  size: number,
  signer: NoteSigner,
): string {
  const rootHash = merkleTreeHash(entries.slice(0, size).map(leafHash));
  const note = signer.sign(formatCheckpoint({ origin: signer.name, treeSize: size, rootHash }));
  put(dir, 'checkpoint', Buffer.from(note, 'utf8'));
  return note;
}

/** Entries of varied lengths (0 to 300 bytes), reproducible from their index. */
export function sampleEntries(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(`entry ${i} `.repeat(i % 23), 'utf8'));
}
