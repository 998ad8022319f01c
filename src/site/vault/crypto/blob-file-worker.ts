/**
 * A worker thread of `blob-file-pool.ts`: opens, seals, reseals and authenticates blob files
 * with synchronous file I/O and the envelope's synchronous core, so the bytes never pass
 * through the main thread's event loop. Every request names a session; replies carry its id.
 * Blob files are written and read back around the page cache (`direct-io.ts`).
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { compiledRulesOf } from '../../../shared/yara-rules.js';
import { Fingerprinter } from '../fingerprint/fingerprinter.js';
import { createBlobOpener, createBlobSealer } from './blob-envelope.js';
import type { WorkerReply, WorkerRequest } from './blob-file-protocol.js';
import type { ChunkProcessor } from './chunked-aead.js';
import { CryptoError } from './crypto-errors.js';
import { alignedBuffer, DIRECT_CHUNK, DirectFileWriter, readWholeFile } from './direct-io.js';

/** Ciphertext read per request: 16 sealed segments, about 1 MiB of plaintext. */
const READ_SIZE = 16 * (65536 + 16);

interface Reading {
  readonly kind: 'read';
  readonly fd: number;
  readonly opener: ChunkProcessor;
  readonly buffer: Buffer;
}

interface Sealing {
  readonly kind: 'seal';
  readonly writer: DirectFileWriter;
  readonly stage: Buffer;
  readonly sealer: ChunkProcessor;
  readonly hash: Hash;
}

const sessions = new Map<number, Reading | Sealing>();
const port = parentPort ?? outsideWorker();

/** For one-shot jobs (reseal, authenticate): the worker runs one at a time. */
const jobReadBuffer = alignedBuffer(DIRECT_CHUNK);
const jobStage = alignedBuffer(DIRECT_CHUNK);
/** The largest plaintext buffer a worker keeps between scans (see `scanBufferOf`). */
const SCAN_BUFFER_KEPT = 64 << 20;
let scanBuffer = Buffer.alloc(0);
/** Staging buffers of finished seal sessions, for the next ones (an aligned buffer is costly to map). */
const spareStages: Buffer[] = [];

port.on('message', (request: WorkerRequest) => {
  try {
    handle(request);
  } catch (error) {
    closeSession(request.id);
    reply({ id: request.id, error: describe(error) });
  }
});

function handle(request: WorkerRequest): void {
  switch (request.op) {
    case 'open': {
      const key = Buffer.from(request.key);
      const opener = createBlobOpener(key);
      key.fill(0);
      const fd = openSync(request.path, 'r');
      sessions.set(request.id, { kind: 'read', fd, opener, buffer: Buffer.allocUnsafe(READ_SIZE) });
      reply({ id: request.id });
      return;
    }
    case 'read': {
      const session = sessionOf(request.id, 'read');
      const pieces: Buffer[] = [];
      const push = (out: Buffer) => {
        if (out.length > 0) pieces.push(out);
      };
      const n = readFully(session.fd, session.buffer);
      if (n > 0) session.opener.update(session.buffer.subarray(0, n), push);
      const done = n < session.buffer.length;
      if (done) {
        session.opener.final(push);
        closeSession(request.id);
      }
      const chunk = joined(pieces);
      port.postMessage({ id: request.id, chunk, done } satisfies WorkerReply, [chunk]);
      return;
    }
    case 'create': {
      const key = Buffer.from(request.key);
      const { header, sealer } = createBlobSealer(key);
      key.fill(0);
      const stage = spareStages.pop() ?? alignedBuffer(DIRECT_CHUNK);
      let writer: DirectFileWriter;
      try {
        writer = new DirectFileWriter(request.path, stage);
      } catch (error) {
        spareStages.push(stage);
        throw error;
      }
      sessions.set(request.id, { kind: 'seal', writer, stage, sealer, hash: createHash('sha256') });
      writer.append(header);
      reply({ id: request.id });
      return;
    }
    case 'write': {
      const session = sessionOf(request.id, 'seal');
      const plaintext = Buffer.from(request.chunk);
      session.hash.update(plaintext);
      session.sealer.update(plaintext, (out) => session.writer.append(out));
      reply({ id: request.id });
      return;
    }
    case 'finish': {
      const session = sessionOf(request.id, 'seal');
      session.sealer.final((out) => session.writer.append(out));
      session.writer.finish();
      const sha256 = session.hash.digest('hex');
      closeSession(request.id);
      reply({ id: request.id, sha256 });
      return;
    }
    case 'reseal': {
      const sha256 = reseal(
        request.from,
        Buffer.from(request.fromKey),
        request.to,
        Buffer.from(request.toKey),
      );
      reply({ id: request.id, sha256 });
      return;
    }
    case 'authenticate': {
      reply({ id: request.id, authentic: openWhole(request.path, Buffer.from(request.key)) });
      return;
    }
    case 'digest': {
      const hash = createHash('sha256');
      const authentic = openWhole(request.path, Buffer.from(request.key), (plaintext) =>
        hash.update(plaintext),
      );
      reply({ id: request.id, authentic, ...(authentic ? { sha256: hash.digest('hex') } : {}) });
      return;
    }
    case 'scan': {
      const rules = compiledRulesOf(request.rules, request.rulesSha256);
      // YARA matches over the whole file (offsets, `filesize`): the plaintext is gathered
      // here, in this worker's memory, and never leaves it. It is shorter than the file.
      const whole = scanBufferOf(fileSizeOrZero(request.path));
      let size = 0;
      try {
        // Through the page cache: its read-ahead overlaps the disk with the decryption and
        // the match, and hunts that run together read a sample from the disk once.
        const authentic = openWhole(
          request.path,
          Buffer.from(request.key),
          (plaintext) => {
            size += plaintext.copy(whole, size);
          },
          { direct: false },
        );
        if (!authentic) {
          reply({ id: request.id, authentic: false });
          return;
        }
        const plaintext = whole.subarray(0, size);
        reply({ id: request.id, authentic: true, matches: rules.matching(plaintext), size });
      } finally {
        whole.fill(0, 0, size);
      }
      return;
    }
    case 'fingerprint': {
      const fingerprinter = new Fingerprinter();
      // Through the page cache, like a scan: read-ahead overlaps the disk with the hashing.
      const authentic = openWhole(
        request.path,
        Buffer.from(request.key),
        (plaintext) => fingerprinter.update(plaintext),
        { direct: false },
      );
      fingerprinter.finish().then(
        (fingerprint) => reply({ id: request.id, authentic, ...(authentic ? { fingerprint } : {}) }),
        (error: unknown) => reply({ id: request.id, error: describe(error) }),
      );
      return;
    }
    case 'close': {
      closeSession(request.id);
      return;
    }
  }
}

