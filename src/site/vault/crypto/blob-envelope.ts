import { randomBytes } from 'node:crypto';
import type { Transform } from 'node:stream';
import { assertKey } from './aes-gcm.js';
import {
  type ChunkProcessor,
  NONCE_PREFIX_SIZE,
  processorTransform,
  SegmentOpener,
  SegmentSealer,
} from './chunked-aead.js';
import { CryptoError } from './crypto-errors.js';
import { generateKey, unwrapKey, WRAPPED_KEY_SIZE, wrapKey } from './field-cipher.js';

/**
 * Blob file layout: magic "GHB1" (4) || version (1) || wrapped DEK (60) || nonce prefix (8),
 * then the STREAM segments of `chunked-aead.ts`. The whole header is the AAD of every segment.
 */
const MAGIC = Buffer.from('GHB1', 'ascii');
const VERSION = 1;
const WRAPPED_KEY_OFFSET = MAGIC.length + 1;
const PREFIX_OFFSET = WRAPPED_KEY_OFFSET + WRAPPED_KEY_SIZE;
export const ENVELOPE_HEADER_SIZE = PREFIX_OFFSET + NONCE_PREFIX_SIZE;

/**
 * Starts a new blob under a fresh DEK. Write `header` first, then everything `encrypt` emits.
 *
 * @example
 * const { header, encrypt } = sealStream(masterKey);
 * out.write(header);
 * await pipeline(source, encrypt, out);
 */
export function sealStream(masterKey: Buffer): { readonly header: Buffer; readonly encrypt: Transform } {
  const { header, sealer } = createBlobSealer(masterKey);
  return { header, encrypt: processorTransform(sealer) };
}

/**
 * {@link sealStream} without the stream: the synchronous core, for code that drives the
 * segments itself (the blob-file workers of `blob-file-pool.ts`).
 */
export function createBlobSealer(masterKey: Buffer): {
  readonly header: Buffer;
  readonly sealer: ChunkProcessor;
} {
  assertKey(masterKey, 'master key');
  const dek = generateKey();
  const noncePrefix = randomBytes(NONCE_PREFIX_SIZE);
  const header = Buffer.concat([MAGIC, Buffer.of(VERSION), wrapKey(masterKey, dek), noncePrefix]);
  const sealer = new SegmentSealer({ key: dek, noncePrefix, header });
  // The sealer keeps its own copy of the DEK; don't leave another one on the heap.
  dek.fill(0);
  return { header, sealer };
}

/** {@link openStream} without the stream: whole blob file in, authenticated plaintext out. */
export function createBlobOpener(masterKey: Buffer): ChunkProcessor {
  assertKey(masterKey, 'master key');
  return new EnvelopeOpener(masterKey);
}

/**
 * Whole blob file in, plaintext out. Fails with `CryptoError` `BAD_HEADER` on a short or foreign
 * header and `DECRYPT_FAILED` on a wrong master key or any tampering with the segments.
 *
 * @example
 * await pipeline(createReadStream(path), openStream(masterKey), res);
 */
export function openStream(masterKey: Buffer): Transform {
  assertKey(masterKey, 'master key');
  return processorTransform(new EnvelopeOpener(masterKey));
}

/** Collects the fixed-size header, then hands every later byte to a {@link SegmentOpener}. */
class EnvelopeOpener implements ChunkProcessor {
  readonly #masterKey: Buffer;
  readonly #header = Buffer.alloc(ENVELOPE_HEADER_SIZE);
  #filled = 0;
  #segments: SegmentOpener | undefined;

  constructor(masterKey: Buffer) {
    this.#masterKey = Buffer.from(masterKey);
  }

  update(chunk: Buffer, push: (out: Buffer) => void): void {
    let rest = chunk;
    if (this.#segments === undefined) {
      const copied = chunk.copy(this.#header, this.#filled);
      this.#filled += copied;
      if (this.#filled < ENVELOPE_HEADER_SIZE) return;
      this.#segments = this.#openHeader();
      rest = chunk.subarray(copied);
    }
    this.#segments.update(rest, push);
  }

  final(push: (out: Buffer) => void): void {
    if (this.#segments === undefined) throw new CryptoError('BAD_HEADER', 'blob is shorter than its header');
    this.#segments.final(push);
  }

  #openHeader(): SegmentOpener {
    const header = this.#header;
    if (!header.subarray(0, MAGIC.length).equals(MAGIC)) {
      throw new CryptoError('BAD_HEADER', 'not a Glasshouse blob: bad magic');
    }
    if (header[MAGIC.length] !== VERSION) {
      throw new CryptoError('BAD_HEADER', 'unsupported blob version', {
        details: { version: header[MAGIC.length] },
      });
    }
    const dek = unwrapKey(this.#masterKey, header.subarray(WRAPPED_KEY_OFFSET, PREFIX_OFFSET));
    const segments = new SegmentOpener({ key: dek, noncePrefix: header.subarray(PREFIX_OFFSET), header });
    dek.fill(0);
    this.#masterKey.fill(0);
    return segments;
  }
}
