import { MerkleError } from './merkle-errors.js';

/** C2SP tlog-tiles: entries in a bundle are prefixed with a big-endian uint16 length. */
export const TLOG_TILES_MAX_ENTRY_SIZE = 0xffff;

/**
 * An entry bundle (C2SP tlog-tiles §Log entries): each entry as a big-endian uint16 length and its bytes.
 *
 * @throws {MerkleError} `ENTRY_TOO_LARGE` if an entry is longer than 65,535 bytes.
 * @example
 * await tileStore.put(entriesPath(n, entries.length), encodeEntryBundle(entries));
 */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const [i, entry] of entries.entries()) {
    if (entry.length > TLOG_TILES_MAX_ENTRY_SIZE) {
      throw new MerkleError('ENTRY_TOO_LARGE', `entry ${i} is ${entry.length} bytes, over 65535`);
    }
    const length = Buffer.alloc(2);
    length.writeUInt16BE(entry.length);
    parts.push(length, Buffer.from(entry.buffer, entry.byteOffset, entry.byteLength));
  }
  return Buffer.concat(parts);
}

/**
 * The entries of a bundle, as copies that do not share memory with `data`.
 *
 * @throws {MerkleError} `INVALID_ENTRY_BUNDLE` if a length prefix or an entry is cut short.
 * @example
 * const entries = decodeEntryBundle(await fetchBytes(`${prefix}/${entriesPath(n, width)}`));
 */
export function decodeEntryBundle(data: Buffer): Buffer[] {
  const entries: Buffer[] = [];
  let offset = 0;
  while (offset < data.length) {
    if (offset + 2 > data.length) throw truncated(offset);
    const end = offset + 2 + data.readUInt16BE(offset);
    if (end > data.length) throw truncated(offset);
    entries.push(Buffer.from(data.subarray(offset + 2, end)));
    offset = end;
  }
  return entries;
}

function truncated(offset: number): MerkleError {
  return new MerkleError('INVALID_ENTRY_BUNDLE', `entry bundle is truncated at byte ${offset}`);
}
