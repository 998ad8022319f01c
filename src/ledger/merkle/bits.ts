/**
 * Bit arithmetic on tree sizes and indexes. JavaScript's bitwise operators truncate to 32 bits and
 * logs outgrow that, so everything here is plain arithmetic, exact for safe integers because
 * multiplying or dividing by a power of two never rounds.
 */

const TWO_TO_32 = 2 ** 32;

function popCount32(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** The number of set bits of a non-negative safe integer. */
export function popCount(x: number): number {
  return popCount32(x % TWO_TO_32) + popCount32(Math.floor(x / TWO_TO_32));
}

/** The number of trailing one bits of a non-negative safe integer. */
export function trailingOnes(x: number): number {
  let count = 0;
  for (let v = x; v % 2 === 1; v = (v - 1) / 2) count++;
  return count;
}

/** The largest power of two not above `n` (n ≥ 1). */
export function largestPowerOfTwoAtMost(n: number): number {
  let k = 1;
  while (k * 2 <= n) k *= 2;
  return k;
}

/** The largest power of two strictly smaller than `n` (n ≥ 2): RFC 6962 §2.1's split point k. */
export function largestPowerOfTwoBelow(n: number): number {
  return largestPowerOfTwoAtMost(n - 1);
}

/** log2 of a power of two, exactly. */
export function exponentOf(powerOfTwo: number): number {
  let exponent = 0;
  for (let k = powerOfTwo; k > 1; k /= 2) exponent++;
  return exponent;
}

/** The largest power of two dividing `x`, or Infinity for 0. */
export function lowestSetBit(x: number): number {
  if (x === 0) return Number.POSITIVE_INFINITY;
  let k = 1;
  while ((x / k) % 2 === 0) k *= 2;
  return k;
}

export function isPowerOfTwo(x: number): boolean {
  return x > 0 && lowestSetBit(x) === x;
}
