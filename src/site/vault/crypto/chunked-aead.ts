import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import { Transform } from 'node:stream';
import { assertKey, GCM_TAG_SIZE } from './aes-gcm.js';
import { CryptoError } from './crypto-errors.js';

/**
 * STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár, "Online Authenticated-Encryption and
 * its Nonce-Reuse Misuse-Resistance", 2015) over AES-256-GCM. Every segment has its own nonce
 * (prefix || counter), so segments cannot be reordered or dropped; the last-segment flag in the AAD
 * stops truncation at a segment boundary; the blob header in the AAD stops header swaps.
 */
export const SEGMENT_SIZE = 65536;
export const NONCE_PREFIX_SIZE = 8;
/** A segment as stored: ciphertext || tag. Every segment but the last has exactly this size. */
export const SEALED_SEGMENT_SIZE = SEGMENT_SIZE + GCM_TAG_SIZE;
const MAX_COUNTER = 0xffff_ffff;

export interface SegmentStreamOptions {
  /** The 32-byte data-encryption key of this blob. */
  readonly key: Buffer;
  /** 8 random bytes, unique per blob: a DEK reused with the same prefix would repeat nonces. */
  readonly noncePrefix: Buffer;
  /** The blob header; authenticated with every segment but written by the caller. */
  readonly header: Buffer;
}

/** Incremental, synchronous core shared by the Transforms here and in `blob-envelope.ts`. */
export interface ChunkProcessor {
  update(chunk: Buffer, push: (out: Buffer) => void): void;
  final(push: (out: Buffer) => void): void;
}

/** prefix (8) || uint32 BE counter (4). Throws once the counter would wrap and repeat a nonce. */
export function segmentNonce(prefix: Buffer, counter: number): Buffer {
  if (!Number.isInteger(counter) || counter < 0 || counter > MAX_COUNTER) {
    throw new RangeError(`segment counter ${counter} is out of range: a blob holds at most 2^32 segments`);
  }
  const nonce = Buffer.alloc(NONCE_PREFIX_SIZE + 4);
  prefix.copy(nonce, 0);
  nonce.writeUInt32BE(counter, NONCE_PREFIX_SIZE);
  return nonce;
}

/** Per-segment key, nonce prefix and the two possible AADs, fixed once per stream. */
class SegmentParams {
  readonly key: KeyObject;
  readonly prefix: Buffer;
  readonly #aad: readonly [Buffer, Buffer];

  constructor(opts: SegmentStreamOptions) {
    assertKey(opts.key, 'segment key');
    if (opts.noncePrefix.length !== NONCE_PREFIX_SIZE) {
      throw new RangeError(`nonce prefix must be ${NONCE_PREFIX_SIZE} bytes, got ${opts.noncePrefix.length}`);
    }
    // Copies, so a caller reusing or zeroing its buffers cannot change what we authenticate.
    this.key = createSecretKey(opts.key);
    this.prefix = Buffer.from(opts.noncePrefix);
    this.#aad = [Buffer.concat([opts.header, Buffer.of(0)]), Buffer.concat([opts.header, Buffer.of(1)])];
  }

  aad(last: boolean): Buffer {
    return this.#aad[last ? 1 : 0];
  }
}

/**
 * Splits plaintext into SEGMENT_SIZE segments. A full buffer is only sealed once more input
 * arrives, because until then it may still turn out to be the final segment.
 */
export class SegmentSealer implements ChunkProcessor {
  readonly #params: SegmentParams;
  readonly #buffer = Buffer.allocUnsafe(SEGMENT_SIZE);
  #filled = 0;
  #counter = 0;

  constructor(opts: SegmentStreamOptions) {
    this.#params = new SegmentParams(opts);
  }

  update(chunk: Buffer, push: (out: Buffer) => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#filled === SEGMENT_SIZE) this.#seal(this.#buffer, false, push);
      if (this.#filled === 0 && chunk.length - offset > SEGMENT_SIZE) {
        // A whole segment with input after it is not the last: sealed in place, not copied.
        this.#seal(chunk.subarray(offset, offset + SEGMENT_SIZE), false, push);
        offset += SEGMENT_SIZE;
        continue;
      }
      const copied = chunk.copy(this.#buffer, this.#filled, offset);
      this.#filled += copied;
      offset += copied;
    }
  }

