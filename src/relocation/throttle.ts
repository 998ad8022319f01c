import { Transform, type TransformCallback } from 'node:stream';

/**
 * A shared byte-rate limit: every stream made by `stream()` draws from the same budget, so
 * concurrent copies together stay under `bytesPerSecond`. Zero means unlimited.
 */
export class Throttle {
  readonly #bytesPerSecond: number;
  readonly #start = Date.now();
  #granted = 0;

  constructor(bytesPerSecond: number) {
    this.#bytesPerSecond = bytesPerSecond;
  }

  /** Milliseconds to wait before `bytes` more may pass. */
  #delayFor(bytes: number): number {
    if (this.#bytesPerSecond <= 0) return 0;
    this.#granted += bytes;
    const due = this.#start + (this.#granted / this.#bytesPerSecond) * 1000;
    return Math.max(0, due - Date.now());
  }

  stream(onBytes: (n: number) => void): Transform {
    const delayFor = (n: number) => this.#delayFor(n);
    return new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        onBytes(chunk.length);
        const wait = delayFor(chunk.length);
        if (wait === 0) callback(null, chunk);
        else setTimeout(() => callback(null, chunk), wait);
      },
    });
  }
}
