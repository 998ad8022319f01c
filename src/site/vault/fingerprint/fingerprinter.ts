import type { SampleFingerprint } from '../../../ports/samples.js';
import { FILE_TYPE_HEAD_BYTES, sniffFileType } from './file-type.js';
import { SsdeepHasher } from './ssdeep.js';
import { TlshHasher } from './tlsh.js';

/**
 * A sample's fuzzy hashes (ssdeep, TLSH) and file type, computed in one streaming pass.
 *
 * @example
 * const fingerprinter = new Fingerprinter();
 * for await (const chunk of plaintext) fingerprinter.update(chunk);
 * const { ssdeep, tlsh, fileType } = await fingerprinter.finish();
 */
export class Fingerprinter {
  readonly #ssdeep: SsdeepHasher;
  readonly #tlsh = new TlshHasher();
  readonly #head = new Uint8Array(FILE_TYPE_HEAD_BYTES);
  #headLength = 0;

  /** @param size the input's whole length, if known: the ssdeep is then cheaper, and the same. */
  constructor(size?: number) {
    this.#ssdeep = new SsdeepHasher(size);
  }

  update(bytes: Uint8Array): void {
    if (this.#headLength < FILE_TYPE_HEAD_BYTES) {
      const take = Math.min(bytes.length, FILE_TYPE_HEAD_BYTES - this.#headLength);
      this.#head.set(bytes.subarray(0, take), this.#headLength);
      this.#headLength += take;
    }
    this.#ssdeep.update(bytes);
    this.#tlsh.update(bytes);
  }

  async finish(): Promise<SampleFingerprint> {
    const head = this.#head.subarray(0, this.#headLength);
    try {
      return {
        ssdeep: this.#ssdeep.digest(),
        tlsh: this.#tlsh.digest(),
        fileType: await sniffFileType(head),
      };
    } finally {
      // The head is plaintext of a sample: not left in memory longer than needed.
      this.#head.fill(0);
    }
  }
}