  final(push: (out: Buffer) => void): void {
    this.#seal(this.#buffer.subarray(0, this.#filled), true, push);
  }

  #seal(segment: Buffer, last: boolean, push: (out: Buffer) => void): void {
    const cipher = createCipheriv(
      'aes-256-gcm',
      this.#params.key,
      segmentNonce(this.#params.prefix, this.#counter),
    );
    cipher.setAAD(this.#params.aad(last));
    push(cipher.update(segment));
    cipher.final();
    push(cipher.getAuthTag());
    this.#counter += 1;
    this.#filled = 0;
  }
}

/**
 * Reassembles sealed segments. One full segment is held back until more input (not final) or
 * EOF (final) arrives, and plaintext is pushed only after its tag has been verified.
 */
export class SegmentOpener implements ChunkProcessor {
  readonly #params: SegmentParams;
  readonly #buffer = Buffer.allocUnsafe(SEALED_SEGMENT_SIZE);
  #filled = 0;
  #counter = 0;

  constructor(opts: SegmentStreamOptions) {
    this.#params = new SegmentParams(opts);
  }

  update(chunk: Buffer, push: (out: Buffer) => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.#filled === SEALED_SEGMENT_SIZE) this.#open(this.#buffer, false, push);
      if (this.#filled === 0 && chunk.length - offset > SEALED_SEGMENT_SIZE) {
        // A whole segment with input after it is not the last: opened in place, not copied.
        this.#open(chunk.subarray(offset, offset + SEALED_SEGMENT_SIZE), false, push);
        offset += SEALED_SEGMENT_SIZE;
        continue;
      }
      const copied = chunk.copy(this.#buffer, this.#filled, offset);
      this.#filled += copied;
      offset += copied;
    }
  }

  final(push: (out: Buffer) => void): void {
    if (this.#filled < GCM_TAG_SIZE) {
      throw new CryptoError('DECRYPT_FAILED', 'blob is truncated: final segment is missing', {
        details: { segment: this.#counter },
      });
    }
    this.#open(this.#buffer.subarray(0, this.#filled), true, push);
  }

  #open(sealed: Buffer, last: boolean, push: (out: Buffer) => void): void {
    const body = sealed.subarray(0, sealed.length - GCM_TAG_SIZE);
    const tag = sealed.subarray(sealed.length - GCM_TAG_SIZE);
    let plaintext: Buffer;
    try {
      const nonce = segmentNonce(this.#params.prefix, this.#counter);
      const decipher = createDecipheriv('aes-256-gcm', this.#params.key, nonce, {
        authTagLength: GCM_TAG_SIZE,
      });
      decipher.setAAD(this.#params.aad(last));
      decipher.setAuthTag(tag);
      plaintext = decipher.update(body);
      decipher.final();
    } catch (cause) {
      throw new CryptoError('DECRYPT_FAILED', 'segment failed authentication', {
        cause,
        details: { segment: this.#counter },
      });
    }
    push(plaintext);
    this.#counter += 1;
    this.#filled = 0;
  }
}

/** Adapts a {@link ChunkProcessor} to a byte Transform; a thrown error fails the stream. */
export function processorTransform(processor: ChunkProcessor): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      try {
        processor.update(chunk, (out) => this.push(out));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    flush(callback) {
      try {
        processor.final((out) => this.push(out));
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  });
}

/**
 * Plaintext in, sealed segments out. The caller writes `header` before the output.
 *
 * @example
 * await pipeline(source, createEncryptStream({ key: dek, noncePrefix, header }), sink);
 */
export function createEncryptStream(opts: SegmentStreamOptions): Transform {
  return processorTransform(new SegmentSealer(opts));
}

/**
 * Sealed segments in (header already stripped), authenticated plaintext out. Fails with
 * `CryptoError` `DECRYPT_FAILED` on tamper, truncation, reordering, trailing data or a wrong key.
 *
 * @example
 * await pipeline(segments, createDecryptStream({ key: dek, noncePrefix, header }), sink);
 */
export function createDecryptStream(opts: SegmentStreamOptions): Transform {
  return processorTransform(new SegmentOpener(opts));
}
