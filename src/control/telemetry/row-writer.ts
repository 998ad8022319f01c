import type { BufferPool } from '../../shared/buffer-pool.js';

/**
 * A growing byte buffer for rows of the store's load format. The batch parser writes each
 * accepted event as two parts, the fields before `country` and those after it, so the router
 * can put in the country (known only after the registry look-up) by copying bytes.
 */
export class RowWriter {
  bytes: Buffer;
  length = 0;

  /** With a pool, the first buffer comes from it (`give` it back when done). */
  constructor(capacity: number, pool?: BufferPool) {
    const size = Math.max(capacity, 1024);
    this.bytes = pool === undefined ? Buffer.allocUnsafe(size) : pool.take(size);
  }

  /** Makes room for `more` bytes after `length`. */
  reserve(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    const grown = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.length + more));
    this.bytes.copy(grown, 0, 0, this.length);
    this.bytes = grown;
  }

  writeString(text: string): void {
    this.reserve(Buffer.byteLength(text, 'utf8'));
    this.length += this.bytes.write(text, this.length, 'utf8');
  }
}
