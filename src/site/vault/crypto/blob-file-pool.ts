import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { SampleFingerprint } from '../../../ports/samples.js';
import type { WorkerReply, WorkerRequest } from './blob-file-protocol.js';
import { CryptoError } from './crypto-errors.js';

/** Plaintext writes a seal session keeps queued at its worker: enough to keep it busy. */
const WRITES_IN_FLIGHT = 2;
/** Plaintext a reader buffers ahead of its consumer (its worker sends about 1 MiB a reply). */
const READ_AHEAD = 2 << 20;

/**
 * Blob files sealed, opened, resealed and authenticated on worker threads
 * (`blob-file-worker.ts`), which do the file I/O too, so a relocation's bytes never cross the
 * main thread's event loop (a reseal) or cross it only as transferred plaintext (a stream):
 * the crypto of several samples runs on every core. Sessions stay on one worker (a seal's
 * hash and segment counter live there); a new one goes to the worker with the fewest open.
 *
 * @example
 * const plaintext = blobFilePool().openPlaintext(path, masterKey);      // a Readable
 * const sealing = await blobFilePool().seal(tmpPath, otherMasterKey);
 * for await (const chunk of plaintext) await sealing.write(chunk);
 * const sha256 = await sealing.finish();
 */
export class BlobFilePool {
  readonly #size: number;
  readonly #workers: (PoolWorker | undefined)[];
  /** YARA scans run on the first this many workers only: see {@link BlobFilePool.scanLanes}. */
  readonly #scanLanes: number;
  #nextId = 1;

  constructor(size = defaultPoolSize(), scanLanes = availableParallelism()) {
    this.#size = size;
    this.#workers = Array.from({ length: size }, () => undefined);
    this.#scanLanes = Math.max(1, Math.min(size, scanLanes));
  }

  /**
   * The workers YARA scans run on: one a core. A scan is bound by the CPU (YARA-X matching
   * runs at a fraction of the decryption's speed), and every worker that scans compiles the
   * rule set once for itself, which costs about a second for a hundred rules.
   */
  get scanLanes(): number {
    return this.#scanLanes;
  }

