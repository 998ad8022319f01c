import { randomBytes } from 'node:crypto';
import { ENVELOPE_HEADER_SIZE, parseEnvelopeHeader, sealEnvelopeHeader } from './blob-envelope.js';
import { NONCE_PREFIX_SIZE, SEALED_SEGMENT_SIZE, SEGMENT_SIZE } from './chunked-aead.js';
import { CryptoError } from './crypto-errors.js';
import { runSegmentJob } from './segment-workers.js';

/**
 * The blob format of `blob-envelope.ts` and `chunked-aead.ts`, byte for byte, with the
 * segments sealed and opened on worker threads (`segment-workers.ts`), runs of BATCH
 * segments at a time and up to WINDOW runs in flight per stream, so bulk copies use both
 * cores while the main thread reads, hashes and writes. The synchronous Transforms stay the
 * vault's upload and download path; relocation and the residency audit use these.
 */
const BATCH = 16;
const WINDOW = 3;

interface Segments {
  readonly key: Buffer;
  readonly prefix: Buffer;
  readonly aad0: Buffer;
  readonly aad1: Buffer;
}

function segmentsOf(dek: Buffer, header: Buffer, prefix: Buffer): Segments {
  // Each in a buffer of its own: a view into Node's shared 8 KiB pool would be cloned whole
  // into every message to the workers.
  const own = (bytes: Buffer) => Buffer.from(new Uint8Array(bytes));
  return {
    key: own(dek),
    prefix: own(prefix),
    aad0: own(Buffer.concat([header, Buffer.of(0)])),
    aad1: own(Buffer.concat([header, Buffer.of(1)])),
  };
}

/** One run of segments to the pool: copied back to back into memory the pool may take over. */
function dispatch(
  op: 'seal' | 'open',
  segments: Segments,
  pieces: readonly Buffer[],
  counter: number,
  last: boolean,
) {
  const lengths = pieces.map((p) => p.length);
  const input = Buffer.allocUnsafeSlow(lengths.reduce((a, b) => a + b, 0));
  let at = 0;
  for (const piece of pieces) at += piece.copy(input, at);
  return runSegmentJob({ op, ...segments, counter, last, input, lengths });
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
  const segments = segmentsOf(dek, header, noncePrefix);
  dek.fill(0);
  yield* batched(
    cut(prepend(rest, iterator), SEALED_SEGMENT_SIZE),
    (pieces, counter, last) => dispatch('open', segments, pieces, counter, last),
    true,
  );
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
  const segments = segmentsOf(dek, header, noncePrefix);
  dek.fill(0);
  yield header;
  yield* batched(
    cut(plaintext, SEGMENT_SIZE),
    (pieces, counter, last) => {
      for (const piece of pieces) onPlaintext(piece);
      return dispatch('seal', segments, pieces, counter, last);
    },
    false,
  );
}

/**
 * Hands the pieces to `job` in runs of up to BATCH, with up to WINDOW runs in flight, and
 * yields the results in order. A piece is only known to be the last once the source ends,
 * so one piece is always held back; an empty source is one empty last piece when sealing
 * (the format always has a final segment) and a truncated blob when opening.
 */
async function* batched(
  pieces: AsyncIterable<Buffer>,
  job: (pieces: readonly Buffer[], counter: number, last: boolean) => Promise<Buffer>,
  opening: boolean,
): AsyncGenerator<Buffer> {
  const inFlight: Promise<Buffer>[] = [];
  let run: Buffer[] = [];
  let held: Buffer | undefined;
  let counter = 0;
  const flush = (last: boolean) => {
    const promise = job(run, counter, last);
    // Rejections are awaited in order below; this keeps one from counting as unhandled meanwhile.
    promise.catch(() => undefined);
    inFlight.push(promise);
    counter += run.length;
    run = [];
  };
  try {
    for await (const piece of pieces) {
      if (held !== undefined) {
        run.push(held);
        if (run.length === BATCH) flush(false);
      }
      held = piece;
      while (inFlight.length >= WINDOW) yield await inFlight.shift()!;
    }
    if (held === undefined) {
      if (opening) {
        throw new CryptoError('DECRYPT_FAILED', 'blob is truncated: final segment is missing', {
          details: { segment: 0 },
        });
      }
      held = Buffer.alloc(0);
    }
    run.push(held);
    flush(true);
    while (inFlight.length > 0) yield await inFlight.shift()!;
  } finally {
    // Stopped early (an error, or a reader that went away): the runs settle unobserved.
    inFlight.length = 0;
  }
}
