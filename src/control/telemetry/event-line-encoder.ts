import type { RowWriter } from './row-writer.js';

/**
 * The fast path of `parseEventBatch`: reads one NDJSON line as bytes and, when it is a plain
 * event, writes its row of the store's load format without building a string or an object.
 * "Plain" is what products send: one flat object of known members, ASCII strings without
 * escapes (or null), the time as `YYYY-MM-DDTHH:MM:SS[.mmm]Z`. It accepts only lines that
 * `validateEvent` accepts and writes exactly the row `encodeEventRow` would; anything else
 * (every invalid line included) returns -1 and takes the general path, which decides and
 * words the rejection. A property test holds the two paths to the same rows.
 *
 * Byte loops rather than `Buffer.copy` for short values: a copy costs ~50 ns to set up (and
 * a view object for the collector), a loop ~1.5 ns a byte.
 */

export interface LineWindow {
  /** Oldest and newest accepted event times, in ms since the epoch. */
  readonly oldestMs: number;
  readonly newestMs: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const FIELD = 0x1f;
const NEWLINE = 0x0a;

const TS = 0;
const INSTALLATION = 1;
const TYPE = 2;
const SHA256 = 3;
const MD5 = 4;
const VERDICT = 5;
const THREAT = 6;
const PRODUCT = 7;
const OS = 8;
const COUNTRY = 9;
const MEMBERS = 10;

const KEYS: readonly (readonly [string, number])[] = [
  ['ts', TS],
  ['installation', INSTALLATION],
  ['type', TYPE],
  ['sha256', SHA256],
  ['md5', MD5],
  ['verdict', VERDICT],
  ['threat', THREAT],
  ['product', PRODUCT],
  ['os', OS],
  ['country', COUNTRY],
];
/** Each member's name, by member number. */
const KEY_BYTES: readonly Buffer[] = KEYS.map(([name]) => Buffer.from(name, 'latin1'));
/** Member numbers by the first byte of their names. */
const KEYS_BY_FIRST: (number[] | undefined)[] = [];
for (const [name, index] of KEYS) {
  const first = name.charCodeAt(0);
  KEYS_BY_FIRST[first] = [...(KEYS_BY_FIRST[first] ?? []), index];
}
const TYPE_BYTES = ['detection', 'scan', 'lookup', 'update'].map((t) => Buffer.from(t, 'latin1'));
const TEXT_LIMIT: Record<number, number> = { [THREAT]: 256, [PRODUCT]: 64, [OS]: 64 };
/** The value lengths of fixed-width members (0: any); their writers check every byte. */
const FIXED_LENGTH: Record<number, number> = { [INSTALLATION]: 36, [SHA256]: 64, [MD5]: 32 };

/** Bytes that may stand in a plain string: printable ASCII but the quote and the backslash. */
const PLAIN = new Uint8Array(256);
for (let c = 0x20; c < 0x7f; c += 1) PLAIN[c] = c === QUOTE || c === BACKSLASH ? 0 : 1;
/** Each hex digit in lower case; 0 for any other byte. */
const LOWER_HEX = new Uint8Array(256);
for (const c of Buffer.from('0123456789abcdef', 'latin1')) LOWER_HEX[c] = c;
for (const c of Buffer.from('ABCDEF', 'latin1')) LOWER_HEX[c] = c | 0x20;

/** Member value spans of the line being read: start, end; start -1 absent, -2 null. */
const spans = new Int32Array(2 * MEMBERS);

/**
 * Writes the line's row into `out`: `ts`, `installation`, `type`, a two-byte placeholder for
 * `country`, then `sha256` … `os`, separated by U+001F and ended by a newline. Returns the
 * placeholder's offset, or -1 (nothing written).
 */
export function encodePlainLine(
  body: Buffer,
  from: number,
  end: number,
  window: LineWindow,
  out: RowWriter,
): number {
  if (!readMembers(body, from, end)) return -1;
  if (spans[2 * TS]! < 0 || spans[2 * INSTALLATION]! < 0 || spans[2 * TYPE]! < 0) return -1;
  out.reserve(end - from + 64);
  const o = out.bytes;
  let at = writeTimestamp(body, spans[2 * TS]!, spans[2 * TS + 1]!, window, o, out.length);
  if (at < 0) return -1;
  o[at++] = FIELD;
  at = writeHex(body, INSTALLATION, o, at);
  if (at < 0) return -1;
  o[at++] = FIELD;
  at = writeType(body, spans[2 * TYPE]!, spans[2 * TYPE + 1]!, o, at);
  if (at < 0) return -1;
  o[at++] = FIELD;
  const country = at;
  o[at++] = 0x20;
  o[at++] = 0x20;
  o[at++] = FIELD;
  at = writeHex(body, SHA256, o, at);
  if (at < 0) return -1;
  o[at++] = FIELD;
  at = writeHex(body, MD5, o, at);
  if (at < 0) return -1;
  o[at++] = FIELD;
  at = writeVerdict(body, o, at);
  if (at < 0) return -1;
  o[at++] = FIELD;
  at = writeText(body, THREAT, o, at);
  if (at < 0) return -1;
  o[at++] = FIELD;
  at = writeText(body, PRODUCT, o, at);
  if (at < 0) return -1;
  o[at++] = FIELD;
  at = writeText(body, OS, o, at);
  if (at < 0) return -1;
  o[at++] = NEWLINE;
  out.length = at;
  return country;
}

/** Fills `spans` from a flat object of known members with plain string or null values. */
function readMembers(b: Buffer, from: number, end: number): boolean {
  spans.fill(-1);
  let i = skipSpace(b, from, end);
  if (byteAt(b, i, end) !== 0x7b) return false; // {
  i += 1;
  for (;;) {
    i = skipSpace(b, i, end);
    if (byteAt(b, i, end) !== QUOTE) return false;
    const member = memberAt(b, i + 1, end);
    if (member < 0 || spans[2 * member] !== -1) return false; // unknown or repeated
    i = skipSpace(b, i + 1 + KEY_BYTES[member]!.length + 1, end);
    if (byteAt(b, i, end) !== 0x3a) return false; // :
    i = skipSpace(b, i + 1, end);
    const c = byteAt(b, i, end);
    if (c === QUOTE) {
      const valueEnd = valueEndOf(member, b, i + 1, end);
      if (valueEnd < 0) return false;
      spans[2 * member] = i + 1;
      spans[2 * member + 1] = valueEnd;
      i = valueEnd + 1;
    } else if (c === 0x6e && byteAt(b, i + 3, end) === 0x6c && b[i + 1] === 0x75 && b[i + 2] === 0x6c) {
      spans[2 * member] = -2; // null
      i += 4;
    } else {
      return false;
    }
    i = skipSpace(b, i, end);
    const next = byteAt(b, i, end);
    if (next === 0x2c) {
      i += 1;
      continue;
    }
    if (next !== 0x7d) return false; // }
    return skipSpace(b, i + 1, end) === end;
  }
}

/**
 * Where a member's string value ends. Fixed-width values are only looked for at their width
 * (their writers then check that every byte is a hex digit or dash, so no quote or
 * backslash hides inside); other widths take the general path.
 */
function valueEndOf(member: number, b: Buffer, start: number, end: number): number {
  const fixed = FIXED_LENGTH[member];
  if (fixed !== undefined) return start + fixed < end && b[start + fixed] === QUOTE ? start + fixed : -1;
  if (member === TS) {
    if (start + 24 < end && b[start + 24] === QUOTE) return start + 24;
    return start + 20 < end && b[start + 20] === QUOTE ? start + 20 : -1;
  }
  return plainStringEnd(b, start, end);
}

/** Bytes are read through this in `readMembers`: the next line's bytes follow `end`. */
function byteAt(b: Buffer, i: number, end: number): number {
  return i < end ? b[i]! : -1;
}

/** JSON's white space: space, tab, CR, LF. */
function skipSpace(b: Buffer, i: number, end: number): number {
  while (i < end) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d && c !== 0x0a) break;
    i += 1;
  }
  return i;
}

