/**
 * ssdeep (context-triggered piecewise hashing), streaming: every candidate block size is
 * hashed in the one pass, as ssdeep 2.13+'s `fuzzy_update` does, so the digest needs no
 * second read once the total size is known. Its output is the `ssdeep` command's
 * (`blocksize:hash:hash`, no sequence elimination), checked against it in
 * test/fuzzy-hash-interop.test.ts.
 *
 * The per-byte loop keeps its state in local numbers and typed arrays: no closure, no
 * string work until {@link SsdeepHasher.digest}.
 */

const ROLLING_WINDOW = 7;
const MIN_BLOCKSIZE = 3;
const SPAMSUM_LENGTH = 64;
const HALF_LENGTH = SPAMSUM_LENGTH / 2;
const NUM_BLOCKHASHES = 31;
/** The FNV hash's start value, reduced to the six bits a digest character keeps. */
const HASH_INIT = 0x27;
/** FNV's prime (0x01000193) modulo 64: only the low six bits of the piece hash matter. */
const PRIME_LOW = 0x13;
/**
 * A block size's piece hash and its half-length twin in one number, six bits at bit 0 and at
 * bit 16: one multiply and one xor step both (19 · 63 < 2^16, so the halves never carry).
 */
const PAIR_MASK = 0x3f003f;
/** The inverse of 3 modulo 2^32, as an int32: x·it is x/3 exactly when 3 divides x. */
const INVERSE_OF_3 = -0x55555555;
const MAX_THIRD = 0x55555555;
const B64 = new TextEncoder().encode('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');

const blockSize = (index: number) => MIN_BLOCKSIZE * 2 ** index;

export class SsdeepHasher {
  // The rolling hash (an Adler-like sum over the last seven bytes, and a shift/xor hash).
  readonly #window = new Uint8Array(ROLLING_WINDOW);
  #windowAt = 0;
  #h1 = 0;
  #h2 = 0;
  #h3 = 0;
  // One piece hash (with its half-length twin, see PAIR_MASK) and digest per candidate block size.
  readonly #pairs = new Int32Array(NUM_BLOCKHASHES);
  readonly #digests = new Uint8Array(NUM_BLOCKHASHES * SPAMSUM_LENGTH);
  readonly #digestLength = new Uint8Array(NUM_BLOCKHASHES);
  readonly #halfDigest = new Uint8Array(NUM_BLOCKHASHES);
  #start = 0;
  #end = 1;
  #rollMask = 0;
  #reduceBorder = MIN_BLOCKSIZE * SPAMSUM_LENGTH;
  #totalSize = 0;
  /** The input's length when known in advance (`fuzzy_set_total_input_length`). */
  readonly #fixedSize: number | undefined;
  /** The largest block size worth starting: with a known length, one above the first guess. */
  readonly #endLimit: number = NUM_BLOCKHASHES - 1;
  #needLastHash = false;
  #lastH = 0;

  /**
   * @param totalLength the input's length, if known: block sizes too large to be chosen are
   *   then never computed (the digest is the same, as with ssdeep's own fixed-size hashing).
   */
  constructor(totalLength?: number) {
    this.#pairs[0] = HASH_INIT | (HASH_INIT << 16);
    if (totalLength !== undefined) {
      this.#fixedSize = totalLength;
      let index = 0;
      while (blockSize(index) * SPAMSUM_LENGTH < totalLength && index < NUM_BLOCKHASHES - 2) index += 1;
      this.#endLimit = index + 1;
    }
  }

