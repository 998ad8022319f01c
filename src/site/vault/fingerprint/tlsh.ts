/**
 * TLSH (Trend Micro Locality Sensitive Hash) as the `tlsh` command of TLSH 3.4 computes it:
 * 128 buckets, a one-byte checksum, and no hash for fewer than 256 bytes or for input whose
 * buckets are mostly empty (too little variety). Written in TLSH 4's form: `T1` and the 70 hex
 * digits TLSH 3.4 prints (the form MalwareBazaar and the similarity index use).
 * Streaming; checked against the command in test/fuzzy-hash-interop.test.ts.
 */

/** TLSH 3.4's minimum input (`MIN_DATA_LENGTH`). */
export const TLSH_MIN_LENGTH = 256;
const BUCKETS = 256;
const EFFECTIVE_BUCKETS = 128;
const CODE_SIZE = EFFECTIVE_BUCKETS / 4;

/** Pearson's permutation, as TLSH uses it (`v_table` in its tlsh_util.cpp). */
// biome-ignore format: a table
const V = new Uint8Array([
  1, 87, 49, 12, 176, 178, 102, 166, 121, 193, 6, 84, 249, 230, 44, 163,
  14, 197, 213, 181, 161, 85, 218, 80, 64, 239, 24, 226, 236, 142, 38, 200,
  110, 177, 104, 103, 141, 253, 255, 50, 77, 101, 81, 18, 45, 96, 31, 222,
  25, 107, 190, 70, 86, 237, 240, 34, 72, 242, 20, 214, 244, 227, 149, 235,
  97, 234, 57, 22, 60, 250, 82, 175, 208, 5, 127, 199, 111, 62, 135, 248,
  174, 169, 211, 58, 66, 154, 106, 195, 245, 171, 17, 187, 182, 179, 0, 243,
  132, 56, 148, 75, 128, 133, 158, 100, 130, 126, 91, 13, 153, 246, 216, 219,
  119, 68, 223, 78, 83, 88, 201, 99, 122, 11, 92, 32, 136, 114, 52, 10,
  138, 30, 48, 183, 156, 35, 61, 26, 143, 74, 251, 94, 129, 162, 63, 152,
  170, 7, 115, 167, 241, 206, 3, 150, 55, 59, 151, 220, 90, 53, 23, 131,
  125, 173, 15, 238, 79, 95, 89, 16, 105, 137, 225, 224, 217, 160, 37, 123,
  118, 73, 2, 157, 46, 116, 9, 145, 134, 228, 207, 212, 202, 215, 69, 229,
  27, 188, 67, 124, 168, 252, 42, 4, 29, 108, 21, 247, 19, 205, 39, 203,
  233, 40, 186, 147, 198, 192, 155, 33, 164, 191, 98, 204, 165, 180, 117, 76,
  140, 36, 210, 172, 41, 54, 159, 8, 185, 232, 113, 196, 231, 47, 146, 120,
  51, 65, 28, 144, 254, 221, 93, 189, 194, 139, 112, 43, 71, 109, 184, 209,
]);

// The salts of TLSH's six triplets and its checksum, each through the table once already.
const S0 = V[0]!;
const S2 = V[2]!;
const S3 = V[3]!;
const S5 = V[5]!;
const S7 = V[7]!;
const S11 = V[11]!;
const S13 = V[13]!;

export class TlshHasher {
  readonly #buckets = new Uint32Array(BUCKETS);
  #checksum = 0;
  /** The four bytes before the next one, most recent first. */
  #w1 = 0;
  #w2 = 0;
  #w3 = 0;
  #w4 = 0;
  #length = 0;

