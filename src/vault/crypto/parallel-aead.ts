import { randomBytes, webcrypto } from 'node:crypto';
import { GCM_TAG_SIZE } from './aes-gcm.js';
import { ENVELOPE_HEADER_SIZE, parseEnvelopeHeader, sealEnvelopeHeader } from './blob-envelope.js';
import { NONCE_PREFIX_SIZE, SEALED_SEGMENT_SIZE, SEGMENT_SIZE, segmentNonce } from './chunked-aead.js';
import { CryptoError } from './crypto-errors.js';

/**
 * The blob format of `blob-envelope.ts` and `chunked-aead.ts`, byte for byte, with the
 * segments sealed and opened through WebCrypto. Each segment is its own AES-GCM message,
 * so segments are independent jobs: WebCrypto runs them on libuv's thread pool, several at
 * once, while the main thread reads, hashes and writes. The synchronous Transforms stay
 * the vault's upload and download path; bulk copies (relocation, the residency audit) use
 * these.
 */
const { subtle } = webcrypto;
/** Segments in flight per stream: enough to keep both cores busy, little memory (~1 MiB). */
const WINDOW = 16;

type SegmentKey = webcrypto.CryptoKey;

interface Segments {
  readonly key: SegmentKey;
  readonly prefix: Buffer;
  readonly aad: readonly [Buffer, Buffer];
}

function segmentsOf(dek: Buffer, header: Buffer, prefix: Buffer): Promise<Segments> {
  return subtle.importKey('raw', dek, 'AES-GCM', false, ['encrypt', 'decrypt']).then((key) => ({
    key,
    prefix: Buffer.from(prefix),
    aad: [Buffer.concat([header, Buffer.of(0)]), Buffer.concat([header, Buffer.of(1)])],
  }));
}

function gcm(s: Segments, counter: number, last: boolean) {
  return {
    name: 'AES-GCM',
    iv: segmentNonce(s.prefix, counter),
    additionalData: s.aad[last ? 1 : 0],
    tagLength: GCM_TAG_SIZE * 8,
  };
}

/** Cuts a byte stream into pieces of `size` bytes (the last may be shorter), copying only at chunk seams. */
async function* cut(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let carry: Buffer | undefined;
  let carried = 0;
  for await (const chunk of source) {
    let offset = 0;
    if (carry !== undefined) {
      const copied = chunk.copy(carry, carried, 0);
      carried += copied;
      offset = copied;
      if (carried < size) continue;
      yield carry;
      carry = undefined;
    }
    while (chunk.length - offset >= size) {
      yield chunk.subarray(offset, offset + size);
      offset += size;
    }
    if (offset < chunk.length) {
      carry = Buffer.allocUnsafe(size);
      carried = chunk.copy(carry, 0, offset);
    }
  }
  if (carry !== undefined) yield carry.subarray(0, carried);
}

/** Reads the fixed-size header off the front of a blob; the rest of the stream stays readable. */
async function readHeader(source: AsyncIterator<Buffer>): Promise<{ header: Buffer; rest: Buffer[] }> {
  const parts: Buffer[] = [];
  let length = 0;
  while (length < ENVELOPE_HEADER_SIZE) {
    const next = await source.next();
    if (next.done === true) throw new CryptoError('BAD_HEADER', 'blob is shorter than its header');
    parts.push(next.value);
    length += next.value.length;
  }
  const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  const header = Buffer.from(all.subarray(0, ENVELOPE_HEADER_SIZE));
  return { header, rest: all.length > ENVELOPE_HEADER_SIZE ? [all.subarray(ENVELOPE_HEADER_SIZE)] : [] };
}

async function* prepend(first: readonly Buffer[], rest: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  yield* first;
  for (let next = await rest.next(); next.done !== true; next = await rest.next()) yield next.value;
}

/**
 * Whole blob file in, authenticated plaintext out, in order; the same checks and errors as
 * `openStream`. Plaintext is yielded only after its segment's tag verified.
 *
 * @example
 * for await (const plaintext of openBlob(masterKey, createReadStream(path))) hash.update(plaintext);
 */
