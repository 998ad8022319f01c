/**
 * A worker thread of `blob-file-pool.ts`: opens, seals and authenticates blob files with
 * synchronous file I/O and the envelope's synchronous core, so the bytes never pass through
 * the main thread's event loop. Every request names a session; replies carry its id.
 */
import { createHash, type Hash } from 'node:crypto';
import { closeSync, openSync, readSync, writeSync, writevSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { createBlobOpener, createBlobSealer } from './blob-envelope.js';
import type { WorkerReply, WorkerRequest } from './blob-file-protocol.js';
import type { ChunkProcessor } from './chunked-aead.js';
import { CryptoError } from './crypto-errors.js';

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
  readonly fd: number;
  readonly sealer: ChunkProcessor;
  readonly hash: Hash;
}

const sessions = new Map<number, Reading | Sealing>();
const port = parentPort ?? outsideWorker();

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
      const fd = openSync(request.path, 'wx', 0o600);
      sessions.set(request.id, { kind: 'seal', fd, sealer, hash: createHash('sha256') });
      writeAll(fd, [header]);
      reply({ id: request.id });
      return;
    }
    case 'write': {
      const session = sessionOf(request.id, 'seal');
      const plaintext = Buffer.from(request.chunk);
      session.hash.update(plaintext);
      const pieces: Buffer[] = [];
      session.sealer.update(plaintext, (out) => pieces.push(out));
      writeAll(session.fd, pieces);
      reply({ id: request.id });
      return;
    }
    case 'finish': {
      const session = sessionOf(request.id, 'seal');
      const pieces: Buffer[] = [];
      session.sealer.final((out) => pieces.push(out));
      writeAll(session.fd, pieces);
      const sha256 = session.hash.digest('hex');
      closeSession(request.id);
      reply({ id: request.id, sha256 });
      return;
    }
    case 'authenticate': {
      reply({ id: request.id, authentic: authenticate(request.path, Buffer.from(request.key)) });
      return;
    }
    case 'close': {
      closeSession(request.id);
      return;
    }
  }
}

/** Opens the whole file and checks every segment's tag; the plaintext is dropped. */
function authenticate(path: string, key: Buffer): boolean {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    key.fill(0);
    return false;
  }
  try {
    const opener = createBlobOpener(key);
    key.fill(0);
    const buffer = Buffer.allocUnsafe(READ_SIZE);
    const drop = () => undefined;
    for (;;) {
      const n = readFully(fd, buffer);
      if (n > 0) opener.update(buffer.subarray(0, n), drop);
      if (n < buffer.length) break;
    }
    opener.final(drop);
    return true;
  } catch (error) {
    if (error instanceof CryptoError) return false;
    throw error;
  } finally {
    closeSync(fd);
  }
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
  closeSync(session.fd);
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

function writeAll(fd: number, pieces: readonly Buffer[]): void {
  let skip = pieces.length > 0 ? writevSync(fd, pieces as Buffer[]) : 0;
  // writev may write less than asked: the rest piece by piece.
  for (const piece of pieces) {
    if (skip >= piece.length) {
      skip -= piece.length;
      continue;
    }
    for (let offset = skip; offset < piece.length; ) offset += writeSync(fd, piece, offset);
    skip = 0;
  }
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
