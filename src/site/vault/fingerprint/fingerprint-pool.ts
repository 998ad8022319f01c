import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { SampleFingerprint } from '../../../ports/samples.js';
import type { FingerprintReply, FingerprintRequest } from './fingerprint-protocol.js';

/** Bytes a session may have queued at its worker before a write waits: bounds an upload's memory. */
const BYTES_IN_FLIGHT = 4 << 20;

/**
 * Fuzzy hashes and file types computed on worker threads while the upload streams: the
 * main thread copies each chunk to the session's worker and goes on with the digests and
 * the blob write, so the hashing overlaps with them and with the fsyncs. A session stays on
 * one worker; a new one goes to the worker with the fewest open.
 *
 * @example
 * const session = fingerprintPool().start();
 * for await (const chunk of body) await session.write(chunk);
 * const { ssdeep, tlsh, fileType } = await session.finish();
 */
export class FingerprintPool {
  readonly #workers: (PoolWorker | undefined)[];
  #nextId = 1;

  constructor(size = Math.max(1, Math.min(4, availableParallelism()))) {
    this.#workers = Array.from({ length: size }, () => undefined);
  }

  /** `size`: the input's length if known (see {@link Fingerprinter}). */
  start(size?: number): FingerprintSession {
    return new FingerprintSession(this.#pick(), this.#nextId++, size);
  }

  async close(): Promise<void> {
    const workers = this.#workers.map(() => undefined);
    await Promise.all(this.#workers.splice(0, workers.length, ...workers).map((w) => w?.terminate()));
  }

  #pick(): PoolWorker {
    let best: PoolWorker | undefined;
    for (let i = 0; i < this.#workers.length; i += 1) {
      let worker = this.#workers[i];
      if (worker === undefined || worker.dead) {
        worker = new PoolWorker();
        this.#workers[i] = worker;
      }
      if (best === undefined || worker.sessions < best.sessions) best = worker;
    }
    return best!;
  }
}

let shared: FingerprintPool | undefined;

/** The process's pool (workers start on first use and do not keep the process alive idle). */
export function fingerprintPool(): FingerprintPool {
  shared ??= new FingerprintPool();
  return shared;
}

/** One sample's fingerprint in progress at a worker; `finish` or `abort` ends it. */
export class FingerprintSession {
  readonly #worker: PoolWorker;
  readonly #id: number;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #failure: Error | undefined;
  #ended = false;
  /** Sent with the first chunk only. */
  #size: number | undefined;

  constructor(worker: PoolWorker, id: number, size: number | undefined) {
    this.#worker = worker;
    this.#id = id;
    this.#size = size;
    worker.sessions += 1;
  }

  /**
   * Copies the chunk to the worker (the caller's buffer goes on to the blob write); resolves
   * at once unless more than a few MiB wait there, then once the worker has caught up.
   */
  write(chunk: Uint8Array): Promise<void> | undefined {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (chunk.length === 0) return undefined;
    const copy = chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer;
    this.#inFlight += copy.byteLength;
    const size = this.#size;
    this.#size = undefined;
    const message = {
      op: 'update',
      id: this.#id,
      chunk: copy,
      ...(size === undefined ? {} : { size }),
    } as const;
    this.#worker.request(message, [copy]).then(
      (reply) => this.#acked(reply.acked ?? 0),
      (error: Error) => this.#fail(error),
    );
    if (this.#inFlight <= BYTES_IN_FLIGHT) return undefined;
    return new Promise((resolve, reject) => {
      this.#drained = () => (this.#failure === undefined ? resolve() : reject(this.#failure));
    });
  }

  async finish(): Promise<SampleFingerprint> {
    try {
      if (this.#failure !== undefined) throw this.#failure;
      const reply = await this.#worker.request({ op: 'finish', id: this.#id });
      return reply.fingerprint!;
    } finally {
      this.#end();
    }
  }

  abort(): void {
    if (this.#ended) return;
    this.#worker.post({ op: 'abort', id: this.#id });
    this.#end();
  }

  #acked(bytes: number): void {
    this.#inFlight -= bytes;
    if (this.#inFlight <= BYTES_IN_FLIGHT / 2) this.#wake();
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    this.#wake();
  }

  #wake(): void {
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#worker.sessions -= 1;
  }
}

/** One worker thread and the replies it owes, in order per session. */
class PoolWorker {
  sessions = 0;
  dead = false;
  readonly #worker: Worker;
  readonly #waiting = new Map<
    number,
    { resolve: (r: FingerprintReply) => void; reject: (e: Error) => void }[]
  >();
  #outstanding = 0;

  constructor() {
    this.#worker = spawn();
    this.#worker.unref();
    this.#worker.on('message', (reply: FingerprintReply) => this.#settle(reply));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => this.#fail(new Error(`fingerprint worker exited with code ${code}`)));
  }

  request(message: FingerprintRequest, transfer: ArrayBuffer[] = []): Promise<FingerprintReply> {
    if (this.dead) return Promise.reject(new Error('fingerprint worker is gone'));
    return new Promise((resolve, reject) => {
      const queue = this.#waiting.get(message.id);
      if (queue === undefined) this.#waiting.set(message.id, [{ resolve, reject }]);
      else queue.push({ resolve, reject });
      if (this.#outstanding++ === 0) this.#worker.ref();
      this.#worker.postMessage(message, transfer);
    });
  }

  post(message: FingerprintRequest): void {
    if (!this.dead) this.#worker.postMessage(message);
  }

  async terminate(): Promise<void> {
    this.dead = true;
    await this.#worker.terminate();
  }

  #settle(reply: FingerprintReply): void {
    const queue = this.#waiting.get(reply.id);
    const waiter = queue?.shift();
    if (queue?.length === 0) this.#waiting.delete(reply.id);
    if (waiter === undefined) return;
    if (--this.#outstanding === 0) this.#worker.unref();
    if (reply.error === undefined) waiter.resolve(reply);
    else waiter.reject(new Error(reply.error));
  }

  #fail(error: Error): void {
    this.dead = true;
    const waiters = [...this.#waiting.values()].flat();
    this.#waiting.clear();
    this.#outstanding = 0;
    for (const waiter of waiters) waiter.reject(error);
  }
}

/** The compiled worker; from the TypeScript sources (tests, tsx), through tsx's loader. */
function spawn(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new Worker(new URL('./fingerprint-worker.js', here));
  const source = new URL('./fingerprint-worker.ts', here).href;
  return new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(source)}); })`,
    { eval: true },
  );
}
