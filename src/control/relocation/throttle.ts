import { Transform, type TransformCallback } from 'node:stream';

/** How often a throttled copy checks whether it should stop while it waits. */
const WAKE_MS = 100;

/** A copy stopped because the job was paused or cancelled (not a failure). */
export class CopyStopped extends Error {
  constructor() {
    super('the relocation was paused or cancelled');
  }
}

/**
 * A shared byte-rate limit: every stream made by `stream()` draws from the same budget, so
 * concurrent copies together stay under `bytesPerSecond`. Zero means unlimited. A stream
 * fails with `CopyStopped` as soon as `shouldStop` says so, even while it waits.
 */
export class Throttle {
  readonly #bytesPerSecond: number;
  readonly #start = Date.now();
  #granted = 0;

  constructor(bytesPerSecond: number) {
    this.#bytesPerSecond = bytesPerSecond;
  }

  get limited(): boolean {
    return this.#bytesPerSecond > 0;
  }

  /** When `bytes` more may pass (epoch ms). */
  #dueFor(bytes: number): number {
    if (this.#bytesPerSecond <= 0) return 0;
    this.#granted += bytes;
    return this.#start + (this.#granted / this.#bytesPerSecond) * 1000;
  }

  stream(onBytes: (n: number) => void, shouldStop: () => boolean): Transform {
    const dueFor = (n: number) => this.#dueFor(n);
    return new Transform({
      transform(chunk: Buffer, _encoding, callback: TransformCallback) {
        const due = dueFor(chunk.length);
        const attempt = () => {
          if (shouldStop()) {
            callback(new CopyStopped());
            return;
          }
          const wait = due - Date.now();
          if (wait <= 0) {
            onBytes(chunk.length);
            callback(null, chunk);
          } else {
            setTimeout(attempt, Math.min(wait, WAKE_MS));
          }
        };
        attempt();
      },
    });
  }
}