/**
 * Room for the plaintext of the sample being scanned. Kept from one scan to the next (and
 * zeroed after each): a fresh buffer of tens of MiB costs more in page faults than decrypting
 * into it. A sample larger than {@link SCAN_BUFFER_KEPT} gets a buffer of its own.
 */
function scanBufferOf(size: number): Buffer {
  if (size > SCAN_BUFFER_KEPT) return Buffer.allocUnsafe(size);
  if (scanBuffer.length < size) {
    scanBuffer = Buffer.allocUnsafe(Math.max(size, Math.min(SCAN_BUFFER_KEPT, 2 * scanBuffer.length)));
  }
  return scanBuffer.subarray(0, size);
}

/** The file's size; 0 for a missing file (which `openWhole` then reports as not authentic). */
function fileSizeOrZero(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Opens the whole file, read from the device, and checks every segment's tag, handing each
 * authenticated segment's plaintext to `onPlaintext`. False for a missing or inauthentic file.
 */
function openWhole(
  path: string,
  key: Buffer,
  onPlaintext: (plaintext: Buffer) => void = () => undefined,
  options: { readonly direct?: boolean } = {},
): boolean {
  try {
    const opener = createBlobOpener(key);
    readWholeFile(path, jobReadBuffer, (chunk) => opener.update(chunk, onPlaintext), options);
    opener.final(onPlaintext);
    return true;
  } catch (error) {
    if (error instanceof CryptoError || (error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  } finally {
    key.fill(0);
  }
}

/**
 * Copies a blob file to a new one under another master key, in one pass over the bytes:
 * each segment is authenticated, hashed and sealed again while it is in the cache. Returns
 * the plaintext's SHA-256 (hex); the caller compares it with the sample's name.
 */
function reseal(from: string, fromKey: Buffer, to: string, toKey: Buffer): string {
  let opener: ChunkProcessor;
  let sealing: ReturnType<typeof createBlobSealer>;
  try {
    opener = createBlobOpener(fromKey);
    sealing = createBlobSealer(toKey);
  } finally {
    fromKey.fill(0);
    toKey.fill(0);
  }
  const { header, sealer } = sealing;
  const hash = createHash('sha256');
  const writer = new DirectFileWriter(to, jobStage);
  try {
    writer.append(header);
    const seal = (plaintext: Buffer) => {
      hash.update(plaintext);
      sealer.update(plaintext, (out) => writer.append(out));
    };
    // The source through the page cache: its read-ahead overlaps the disk with our crypto.
    readWholeFile(from, jobReadBuffer, (chunk) => opener.update(chunk, seal), { direct: false });
    opener.final(seal);
    sealer.final((out) => writer.append(out));
    writer.finish();
  } finally {
    writer.close();
  }
  return hash.digest('hex');
}

function sessionOf<K extends 'read' | 'seal'>(id: number, kind: K): Extract<Reading | Sealing, { kind: K }> {
  const session = sessions.get(id);
  if (session?.kind !== kind) throw new Error(`no ${kind} session ${id}`);
  return session as Extract<Reading | Sealing, { kind: K }>;
}

function closeSession(id: number): void {
  const session = sessions.get(id);
  if (session === undefined) return;
  sessions.delete(id);
  if (session.kind === 'read') {
    closeSync(session.fd);
    return;
  }
  session.writer.close();
  if (spareStages.length < 4) spareStages.push(session.stage);
}

/** Reads until the buffer is full or the file ends; returns the bytes read. */
function readFully(fd: number, buffer: Buffer): number {
  let filled = 0;
  while (filled < buffer.length) {
    const n = readSync(fd, buffer, filled, buffer.length - filled, null);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

/** The pieces in one fresh ArrayBuffer of exactly their size, to transfer without a copy. */
function joined(pieces: readonly Buffer[]): ArrayBuffer {
  const size = pieces.reduce((sum, p) => sum + p.length, 0);
  const out = new Uint8Array(new ArrayBuffer(size));
  let offset = 0;
  for (const piece of pieces) {
    out.set(piece, offset);
    offset += piece.length;
  }
  return out.buffer;
}

function describe(error: unknown): NonNullable<WorkerReply['error']> {
  if (error instanceof CryptoError) return { message: error.message, cryptoCode: error.code };
  const code = (error as NodeJS.ErrnoException).code;
  return { message: error instanceof Error ? error.message : String(error), ...(code ? { code } : {}) };
}

function reply(message: WorkerReply): void {
  port.postMessage(message);
}

function outsideWorker(): never {
  throw new Error('blob-file-worker runs in a worker thread');
}