export async function* openBlob(masterKey: Buffer, blob: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  const iterator = blob[Symbol.asyncIterator]();
  try {
    yield* openSegments(masterKey, iterator);
  } finally {
    // Stopped early or failed: release the source (a file stream closes its descriptor).
    await iterator.return?.();
  }
}

async function* openSegments(masterKey: Buffer, iterator: AsyncIterator<Buffer>): AsyncGenerator<Buffer> {
  const { header, rest } = await readHeader(iterator);
  const { dek, noncePrefix } = parseEnvelopeHeader(masterKey, header);
  const segments = await segmentsOf(dek, header, noncePrefix);
  dek.fill(0);
  const open = (sealed: Buffer, counter: number, last: boolean): Promise<Buffer> => {
    if (sealed.length < GCM_TAG_SIZE) {
      return Promise.reject(
        new CryptoError('DECRYPT_FAILED', 'blob is truncated: final segment is missing', {
          details: { segment: counter },
        }),
      );
    }
    return subtle.decrypt(gcm(segments, counter, last), segments.key, sealed).then(
      (plaintext) => Buffer.from(plaintext),
      (cause: unknown) => {
        throw new CryptoError('DECRYPT_FAILED', 'segment failed authentication', {
          cause,
          details: { segment: counter },
        });
      },
    );
  };
  yield* windowed(cut(prepend(rest, iterator), SEALED_SEGMENT_SIZE), open, true);
}

/**
 * A new blob under a fresh DEK from plaintext: yields the header, then the sealed segments,
 * in order; `onPlaintext` sees every plaintext byte in order (for hashing on the way).
 *
 * @example
 * await pipeline(plaintext, (source) => sealBlob(masterKey, source, (b) => hash.update(b)), out);
 */
export async function* sealBlob(
  masterKey: Buffer,
  plaintext: AsyncIterable<Buffer>,
  onPlaintext: (bytes: Buffer) => void = () => undefined,
): AsyncGenerator<Buffer> {
  const noncePrefix = randomBytes(NONCE_PREFIX_SIZE);
  const { header, dek } = sealEnvelopeHeader(masterKey, noncePrefix);
  const segments = await segmentsOf(dek, header, noncePrefix);
  dek.fill(0);
  yield header;
  const seal = (segment: Buffer, counter: number, last: boolean): Promise<Buffer> => {
    onPlaintext(segment);
    return subtle.encrypt(gcm(segments, counter, last), segments.key, segment).then((s) => Buffer.from(s));
  };
  yield* windowed(cut(plaintext, SEGMENT_SIZE), seal, false);
}

/**
 * Runs `job` over the pieces with up to WINDOW in flight, yielding results in order. A piece
 * is only known to be the last once the source ends, so one piece is always held back; an
 * empty source is one empty last piece (the format always has a final segment when sealing).
 */
async function* windowed(
  pieces: AsyncIterable<Buffer>,
  job: (piece: Buffer, counter: number, last: boolean) => Promise<Buffer>,
  opening: boolean,
): AsyncGenerator<Buffer> {
  const inFlight: Promise<Buffer>[] = [];
  let held: Buffer | undefined;
  let counter = 0;
  // Rejections are awaited in order below; this keeps one from being reported as unhandled meanwhile.
  const start = (piece: Buffer, last: boolean) => {
    const promise = job(piece, counter, last);
    promise.catch(() => undefined);
    inFlight.push(promise);
    counter += 1;
  };
  try {
    for await (const piece of pieces) {
      if (held !== undefined) start(held, false);
      held = piece;
      while (inFlight.length >= WINDOW) yield await inFlight.shift()!;
    }
    if (held === undefined) {
      if (opening)
        throw new CryptoError('DECRYPT_FAILED', 'blob is truncated: final segment is missing', {
          details: { segment: 0 },
        });
      held = Buffer.alloc(0);
    }
    start(held, true);
    while (inFlight.length > 0) yield await inFlight.shift()!;
  } finally {
    // Stopped early (an error, or a reader that went away): let the jobs settle unobserved.
    inFlight.length = 0;
  }
}