/** The closing quote of a string of printable ASCII without escapes, or -1. */
function plainStringEnd(b: Buffer, i: number, end: number): number {
  for (; i < end; i += 1) {
    const c = b[i]!;
    if (c === QUOTE) return i;
    if (PLAIN[c] === 0) return -1;
  }
  return -1;
}

/** The member whose quoted name starts at `start` (its opening quote before it), or -1. */
function memberAt(b: Buffer, start: number, end: number): number {
  const candidates = KEYS_BY_FIRST[byteAt(b, start, end) & 0xff];
  if (candidates === undefined) return -1;
  for (const member of candidates) {
    const key = KEY_BYTES[member]!;
    if (start + key.length < end && b[start + key.length] === QUOTE && sameBytes(b, start, key))
      return member;
  }
  return -1;
}

function sameBytes(b: Buffer, start: number, word: Buffer): boolean {
  for (let k = 0; k < word.length; k += 1) if (b[start + k] !== word[k]) return false;
  return true;
}

function digits(b: Buffer, at: number, count: number): number {
  let value = 0;
  for (let k = 0; k < count; k += 1) {
    const d = b[at + k]! - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** `YYYY-MM-DDTHH:MM:SS[.mmm]Z` within the window, written as `YYYY-MM-DD HH:MM:SS.mmm`. */
function writeTimestamp(b: Buffer, s: number, e: number, window: LineWindow, o: Buffer, at: number): number {
  const length = e - s;
  if (length !== 20 && length !== 24) return -1;
  if (b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || b[s + 10] !== 0x54) return -1; // - - T
  if (b[s + 13] !== 0x3a || b[s + 16] !== 0x3a || b[e - 1] !== 0x5a) return -1; // : : Z
  if (length === 24 && b[s + 19] !== 0x2e) return -1; // .
  const year = digits(b, s, 4);
  const month = digits(b, s + 5, 2);
  const day = digits(b, s + 8, 2);
  const hour = digits(b, s + 11, 2);
  const minute = digits(b, s + 14, 2);
  const second = digits(b, s + 17, 2);
  const milli = length === 24 ? digits(b, s + 20, 3) : 0;
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23) return -1;
  if (minute < 0 || minute > 59 || second < 0 || second > 59 || milli < 0) return -1;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > MONTH_DAYS[month - 1]! + (month === 2 && leap ? 1 : 0)) return -1;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second, milli);
  if (ms > window.newestMs || ms < window.oldestMs) return -1;
  for (let k = 0; k < 19; k += 1) o[at + k] = b[s + k]!;
  o[at + 10] = 0x20;
  o[at + 19] = 0x2e;
  if (length === 24) {
    o[at + 20] = b[s + 20]!;
    o[at + 21] = b[s + 21]!;
    o[at + 22] = b[s + 22]!;
  } else {
    o[at + 20] = 0x30;
    o[at + 21] = 0x30;
    o[at + 22] = 0x30;
  }
  return at + 23;
}