  update(bytes: Uint8Array): void {
    let at = 0;
    // The first four bytes only fill the window: a triplet needs five.
    while (this.#length + at < 4 && at < bytes.length) {
      this.#w4 = this.#w3;
      this.#w3 = this.#w2;
      this.#w2 = this.#w1;
      this.#w1 = bytes[at]!;
      at += 1;
    }
    const b = this.#buckets;
    let checksum = this.#checksum;
    let w1 = this.#w1;
    let w2 = this.#w2;
    let w3 = this.#w3;
    let w4 = this.#w4;
    for (; at < bytes.length; at += 1) {
      const c = bytes[at]!;
      checksum = V[V[V[S0 ^ c]! ^ w1]! ^ checksum]!;
      const c1 = V[S2 ^ c]!;
      b[V[V[c1 ^ w1]! ^ w2]!]! += 1;
      b[V[V[V[S3 ^ c]! ^ w1]! ^ w3]!]! += 1;
      b[V[V[V[S5 ^ c]! ^ w2]! ^ w3]!]! += 1;
      b[V[V[V[S7 ^ c]! ^ w2]! ^ w4]!]! += 1;
      b[V[V[V[S11 ^ c]! ^ w1]! ^ w4]!]! += 1;
      b[V[V[V[S13 ^ c]! ^ w3]! ^ w4]!]! += 1;
      w4 = w3;
      w3 = w2;
      w2 = w1;
      w1 = c;
    }
    this.#checksum = checksum;
    this.#w1 = w1;
    this.#w2 = w2;
    this.#w3 = w3;
    this.#w4 = w4;
    this.#length += bytes.length;
  }

  /** `T1` and the 70 hex digits `tlsh -f` prints, or null where it says "file too small" or "cannot hash". */
  digest(): string | null {
    if (this.#length < TLSH_MIN_LENGTH) return null;
    const counts = this.#buckets.subarray(0, EFFECTIVE_BUCKETS);
    let nonZero = 0;
    for (const count of counts) if (count > 0) nonZero += 1;
    if (nonZero <= EFFECTIVE_BUCKETS / 2) return null;
    // The quartiles are order statistics of the 128 counts: a sorted copy gives them.
    const sorted = Uint32Array.from(counts).sort();
    const q1 = sorted[EFFECTIVE_BUCKETS / 4 - 1]!;
    const q2 = sorted[EFFECTIVE_BUCKETS / 2 - 1]!;
    const q3 = sorted[EFFECTIVE_BUCKETS - EFFECTIVE_BUCKETS / 4 - 1]!;
    const out = new Uint8Array(3 + CODE_SIZE);
    out[0] = swapNibbles(this.#checksum);
    out[1] = swapNibbles(lengthCode(this.#length));
    out[2] = (quartileRatio(q1, q3) << 4) | quartileRatio(q2, q3);
    for (let i = 0; i < CODE_SIZE; i += 1) {
      let code = 0;
      for (let j = 0; j < 4; j += 1) {
        const count = counts[4 * i + j]!;
        const level = count > q3 ? 3 : count > q2 ? 2 : count > q1 ? 1 : 0;
        code |= level << (j * 2);
      }
      // The body is written last bucket group first.
      out[3 + CODE_SIZE - 1 - i] = code;
    }
    return `T1${Buffer.from(out).toString('hex').toUpperCase()}`;
  }
}

function swapNibbles(byte: number): number {
  return ((byte & 0x0f) << 4) | (byte >> 4);
}

/** TLSH's logarithmic length code (`l_capturing`), in single precision as the C library computes it. */
function lengthCode(length: number): number {
  const log = Math.fround(Math.log(Math.fround(length)));
  let code: number;
  if (length <= 656) code = Math.floor(log / 0.4054651);
  else if (length <= 3199) code = Math.floor(log / 0.26236426 - 8.72777);
  else code = Math.floor(log / 0.09531018 - 62.5472);
  return code & 0xff;
}

/** `(unsigned) ((float) (q * 100) / (float) q3) % 16`, the 32-bit product wrapping as in C. */
function quartileRatio(q: number, q3: number): number {
  const ratio = Math.fround(Math.fround(Math.imul(q, 100) >>> 0) / Math.fround(q3));
  return Math.trunc(ratio) % 16;
}
