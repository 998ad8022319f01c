import { randomBytes } from 'node:crypto';
import type { Transform } from 'node:stream';
import { assertKey, KEY_SIZE } from './aes-gcm.js';
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

/**
 * A blob's data key wrapped again, under a newer master key, by a key rotation: the blob
 * file is left as it is (its header is the AAD of every segment), so the new wrap lives
 * beside it, with the wrap it replaces (`headerWrap`) to tell it applies to this very file.
 */
export interface BlobRewrap {
  readonly headerWrap: Buffer;
  readonly wrapped: Buffer;
}

const OPENING_KEY_WITH_REWRAP_SIZE = KEY_SIZE + 2 * WRAPPED_KEY_SIZE;

/**
 * The key material that opens one blob: the master key, followed by the blob's rewrap when
 * a rotation made one. One buffer, so that it crosses to the blob-file workers as the
 * master key alone did.
 *
 * @example
 * openStream(blobOpeningKey(masterKey, rewrap)); // rewrap from the vault's blob_key_wraps row, if any
 */
export function blobOpeningKey(masterKey: Buffer, rewrap?: BlobRewrap): Buffer {
  assertKey(masterKey, 'master key');
  if (rewrap === undefined) return masterKey;
  if (rewrap.headerWrap.length !== WRAPPED_KEY_SIZE || rewrap.wrapped.length !== WRAPPED_KEY_SIZE) {
    throw new RangeError(`a rewrap holds two wrapped keys of ${WRAPPED_KEY_SIZE} bytes`);
  }
  return Buffer.concat([masterKey, rewrap.headerWrap, rewrap.wrapped]);
}

/**
 * The wrapped data key in a blob's header (its first {@link ENVELOPE_HEADER_SIZE} bytes, or
 * more); `BAD_HEADER` when the bytes are no blob of ours.
 */
export function headerWrapOf(blobStart: Buffer): Buffer {
  if (blobStart.length < ENVELOPE_HEADER_SIZE)
    throw new CryptoError('BAD_HEADER', 'blob is shorter than its header');
  checkMagicAndVersion(blobStart);
  return Buffer.from(blobStart.subarray(WRAPPED_KEY_OFFSET, PREFIX_OFFSET));
}

/** A wrapped data key moved from one master key to another (`DECRYPT_FAILED` if `from` does not open it). */
export function rewrapDataKey(from: Buffer, to: Buffer, wrapped: Buffer): Buffer {
  const dek = unwrapKey(from, wrapped);
  try {
    return wrapKey(to, dek);
  } finally {
    dek.fill(0);
  }
}

/** {@link openStream} without the stream: whole blob file in, authenticated plaintext out. */
export function createBlobOpener(openingKey: Buffer): ChunkProcessor {
  assertOpeningKey(openingKey);
  return new EnvelopeOpener(openingKey);
}

function assertOpeningKey(key: Buffer): void {
  if (key.length !== OPENING_KEY_WITH_REWRAP_SIZE) assertKey(key, 'master key');
}

/**
 * Whole blob file in, plaintext out; `openingKey` is the master key or {@link blobOpeningKey}. Fails with `CryptoError` `BAD_HEADER` on a short or foreign
 * header and `DECRYPT_FAILED` on a wrong master key or any tampering with the segments.
 *
 * @example
 * await pipeline(createReadStream(path), openStream(masterKey), res);
 */
export function openStream(openingKey: Buffer): Transform {
  assertOpeningKey(openingKey);
  return processorTransform(new EnvelopeOpener(openingKey));
}

/** Collects the fixed-size header, then hands every later byte to a {@link SegmentOpener}. */
class EnvelopeOpener implements ChunkProcessor {
  /** The master key, then possibly a rewrap (see {@link blobOpeningKey}). */
  readonly #masterKey: Buffer;
  readonly #header = Buffer.alloc(ENVELOPE_HEADER_SIZE);
  #filled = 0;
  #segments: SegmentOpener | undefined;

  constructor(openingKey: Buffer) {
    this.#masterKey = Buffer.from(openingKey);
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
    checkMagicAndVersion(header);
    const masterKey = this.#masterKey.subarray(0, KEY_SIZE);
    const inHeader = header.subarray(WRAPPED_KEY_OFFSET, PREFIX_OFFSET);
    const rewrap = this.#masterKey.subarray(KEY_SIZE);
    // A rewrap applies only to the file whose header wrap it replaced (a blob deleted and
    // stored again since has a header of its own, under the current key).
    const wrapped =
      rewrap.length > 0 && rewrap.subarray(0, WRAPPED_KEY_SIZE).equals(inHeader)
        ? rewrap.subarray(WRAPPED_KEY_SIZE)
        : inHeader;
    const dek = unwrapKey(masterKey, wrapped);
    const segments = new SegmentOpener({ key: dek, noncePrefix: header.subarray(PREFIX_OFFSET), header });
    dek.fill(0);
    this.#masterKey.fill(0);
    return segments;
  }
}

function checkMagicAndVersion(header: Buffer): void {
  if (!header.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw new CryptoError('BAD_HEADER', 'not a Glasshouse blob: bad magic');
  }
  if (header[MAGIC.length] !== VERSION) {
    throw new CryptoError('BAD_HEADER', 'unsupported blob version', {
      details: { version: header[MAGIC.length] },
    });
  }
}