  /** The blob file's plaintext, each segment authenticated before its bytes are released. */
  openPlaintext(path: string, masterKey: Buffer): Readable {
    return new PooledPlaintext(this.#pick(), this.#nextId++, path, masterKey);
  }

  /** Creates `path` (it must not exist) as a new blob under a fresh data key. */
  async seal(path: string, masterKey: Buffer): Promise<SealSession> {
    const worker = this.#pick();
    const id = this.#nextId++;
    worker.sessions += 1;
    try {
      await worker.request({ op: 'create', id, path, key: new Uint8Array(masterKey) });
    } catch (error) {
      worker.sessions -= 1;
      throw error;
    }
    return new SealSession(worker, id);
  }

  /**
   * Copies the blob file `from` (under `fromKey`) to a new file `to` (it must not exist) under
   * `toKey` and a fresh data key, on one worker in one pass; returns the plaintext's SHA-256.
   */
  async reseal(from: SealedFile, to: SealedFile): Promise<string> {
    const reply = await this.#job((id) => ({
      op: 'reseal',
      id,
      from: from.path,
      fromKey: new Uint8Array(from.masterKey),
      to: to.path,
      toKey: new Uint8Array(to.masterKey),
    }));
    return reply.sha256!;
  }

  /** The plaintext's SHA-256 (hex) if the file exists and every segment is authentic, else undefined. */
  async digest(path: string, masterKey: Buffer): Promise<string | undefined> {
    const reply = await this.#job((id) => ({ op: 'digest', id, path, key: new Uint8Array(masterKey) }));
    return reply.authentic === true ? reply.sha256 : undefined;
  }

  /** True when the file exists and every segment is authentic under the master key. */
  async authenticate(path: string, masterKey: Buffer): Promise<boolean> {
    const reply = await this.#job((id) => ({ op: 'authenticate', id, path, key: new Uint8Array(masterKey) }));
    return reply.authentic === true;
  }

  /**
   * Opens the blob file and matches the YARA rule set against its whole plaintext, on one
   * worker: the plaintext never leaves it. `undefined` when the file is missing or not
   * authentic (removed meanwhile, or damaged: the residency audit reports that).
   */
  async scan(
    file: SealedFile,
    rules: { readonly source: string; readonly sha256: string },
  ): Promise<{ matches: readonly string[]; size: number } | undefined> {
    const reply = await this.#job(
      (id) => ({
        op: 'scan',
        id,
        path: file.path,
        key: new Uint8Array(file.masterKey),
        rules: rules.source,
        rulesSha256: rules.sha256,
      }),
      this.#scanLanes,
    );
    if (reply.authentic !== true) return undefined;
    return { matches: reply.matches ?? [], size: reply.size ?? 0 };
  }

  /**
   * Opens the blob file and computes its plaintext's fuzzy hashes and file type on one
   * worker (the fingerprint backfill); `undefined` when the file is missing or not authentic.
   */
  async fingerprint(file: SealedFile): Promise<SampleFingerprint | undefined> {
    const reply = await this.#job((id) => ({
      op: 'fingerprint',
      id,
      path: file.path,
      key: new Uint8Array(file.masterKey),
    }));
    return reply.authentic === true ? reply.fingerprint : undefined;
  }

  async close(): Promise<void> {
    const workers = this.#workers.splice(0, this.#workers.length, ...Array(this.#size).fill(undefined));
    await Promise.all(workers.map((w) => w?.terminate()));
  }

  /**
   * A one-shot job on the least busy worker (of the first `among`), counted there as a
   * session while it runs.
   */
  async #job(request: (id: number) => WorkerRequest, among = this.#size): Promise<WorkerReply> {
    const worker = this.#pick(among);
    worker.sessions += 1;
    try {
      return await worker.request(request(this.#nextId++));
    } finally {
      worker.sessions -= 1;
    }
  }

  #pick(among = this.#size): PoolWorker {
    let best: PoolWorker | undefined;
    for (let i = 0; i < among; i += 1) {
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

/**
 * Two workers a core, at most 8: a worker waits on the device for its direct reads and
 * writes (`direct-io.ts`), and the other one keeps the core busy meanwhile. (One a core
 * left the cores 35-40% idle in I/O wait in the relocation benchmark.)
 */
function defaultPoolSize(): number {
  return Math.max(2, Math.min(8, 2 * availableParallelism()));
}

let shared: BlobFilePool | undefined;

/** The process's pool (workers start on first use and do not keep the process alive idle). */
export function blobFilePool(): BlobFilePool {
  shared ??= new BlobFilePool();
  return shared;
}

/** A blob file and the master key it is sealed under. */
export interface SealedFile {
  readonly path: string;
  readonly masterKey: Buffer;
}

/**
 * The blob file behind a plaintext stream of the pool that nobody has read yet, for a copy
 * that can reseal file to file ({@link BlobFilePool.reseal}); the stream is then destroyed.
 * `undefined` for any other stream, or once reading has begun.
 */
export function takeSealedFile(plaintext: Readable): SealedFile | undefined {
  return plaintext instanceof PooledPlaintext ? plaintext.takeFile() : undefined;
}

/** Plaintext chunks made by our workers: theirs alone, so they may be transferred on. */
const transferable = new WeakSet<ArrayBuffer>();

/** A seal in progress at one worker; `finish` or `abort` ends it. */
export class SealSession {
  readonly #worker: PoolWorker;
  readonly #id: number;
  readonly #inFlight: Promise<unknown>[] = [];
  #ended = false;

  constructor(worker: PoolWorker, id: number) {
    this.#worker = worker;
    this.#id = id;
  }

  /** Hands plaintext to the worker; resolves once fewer than a few writes are queued there. */
  async write(chunk: Buffer): Promise<void> {
    if (chunk.length === 0) return;
    const whole =
      transferable.has(chunk.buffer as ArrayBuffer) &&
      chunk.byteOffset === 0 &&
      chunk.byteLength === chunk.buffer.byteLength;
    const buffer = whole
      ? (chunk.buffer as ArrayBuffer)
      : chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength);
    transferable.delete(buffer as ArrayBuffer);
    const written = this.#worker.request({ op: 'write', id: this.#id, chunk: buffer as ArrayBuffer }, [
      buffer as ArrayBuffer,
    ]);
    // A failure is thrown by a later write or by finish; never left unhandled.
    written.catch(() => undefined);
    this.#inFlight.push(written);
    if (this.#inFlight.length >= WRITES_IN_FLIGHT) await this.#inFlight.shift();
  }

  /** Seals the final segment and closes the file; returns the plaintext's SHA-256 (hex). */
  async finish(): Promise<string> {
    try {
      await Promise.all(this.#inFlight.splice(0));
      const reply = await this.#worker.request({ op: 'finish', id: this.#id });
      return reply.sha256!;
    } finally {
      this.#end();
    }
  }

  /** Closes the file at the worker (the caller removes it). */
  abort(): void {
    if (this.#ended) return;
    this.#worker.post({ op: 'close', id: this.#id });
    this.#end();
  }

  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#worker.sessions -= 1;
  }
}

/** Opens its file at the worker on the first read, so a copier may take the file instead. */
class PooledPlaintext extends Readable {
  readonly #worker: PoolWorker;
  readonly #id: number;
  readonly #path: string;
  readonly #key: Buffer;
  #state: 'unopened' | 'opening' | 'open' | 'closed' = 'unopened';
  #reading = false;

  constructor(worker: PoolWorker, id: number, path: string, masterKey: Buffer) {
    super({ highWaterMark: READ_AHEAD });
    this.#worker = worker;
    this.#id = id;
    this.#path = path;
    this.#key = Buffer.from(masterKey);
  }

  takeFile(): SealedFile | undefined {
    if (this.#state !== 'unopened' || this.destroyed) return undefined;
    const file = { path: this.#path, masterKey: Buffer.from(this.#key) };
    this.destroy();
    return file;
  }

  override _read(): void {
    if (this.#state === 'unopened') {
      this.#open();
      return;
    }
    if (this.#reading || this.#state !== 'open') return;
    this.#reading = true;
    this.#worker.request({ op: 'read', id: this.#id }).then(
      (reply) => {
        this.#reading = false;
        if (this.destroyed) return;
        const chunk = reply.chunk!;
        if (reply.done === true) this.#close(false);
        if (chunk.byteLength > 0) {
          transferable.add(chunk);
          this.push(Buffer.from(chunk));
        }
        if (reply.done === true) this.push(null);
        else if (chunk.byteLength === 0) this._read();
      },
      (error: Error) => {
        this.#reading = false;
        this.#close(false);
        this.destroy(error);
      },
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.#close(true);
    callback(error);
  }

  #open(): void {
    this.#state = 'opening';
    this.#worker.sessions += 1;
    const key = new Uint8Array(this.#key);
    this.#key.fill(0);
    this.#worker.request({ op: 'open', id: this.#id, path: this.#path, key }).then(
      () => {
        if (this.#state !== 'opening') return;
        this.#state = 'open';
        this._read();
      },
      (error: Error) => {
        this.#close(false);
        this.destroy(error);
      },
    );
  }

  /** Ends the session: at the worker too unless it ended it itself (at the end of the file). */
  #close(tellWorker: boolean): void {
    const state = this.#state;
    this.#state = 'closed';
    this.#key.fill(0);
    if (state === 'unopened' || state === 'closed') return;
    // A session still opening is closed too: the worker handles requests in order.
    if (tellWorker) this.#worker.post({ op: 'close', id: this.#id });
    this.#worker.sessions -= 1;
  }
}

/** One worker thread and the replies it owes, in order per session. */
class PoolWorker {
  /** Sessions open (balancing). */
  sessions = 0;
  dead = false;
  readonly #worker: Worker;
  readonly #waiting = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }[]>();
  #outstanding = 0;

  constructor() {
    this.#worker = spawn();
    this.#worker.unref();
    this.#worker.on('message', (reply: WorkerReply) => this.#settle(reply));
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => this.#fail(new Error(`blob-file worker exited with code ${code}`)));
  }

  request(message: WorkerRequest, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (this.dead) return Promise.reject(new Error('blob-file worker is gone'));
    return new Promise((resolve, reject) => {
      const queue = this.#waiting.get(message.id);
      if (queue === undefined) this.#waiting.set(message.id, [{ resolve, reject }]);
      else queue.push({ resolve, reject });
      if (this.#outstanding++ === 0) this.#worker.ref();
      this.#worker.postMessage(message, transfer);
    });
  }

  /** A request without a reply (`close`). */
  post(message: WorkerRequest): void {
    if (!this.dead) this.#worker.postMessage(message);
  }

  async terminate(): Promise<void> {
    this.dead = true;
    await this.#worker.terminate();
  }

  #settle(reply: WorkerReply): void {
    const queue = this.#waiting.get(reply.id);
    const waiter = queue?.shift();
    if (queue?.length === 0) this.#waiting.delete(reply.id);
    if (waiter === undefined) return;
    if (--this.#outstanding === 0) this.#worker.unref();
    if (reply.error === undefined) waiter.resolve(reply);
    else waiter.reject(errorOf(reply.error));
  }

  #fail(error: Error): void {
    this.dead = true;
    const waiters = [...this.#waiting.values()].flat();
    this.#waiting.clear();
    this.#outstanding = 0;
    for (const waiter of waiters) waiter.reject(error);
  }
}

function errorOf(error: NonNullable<WorkerReply['error']>): Error {
  if (error.cryptoCode !== undefined) return new CryptoError(error.cryptoCode, error.message);
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
}

/** The compiled worker; from the TypeScript sources (tests, tsx), through tsx's loader. */
function spawn(): Worker {
  const here = import.meta.url;
  if (here.endsWith('.js')) return new Worker(new URL('./blob-file-worker.js', here));
  const source = new URL('./blob-file-worker.ts', here).href;
  return new Worker(
    `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(source)}); })`,
    { eval: true },
  );
}
