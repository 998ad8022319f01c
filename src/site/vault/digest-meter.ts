import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import type { SampleDigests } from '../../ports/samples.js';
import { VaultError } from '../../shared/vault-errors.js';
import type { FingerprintSession } from './fingerprint/fingerprint-pool.js';

/**
 * A pass-through that computes MD5, SHA-1, SHA-256 and SHA-512 in the one streaming pass and
 * stops the stream once it passes `maxBytes`, so an oversized upload is never stored whole.
 * With a fingerprint session, each chunk also goes to its worker (fuzzy hashes, file type),
 * and the stream waits only when that worker falls a few MiB behind.
 */
export class DigestMeter extends Transform {
  readonly #maxBytes: number;
  readonly #hashes: Readonly<Record<'md5' | 'sha1' | 'sha256' | 'sha512', Hash>> = {
    md5: createHash('md5'),
    sha1: createHash('sha1'),
    sha256: createHash('sha256'),
    sha512: createHash('sha512'),
  };
  readonly #fingerprint: FingerprintSession | undefined;
  #size = 0;

  constructor(maxBytes: number, fingerprint?: FingerprintSession) {
    super();
    this.#maxBytes = maxBytes;
    this.#fingerprint = fingerprint;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#size += chunk.length;
    if (this.#size > this.#maxBytes) {
      callback(
        new VaultError('SAMPLE_TOO_LARGE', `samples are limited to ${this.#maxBytes} bytes`, {
          details: { limit: this.#maxBytes },
        }),
      );
      return;
    }
    const caughtUp = this.#fingerprint?.write(chunk);
    for (const hash of Object.values(this.#hashes)) hash.update(chunk);
    if (caughtUp === undefined) callback(null, chunk);
    else caughtUp.then(() => callback(null, chunk), callback);
  }

  /** Valid once the stream has finished. */
  digests(): SampleDigests {
    return {
      md5: this.#hashes.md5.digest('hex'),
      sha1: this.#hashes.sha1.digest('hex'),
      sha256: this.#hashes.sha256.digest('hex'),
      sha512: this.#hashes.sha512.digest('hex'),
      size: this.#size,
    };
  }
}
