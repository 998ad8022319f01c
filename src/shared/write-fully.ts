import type { FileHandle } from 'node:fs/promises';

/** Buffers per `writev`: Linux's IOV_MAX is 1024, and a longer list is written only in part. */
const MAX_IOVECS = 512;

/**
 * Writes every byte of `buffers` at the handle's position (its end when opened to append),
 * in order. `writev` may write less than asked; this continues until all is written.
 *
 * @example
 * await writeFully(handle, [header, payload]);
 */
export async function writeFully(handle: FileHandle, buffers: readonly Uint8Array[]): Promise<number> {
  let total = 0;
  for (let start = 0; start < buffers.length; start += MAX_IOVECS) {
    let pending = buffers.slice(start, start + MAX_IOVECS);
    let size = pending.reduce((sum, b) => sum + b.byteLength, 0);
    while (size > 0) {
      const { bytesWritten } = await handle.writev(pending as Uint8Array[]);
      total += bytesWritten;
      size -= bytesWritten;
      if (size > 0) pending = [Buffer.concat(pending).subarray(bytesWritten)];
    }
  }
  return total;
}
