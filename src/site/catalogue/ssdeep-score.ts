/**
 * The ssdeep match score (`fuzzy_compare` of ssdeep 2.14): 0 (no match) to 100 between two
 * signatures `blocksize:hash1:hash2`, integer arithmetic as there.
 */

const SPAMSUM_LENGTH = 64;
const ROLLING_WINDOW = 7;
const MIN_BLOCKSIZE = 3;

interface Signature {
  readonly blockSize: number;
  readonly first: string;
  readonly second: string;
}

const SIGNATURE = /^(\d{1,10}):([0-9A-Za-z+/]{0,64}):([0-9A-Za-z+/]{0,64})(?:,.*)?$/s;

/** Whether the text is an ssdeep signature (`blocksize:hash1:hash2`). */
export function isSsdeepSignature(text: string): boolean {
  return SIGNATURE.test(text);
}

function parse(text: string): Signature | undefined {
  const match = SIGNATURE.exec(text);
  if (match === null) return undefined;
  return {
    blockSize: Number(match[1]),
    first: eliminateSequences(match[2]!),
    second: eliminateSequences(match[3]!),
  };
}

/** Runs of more than three equal characters count as three (they carry little information). */
function eliminateSequences(hash: string): string {
  let out = '';
  for (let i = 0; i < hash.length; i++) {
    if (i >= 3 && hash[i] === hash[i - 1] && hash[i] === hash[i - 2] && hash[i] === hash[i - 3]) continue;
    out += hash[i];
  }
  return out;
}

/**
 * The score of two signatures, or `undefined` when one is not an ssdeep signature. Block sizes
 * that are neither equal nor double score 0, as in ssdeep.
 */
export function ssdeepScore(a: string, b: string): number | undefined {
  const s1 = parse(a);
  const s2 = parse(b);
  if (s1 === undefined || s2 === undefined) return undefined;
  const b1 = s1.blockSize;
  const b2 = s2.blockSize;
  if (b1 !== b2 && b1 * 2 !== b2 && (b1 % 2 === 1 || Math.floor(b1 / 2) !== b2)) return 0;
  if (b1 === b2 && s1.first === s2.first && s1.second === s2.second) return 100;
  if (b1 === b2) {
    return Math.max(scoreStrings(s1.first, s2.first, b1), scoreStrings(s1.second, s2.second, b1 * 2));
  }
  if (b1 * 2 === b2) return scoreStrings(s2.first, s1.second, b2);
  return scoreStrings(s1.first, s2.second, b1);
}

function scoreStrings(s1: string, s2: string, blockSize: number): number {
  if (s1.length > SPAMSUM_LENGTH || s2.length > SPAMSUM_LENGTH) return 0;
  if (!hasCommonSubstring(s1, s2)) return 0;
  let score = editDistance(s1, s2);
  score = Math.floor((score * SPAMSUM_LENGTH) / (s1.length + s2.length));
  score = Math.floor((100 * score) / SPAMSUM_LENGTH);
  score = 100 - score;
  // A small block size would overstate the match of short hashes.
  const cap = Math.floor(blockSize / MIN_BLOCKSIZE) * Math.min(s1.length, s2.length);
  if (blockSize >= Math.floor((99 + ROLLING_WINDOW) / ROLLING_WINDOW) * MIN_BLOCKSIZE) return score;
  return Math.min(score, cap);
}

/** Whether the strings share a substring of the rolling window's length (7). */
function hasCommonSubstring(s1: string, s2: string): boolean {
  if (s1.length < ROLLING_WINDOW || s2.length < ROLLING_WINDOW) return false;
  const windows = new Set<string>();
  for (let i = 0; i + ROLLING_WINDOW <= s1.length; i++) windows.add(s1.slice(i, i + ROLLING_WINDOW));
  for (let j = 0; j + ROLLING_WINDOW <= s2.length; j++) {
    if (windows.has(s2.slice(j, j + ROLLING_WINDOW))) return true;
  }
  return false;
}

/** Levenshtein distance with a substitution costing 2 (an insertion and a deletion), as ssdeep's. */
function editDistance(s1: string, s2: string): number {
  let previous = Array.from({ length: s2.length + 1 }, (_, j) => j);
  for (let i = 1; i <= s1.length; i++) {
    const current = [i];
    for (let j = 1; j <= s2.length; j++) {
      const replace = previous[j - 1]! + (s1[i - 1] === s2[j - 1] ? 0 : 2);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, replace);
    }
    previous = current;
  }
  return previous[s2.length]!;
}
