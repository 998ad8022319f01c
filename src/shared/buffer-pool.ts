/**
 * Large scratch buffers for event batches (request bodies, rows before they are split by
 * site), reused rather than allocated per batch. Every fresh buffer counts as external
 * memory, and V8 collects garbage as external memory grows: under ingest most collections
 * were triggered that way.
 *
 * @example
 * const body = batchBuffers.take(size);   // at least `size` bytes, contents undefined
 * …
 * batchBuffers.give(body);                // only once nothing reads it any more
 */
export class BufferPool {
  readonly #free: Buffer[] = [];
  readonly #maxFreeBytes: number;
  readonly #minBytes: number;
  #freeBytes = 0;

  /** Buffers below `minBytes` are plain allocations; at most `maxFreeBytes` wait for reuse. */
  constructor(options: { maxFreeBytes: number; minBytes: number }) {
    this.#maxFreeBytes = options.maxFreeBytes;
    this.#minBytes = options.minBytes;
  }

  /** A buffer of exactly `size` bytes (a view on a pooled one when one is large enough). */
  take(size: number): Buffer {
    if (size < this.#minBytes) return Buffer.allocUnsafe(size);
    for (let i = this.#free.length - 1; i >= 0; i -= 1) {
      const buffer = this.#free[i]!;
      if (buffer.length >= size) {
        this.#free.splice(i, 1);
        this.#freeBytes -= buffer.length;
        return buffer.subarray(0, size);
      }
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /**
   * Returns a buffer `take` gave (or any view on it) for reuse. Buffers it did not give may
   * share memory with others (Node's small-buffer pool): those smaller than `minBytes` or
   * not at the start of their memory are left alone.
   */
  give(buffer: Buffer): void {
    const memory = buffer.buffer;
    if (buffer.byteOffset !== 0 || memory.byteLength < this.#minBytes) return;
    if (this.#freeBytes + memory.byteLength > this.#maxFreeBytes) return;
    if (this.#free.some((free) => free.buffer === memory)) return;
    this.#free.push(Buffer.from(memory, 0, memory.byteLength));
    this.#freeBytes += memory.byteLength;
  }
}

/** Shared by the request bodies of `POST /v1/events` and the rows parsed from them. */
export const batchBuffers = new BufferPool({ maxFreeBytes: 64 * 1024 * 1024, minBytes: 256 * 1024 });
