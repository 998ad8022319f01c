import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { CryptoError } from './crypto-errors.js';

/**
 * A small pool of worker threads that seal or open runs of STREAM segments with Node's
 * synchronous AES-256-GCM (AES-NI), so bulk copies use every core while the main thread
 * reads, hashes and writes. A job is one contiguous buffer of segments (about 1 MiB), moved
 * to the worker and back without copies; per-call overhead stays far below the crypto.
 *
 * The worker is inline source (CommonJS, eval) so it runs the same from `src/` under vitest
 * and from `dist/`.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createCipheriv, createDecipheriv } = require('node:crypto');
const TAG = 16;
parentPort.on('message', (m) => {
  const input = Buffer.from(m.input.buffer, m.input.byteOffset, m.input.byteLength);
  const outSize = m.op === 'seal' ? input.length + TAG * m.lengths.length : input.length - TAG * m.lengths.length;
  const out = Buffer.allocUnsafeSlow(Math.max(outSize, 0));
  const nonce = Buffer.alloc(12);
  Buffer.from(m.prefix).copy(nonce, 0);
  let at = 0;
  let written = 0;
  for (let i = 0; i < m.lengths.length; i += 1) {
    const piece = input.subarray(at, at + m.lengths[i]);
    at += m.lengths[i];
    nonce.writeUInt32BE(m.counter + i, 8);
    const aad = m.last && i === m.lengths.length - 1 ? m.aad1 : m.aad0;
    try {
      if (m.op === 'seal') {
        const c = createCipheriv('aes-256-gcm', m.key, nonce);
        c.setAAD(aad);
        written += c.update(piece).copy(out, written);
        c.final();
        written += c.getAuthTag().copy(out, written);
      } else {
        if (piece.length < TAG) throw new Error('truncated');
        const d = createDecipheriv('aes-256-gcm', m.key, nonce, { authTagLength: TAG });
        d.setAAD(aad);
        d.setAuthTag(piece.subarray(piece.length - TAG));
        const plain = d.update(piece.subarray(0, piece.length - TAG));
        d.final();
        written += plain.copy(out, written);
      }
    } catch (error) {
      parentPort.postMessage({ id: m.id, failed: m.counter + i });
      return;
    }
  }
  const ab = out.buffer;
  parentPort.postMessage({ id: m.id, output: out }, out.byteLength > 0 ? [ab] : []);
});
`;

export interface SegmentJob {
  readonly op: 'seal' | 'open';
  /** The blob's 32-byte DEK, the 8-byte nonce prefix, and the header AAD with flag 0 and 1. */
  readonly key: Buffer;
  readonly prefix: Buffer;
  readonly aad0: Buffer;
  readonly aad1: Buffer;
  /** The counter of the first segment. */
  readonly counter: number;
  /** Whether the run's last segment is the blob's final one. */
  readonly last: boolean;
  /** The segments, back to back (ownership moves to the pool), and the length of each. */
  readonly input: Buffer;
  readonly lengths: readonly number[];
}

interface Pending {
  readonly resolve: (out: Buffer) => void;
  readonly reject: (error: Error) => void;
}

class SegmentWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;

  constructor() {
    this.#worker = new Worker(WORKER_SOURCE, { eval: true });
    this.#worker.on('message', (m: { id: number; output?: Uint8Array; failed?: number }) => {
      const pending = this.#pending.get(m.id);
      this.#pending.delete(m.id);
      if (this.#pending.size === 0) this.#worker.unref();
      if (pending === undefined) return;
      if (m.output !== undefined) {
        pending.resolve(Buffer.from(m.output.buffer, m.output.byteOffset, m.output.byteLength));
      } else {
        pending.reject(
          new CryptoError('DECRYPT_FAILED', 'segment failed authentication', {
            details: { segment: m.failed },
          }),
        );
      }
    });
    this.#worker.on('error', (error) => this.#failAll(error));
    this.#worker.on('exit', () => this.#failAll(new Error('segment worker exited')));
    // An idle pool must not keep a process alive; a busy one must (someone awaits its answer).
    // After the listeners, since adding a 'message' listener refs the worker again.
    this.#worker.unref();
  }

  get load(): number {
    return this.#pending.size;
  }

  run(job: SegmentJob): Promise<Buffer> {
    const id = this.#nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(id, { resolve, reject });
      const { input } = job;
      // Move the input's memory when the buffer owns it alone; copy otherwise.
      const owned = input.byteOffset === 0 && input.byteLength === input.buffer.byteLength;
      const message = { ...job, id, input, lengths: [...job.lengths] };
      this.#worker.postMessage(message, owned && input.byteLength > 0 ? [input.buffer as ArrayBuffer] : []);
    });
  }

  #failAll(error: Error): void {
    for (const pending of this.#pending.values()) pending.reject(error);
    this.#pending.clear();
    if (pool !== undefined) pool = pool.filter((w) => w !== this);
  }
}

let pool: SegmentWorker[] | undefined;

/** Runs a job on the least busy worker (the pool starts on first use, one worker per core, at most 2). */
export function runSegmentJob(job: SegmentJob): Promise<Buffer> {
  if (pool === undefined || pool.length === 0) {
    pool = Array.from(
      { length: Math.max(1, Math.min(2, availableParallelism())) },
      () => new SegmentWorker(),
    );
  }
  let best = pool[0]!;
  for (const worker of pool) if (worker.load < best.load) best = worker;
  return best.run(job);
}
