/**
 * The TLSH distance (Trend Micro's `Tlsh::totalDiff` with the length component), over digests
 * in the standard form: `T1` and 70 hex digits (128 buckets, a 1-byte checksum), or the 70
 * digits alone as older tools print them.
 */

/** Bytes of a digest's body: 128 buckets of 2 bits. */
export const TLSH_BODY_BYTES = 32;
const TLSH_HEX_DIGITS = 70;
const LENGTH_RANGE = 256;
const QRATIO_RANGE = 16;

/** A parsed digest: the header fields the distance reads, and the body. */
export interface TlshDigest {
  readonly checksum: number;
  /** The log-length bucket. */
  readonly lvalue: number;
  readonly q1: number;
  readonly q2: number;
  readonly body: Uint8Array;
}

const HEX = /^(?:T1)?([0-9A-Fa-f]{70})$/;

/** Whether the text is a TLSH digest of the standard form (128 buckets, 1-byte checksum). */
export function isTlshDigest(text: string): boolean {
  return HEX.test(text);
}

/** The digest's fields; `undefined` for anything that is not a standard TLSH digest (e.g. `TNULL`). */
export function parseTlsh(text: string): TlshDigest | undefined {
  const match = HEX.exec(text);
  if (match === null) return undefined;
  const bytes = Buffer.from(match[1]!, 'hex');
  if (bytes.length * 2 !== TLSH_HEX_DIGITS) return undefined;
  // The header bytes are printed with their nibbles swapped (`swap_byte` in tlsh_impl.cpp).
  const q = swapNibbles(bytes[2]!);
  return {
    checksum: swapNibbles(bytes[0]!),
    lvalue: swapNibbles(bytes[1]!),
    q1: q & 0x0f,
    q2: q >> 4,
    body: new Uint8Array(bytes.subarray(3, 3 + TLSH_BODY_BYTES)),
  };
}

function swapNibbles(byte: number): number {
  return ((byte & 0x0f) << 4) | (byte >> 4);
}

function modDiff(x: number, y: number, range: number): number {
  const d = x > y ? x - y : y - x;
  return Math.min(d, range - d);
}

/** The header's part of the distance from the length buckets alone. */
export function lengthPenalty(a: number, b: number): number {
  const d = modDiff(a, b, LENGTH_RANGE);
  return d <= 1 ? d : d * 12;
}

/** The header's part of the distance from one quartile ratio. */
export function qratioPenalty(a: number, b: number): number {
  const d = modDiff(a, b, QRATIO_RANGE);
  return d <= 1 ? d : (d - 1) * 12;
}

/**
 * Distance between two body bytes (4 buckets of 2 bits each), by the byte pair: `a * 256 + b`.
 * A bucket pair 3 apart counts 6, as TLSH's `h_distance` does.
 */
export const BODY_BYTE_DISTANCE: Uint8Array = (() => {
  const table = new Uint8Array(256 * 256);
  for (let a = 0; a < 256; a++) {
    for (let b = 0; b < 256; b++) {
      let d = 0;
      for (let shift = 0; shift < 8; shift += 2) {
        const diff = Math.abs(((a >> shift) & 3) - ((b >> shift) & 3));
        d += diff === 3 ? 6 : diff;
      }
      table[a * 256 + b] = d;
    }
  }
  return table;
})();

/** The header's part of the distance (length, quartile ratios, checksum). */
export function headerDistance(a: TlshDigest, b: TlshDigest): number {
  return (
    lengthPenalty(a.lvalue, b.lvalue) +
    qratioPenalty(a.q1, b.q1) +
    qratioPenalty(a.q2, b.q2) +
    (a.checksum === b.checksum ? 0 : 1)
  );
}

/**
 * The standard TLSH distance: 0 for identical digests, growing with difference (about 100
 * and more is seldom related), as `tlsh -c A -d B` prints it.
 */
export function tlshDistance(a: TlshDigest, b: TlshDigest): number {
  let d = headerDistance(a, b);
  for (let i = 0; i < TLSH_BODY_BYTES; i++) d += BODY_BYTE_DISTANCE[a.body[i]! * 256 + b.body[i]!]!;
  return d;
}