  update(bytes: Uint8Array): void {
    this.#totalSize += bytes.length;
    const window = this.#window;
    const pairs = this.#pairs;
    let windowAt = this.#windowAt;
    let h1 = this.#h1;
    let h2 = this.#h2;
    let h3 = this.#h3;
    // Block-size bookkeeping changes only at a trigger point: kept in locals, reloaded after one.
    let start = this.#start;
    let end = this.#end;
    let rollMask = this.#rollMask;
    // Everything in int32 arithmetic (| 0): the sums wrap modulo 2^32 as C's uint32_t does.
    for (let at = 0; at < bytes.length; at += 1) {
      const c = bytes[at]!;
      h2 = (h2 - h1 + ROLLING_WINDOW * c) | 0;
      h1 = (h1 + c - window[windowAt]!) | 0;
      window[windowAt] = c;
      windowAt = windowAt === ROLLING_WINDOW - 1 ? 0 : windowAt + 1;
      h3 = (h3 << 5) ^ c;
      const cc = (c & 63) * 0x10001;
      for (let i = start; i < end; i += 1) pairs[i] = (Math.imul(pairs[i]!, PRIME_LOW) ^ cc) & PAIR_MASK;
      if (end === NUM_BLOCKHASHES && this.#needLastHash) this.#lastH = ((this.#lastH * PRIME_LOW) ^ c) & 63;
      // A trigger point for block size 3·2^i is sum ≡ 0 (mod 3·2^i), sum ≠ 0 (2^32 ≡ 1 mod 3).
      const sum = (h1 + h2 + h3 + 1) | 0;
      const third = Math.imul(sum, INVERSE_OF_3);
      if (third < 0 || third > MAX_THIRD || (third & rollMask) !== 0 || sum === 0) continue;
      this.#trigger(third);
      start = this.#start;
      end = this.#end;
      rollMask = this.#rollMask;
    }
    this.#windowAt = windowAt;
    this.#h1 = h1;
    this.#h2 = h2;
    this.#h3 = h3;
  }

  /** Emits a digest character for each block size whose trigger this is. */
  #trigger(third: number): void {
    let q = third >>> this.#start;
    for (let i = this.#start; i < this.#end; i += 1) {
      const length = this.#digestLength[i]!;
      if (length === 0) this.#fork();
      const pair = this.#pairs[i]!;
      this.#digests[i * SPAMSUM_LENGTH + length] = B64[pair & 63]!;
      this.#halfDigest[i] = B64[pair >>> 16]!;
      if (length < SPAMSUM_LENGTH - 1) {
        // A full digest keeps folding the rest of the input into its last character.
        this.#digestLength[i] = length + 1;
        this.#digests[i * SPAMSUM_LENGTH + length + 1] = 0;
        if (length + 1 < HALF_LENGTH) {
          this.#pairs[i] = HASH_INIT | (HASH_INIT << 16);
          this.#halfDigest[i] = 0;
        } else {
          this.#pairs[i] = (pair & ~63) | HASH_INIT;
        }
      } else {
        this.#reduce();
      }
      if ((q & 1) === 1) break;
      q >>>= 1;
    }
  }

  /** The first trigger of the largest block size so far starts the next one, from its state. */
  #fork(): void {
    const last = this.#end - 1;
    if (this.#end <= this.#endLimit) {
      this.#pairs[this.#end] = this.#pairs[last]!;
      this.#digests[this.#end * SPAMSUM_LENGTH] = 0;
      this.#halfDigest[this.#end] = 0;
      this.#digestLength[this.#end] = 0;
      this.#end += 1;
    } else if (this.#end === NUM_BLOCKHASHES && !this.#needLastHash) {
      this.#needLastHash = true;
      this.#lastH = this.#pairs[last]! & 63;
    }
  }

  /** Drops the smallest block size once the input is too long for it to be chosen. */
  #reduce(): void {
    if (this.#end - this.#start < 2) return;
    if (this.#reduceBorder >= (this.#fixedSize ?? this.#totalSize)) return;
    if (this.#digestLength[this.#start + 1]! < HALF_LENGTH) return;
    this.#start += 1;
    this.#reduceBorder *= 2;
    this.#rollMask = this.#rollMask * 2 + 1;
  }

  /** `blocksize:hash:hash`, as `ssdeep -s` prints it (without the file name). */
  digest(): string {
    if (this.#fixedSize !== undefined && this.#fixedSize !== this.#totalSize) {
      throw new Error(`ssdeep: ${this.#totalSize} bytes hashed, ${this.#fixedSize} announced`);
    }
    const rolling = (this.#h1 + this.#h2 + this.#h3) | 0;
    let bi = this.#start;
    while (blockSize(bi) * SPAMSUM_LENGTH < this.#totalSize) bi += 1;
    if (bi >= this.#end) bi = this.#end - 1;
    while (bi > this.#start && this.#digestLength[bi]! < HALF_LENGTH) bi -= 1;
    const out: number[] = [];
    const copy = (index: number, length: number) => {
      for (let k = 0; k < length; k += 1) out.push(this.#digests[index * SPAMSUM_LENGTH + k]!);
    };
    const length = this.#digestLength[bi]!;
    copy(bi, length);
    const pending = this.#digests[bi * SPAMSUM_LENGTH + length]!;
    if (rolling !== 0) out.push(B64[this.#pairs[bi]! & 63]!);
    else if (pending !== 0) out.push(pending);
    out.push(0x3a);
    if (bi < this.#end - 1) {
      const next = bi + 1;
      copy(next, Math.min(this.#digestLength[next]!, HALF_LENGTH - 1));
      if (rolling !== 0) out.push(B64[this.#pairs[next]! >>> 16]!);
      else if (this.#halfDigest[next] !== 0) out.push(this.#halfDigest[next]!);
    } else if (rolling !== 0) {
      out.push(B64[bi === 0 ? this.#pairs[bi]! & 63 : this.#lastH]!);
    }
    return `${blockSize(bi)}:${String.fromCharCode(...out)}`;
  }
}