function writeType(b: Buffer, s: number, e: number, o: Buffer, at: number): number {
  for (const type of TYPE_BYTES) {
    if (type.length === e - s && sameBytes(b, s, type)) {
      for (let k = 0; k < type.length; k += 1) o[at + k] = type[k]!;
      return at + type.length;
    }
  }
  return -1;
}

/**
 * A fixed-width member in lower case: hex digits, and for the installation (a UUID) dashes
 * at 8, 13, 18 and 23. Nothing when null or absent (both optional hashes).
 */
function writeHex(b: Buffer, member: number, o: Buffer, at: number): number {
  const s = spans[2 * member]!;
  if (s < 0) return at;
  const length = spans[2 * member + 1]! - s;
  if (member === INSTALLATION) {
    if (b[s + 8] !== 0x2d || b[s + 13] !== 0x2d || b[s + 18] !== 0x2d || b[s + 23] !== 0x2d) return -1;
    o[at + 8] = 0x2d;
    o[at + 13] = 0x2d;
    o[at + 18] = 0x2d;
    o[at + 23] = 0x2d;
  }
  for (let k = 0; k < length; k += 1) {
    if (member === INSTALLATION && (k === 8 || k === 13 || k === 18 || k === 23)) continue;
    const h = LOWER_HEX[b[s + k]!]!;
    if (h === 0) return -1;
    o[at + k] = h;
  }
  return at + length;
}

/** `^[a-z][a-z0-9_-]{0,31}$` after lower-casing. */
function writeVerdict(b: Buffer, o: Buffer, at: number): number {
  const s = spans[2 * VERDICT]!;
  if (s < 0) return at;
  const length = spans[2 * VERDICT + 1]! - s;
  if (length < 1 || length > 32) return -1;
  for (let k = 0; k < length; k += 1) {
    let c = b[s + k]!;
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    const letter = c >= 0x61 && c <= 0x7a;
    if (!letter && (k === 0 || !((c >= 0x30 && c <= 0x39) || c === 0x5f || c === 0x2d))) return -1;
    o[at + k] = c;
  }
  return at + length;
}

/** Free text of 1 to its limit characters (printable ASCII here, checked while reading). */
function writeText(b: Buffer, member: number, o: Buffer, at: number): number {
  const s = spans[2 * member]!;
  if (s < 0) return at;
  const length = spans[2 * member + 1]! - s;
  if (length < 1 || length > TEXT_LIMIT[member]!) return -1;
  if (length > 32) return at + b.copy(o, at, s, s + length);
  for (let k = 0; k < length; k += 1) o[at + k] = b[s + k]!;
  return at + length;
}
