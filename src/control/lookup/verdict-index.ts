import { DigestIndex } from './digest-index.js';
import {
  DIGEST_BYTES,
  formatSeenTime,
  type IndexedVerdict,
  MAX_THREAT_ID,
  VERDICT_BY_CODE,
  VERDICT_CODE,
  VERDICT_HASH_KINDS,
  type VerdictHashKind,
  type VerdictName,
} from './verdict.js';
import type { IndexSink } from './verdict-store.js';

export interface LookupAnswer {
  readonly hash: string;
  readonly verdict: VerdictName | 'unknown';
  readonly threat: string | null;
  readonly firstSeen: string | null;
}

export interface LookupItemError {
  readonly hash: string;
  readonly error: 'MALFORMED_HASH';
  readonly detail: string;
}

/** Direct-mapped cache of formatted first-seen times: feeds repeat dates, and toISOString is costly. */
const SEEN_CACHE = 4096;
/**
 * The cache slot of a time: a multiplicative hash (the top 12 bits), since `seconds % 4096`
 * put every midnight (a feed giving dates only) in one of 32 slots (86,400 = 2^7 × 675).
 */
const seenSlot = (seconds: number) => Math.imul(seconds, 0x9e3779b1) >>> 20;
const seenKeys = new Float64Array(SEEN_CACHE).fill(-1);
const seenTexts: string[] = new Array<string>(SEEN_CACHE).fill('');
/** The length of a first-seen time, `YYYY-MM-DDTHH:MM:SSZ` (ASCII: a character a byte). */
const SEEN_LENGTH = 20;
/** The same texts as bytes, SEEN_LENGTH a slot, for the batch answer. */
const seenBytes = new Uint8Array(SEEN_CACHE * SEEN_LENGTH);

function seenSlotOf(seconds: number): number {
  const slot = seenSlot(seconds);
  if (seenKeys[slot] !== seconds) {
    seenKeys[slot] = seconds;
    const text = formatSeenTime(seconds);
    seenTexts[slot] = text;
    for (let i = 0; i < SEEN_LENGTH; i += 1) seenBytes[slot * SEEN_LENGTH + i] = text.charCodeAt(i);
  }
  return slot;
}

function seenText(seconds: number): string {
  return seenTexts[seenSlotOf(seconds)]!;
}

/** Writes the first-seen time of `seconds` and the line's end (`"}` LF) at `at`; returns where it ends. */
function writeSeenEnd(out: Uint8Array, at: number, seconds: number): number {
  const from = seenSlotOf(seconds) * SEEN_LENGTH;
  for (let i = 0; i < SEEN_LENGTH; i += 1) out[at + i] = seenBytes[from + i]!;
  out[at + SEEN_LENGTH] = QUOTE;
  out[at + SEEN_LENGTH + 1] = CLOSE_BRACE;
  out[at + SEEN_LENGTH + 2] = LF;
  return at + SEEN_LENGTH + 3;
}

/**
 * Copies `piece` into `out` at `at`; returns where it ends. A loop: the pieces are tens of
 * bytes, for which `set` costs more in its call than in copying.
 */
function copyInto(out: Uint8Array, at: number, piece: Uint8Array): number {
  const length = piece.length;
  for (let i = 0; i < length; i += 1) out[at + i] = piece[i]!;
  return at + length;
}

/**
 * The length of the line at `start` when it is 32, 40 or 64 bytes followed by its end (LF,
 * CR LF, or a CR or nothing at the body's end); 0 when none is. Whether those bytes are hex
 * digits (and so hold no LF) is for the caller to check.
 */
function digestLineLength(bytes: Uint8Array, start: number, end: number): number {
  for (const length of DIGEST_LINE_LENGTHS) {
    const at = start + length;
    if (at > end) return 0;
    if (at === end) return length;
    const byte = bytes[at];
    if (byte === LF) return length;
    if (byte === CR && (at + 1 === end || bytes[at + 1] === LF)) return length;
  }
  return 0;
}

const MALFORMED_DETAIL = 'expected an MD5, SHA-1 or SHA-256 digest in hex';
const THREAT_MASK = 0x3fffffff;
const UNKNOWN_MEMBERS = '"verdict":"unknown","threat":null,"firstSeen":null';
const UNKNOWN_LINE = `{${UNKNOWN_MEMBERS}}\n`;

/** Pre-encoded unknown line of a batch answer (see {@link VerdictIndex.answerLines}). */
const UNKNOWN_LINE_BYTES = Buffer.from(UNKNOWN_LINE);
/** Room for a line but its head (which is measured): the unknown line, or a seen time and end. */
const LINE_ROOM = 96;
const CR = 0x0d;
const LF = 0x0a;
const QUOTE = 0x22;
const CLOSE_BRACE = 0x7d;
/** Hex lengths of MD5, SHA-1 and SHA-256, shortest first. */
const DIGEST_LINE_LENGTHS = [32, 40, 64] as const;

/**
 * The look-up side: one {@link DigestIndex} per hash kind, and the threat-name table the
 * packed values point into (`verdict << 30 | threat id`). Look-ups allocate nothing per hash
 * beyond the answer itself.
 */
export class VerdictIndex implements IndexSink {
  readonly #tables: Record<VerdictHashKind, DigestIndex>;
  readonly #threats: string[] = [''];
  /** JSON text of each threat name (`null` for none), ready for the NDJSON answer. */
  readonly #threatJson: string[] = ['null'];
  /**
   * The start of a known hash's NDJSON line, `{"verdict":…,"threat":…,"firstSeen":"`, as
   * UTF-8 bytes per threat id × 4 + verdict code, encoded on first use by a batch answer.
   */
  #lineHeads: (Uint8Array | undefined)[] = [];

  constructor(counts: Readonly<Record<VerdictHashKind, number>> = { md5: 0, sha1: 0, sha256: 0 }) {
    this.#tables = {
      md5: new DigestIndex(DIGEST_BYTES.md5, counts.md5),
      sha1: new DigestIndex(DIGEST_BYTES.sha1, counts.sha1),
      sha256: new DigestIndex(DIGEST_BYTES.sha256, counts.sha256),
    };
  }

  get size(): number {
    return VERDICT_HASH_KINDS.reduce((sum, kind) => sum + this.#tables[kind].size, 0);
  }

  /** Bytes of the digest tables (the threat names are apart). */
  get byteLength(): number {
    return VERDICT_HASH_KINDS.reduce((sum, kind) => sum + this.#tables[kind].byteLength, 0);
  }

  get threatHigh(): number {
    return this.#threats.length - 1;
  }

  addThreats(threats: readonly { id: number; name: string }[]): void {
    // A renamed threat changes the heads built from it: build them again on use.
    if (threats.length > 0) this.#lineHeads = [];
    for (const { id, name } of threats) {
      if (id > MAX_THREAT_ID) throw new RangeError('too many threat names for the index');
      this.#threats[id] = name;
      this.#threatJson[id] = name === '' ? 'null' : JSON.stringify(name);
    }
  }

  reserve(counts: Readonly<Record<VerdictHashKind, number>>): void {
    for (const kind of VERDICT_HASH_KINDS) this.#tables[kind].reserve(counts[kind]);
  }

  /** Rows in ascending digest order per kind (a store scan): placed without searching. */
  appendSorted(rows: readonly IndexedVerdict[]): void {
    for (const row of rows) this.#tables[row.kind].appendSorted(row.digest, pack(row), row.firstSeen);
  }

  apply(rows: readonly IndexedVerdict[]): void {
    for (const row of rows) this.#tables[row.kind].set(row.digest, pack(row), row.firstSeen);
  }

  /** The answer for one hash in hex, or a per-item error when it is not MD5, SHA-1 or SHA-256. */
  lookup(text: string): LookupAnswer | LookupItemError {
    const table = this.#tableFor(text);
    if (table === undefined || !table.loadHex(text)) {
      return { hash: text, error: 'MALFORMED_HASH', detail: MALFORMED_DETAIL };
    }
    const hash = text.toLowerCase();
    const slot = table.findLoaded();
    if (slot < 0) return { hash, verdict: 'unknown', threat: null, firstSeen: null };
    const value = table.valueAt(slot);
    const threat = this.#threats[value & THREAT_MASK] ?? '';
    return {
      hash,
      verdict: VERDICT_BY_CODE[value >>> 30] ?? 'suspicious',
      threat: threat === '' ? null : threat,
      firstSeen: seenText(table.firstSeenAt(slot)),
    };
  }

  /**
   * The answer as one NDJSON line (with its newline), built as text: the batch fast path. The
   * line leaves out the hash, which the caller sent on the same line number: half the bytes
   * to write and to read. A malformed line is echoed, since it cannot be looked up anyway.
   */
  lookupLine(text: string): string {
    const table = this.#tableFor(text);
    if (table === undefined || !table.loadHex(text)) {
      return `{"hash":${JSON.stringify(text)},"error":"MALFORMED_HASH","detail":"${MALFORMED_DETAIL}"}\n`;
    }
    const slot = table.findLoaded();
    if (slot < 0) return UNKNOWN_LINE;
    return `{${this.#members(table, slot)}}\n`;
  }

  /**
   * The NDJSON answer to a text/plain batch, as bytes: the same lines {@link lookupLine} gives
   * for each line of `body` (split at LF, one CR before it dropped, a final line break starting
   * no empty line), written from pre-encoded pieces into one Buffer: no string and no object
   * per hash, and one write for the socket. `undefined` when `body` holds more than `maxLines`
   * lines. Read as bytes (the fast path hands over the request body as it came); text is
   * encoded as UTF-8 first, and a malformed line is decoded again to be echoed.
   */
  answerLines(body: string | Buffer, maxLines: number): Buffer | undefined {
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const end = bytes.length;
    let out: Buffer = Buffer.allocUnsafe(Math.ceil(end / 65 + 1) * LINE_ROOM);
    let at = 0;
    let lines = 0;
    for (let start = 0; start < end; ) {
      // Most lines are a digest: try each length's line end before searching for the break.
      const length = digestLineLength(bytes, start, end);
      let table = length === 0 ? undefined : this.#tableForLength(length);
      let next: number;
      let stop: number;
      if (table?.loadHexBytes(bytes, start)) {
        stop = start + length;
        next = stop < end && bytes[stop] === CR ? stop + 1 : stop;
      } else {
        table = undefined;
        next = bytes.indexOf(LF, start);
        if (next < 0) next = end;
        stop = next > start && bytes[next - 1] === CR ? next - 1 : next;
      }
      lines += 1;
      if (lines > maxLines) return undefined;
      if (table === undefined) {
        const line = Buffer.from(this.lookupLine(bytes.toString('utf8', start, stop)));
        if (out.length - at < line.length) out = grown(out, at, line.length);
        at += line.copy(out, at);
      } else {
        const slot = table.findLoaded();
        if (out.length - at < LINE_ROOM) out = grown(out, at, LINE_ROOM);
        if (slot < 0) {
          at = copyInto(out, at, UNKNOWN_LINE_BYTES);
        } else {
          const value = table.valueAt(slot);
          const key = (value & THREAT_MASK) * 4 + (value >>> 30);
          const head = this.#lineHeads[key] ?? this.#encodeLineHead(key);
          if (out.length - at < LINE_ROOM + head.length) out = grown(out, at, LINE_ROOM + head.length);
          at = writeSeenEnd(out, copyInto(out, at, head), table.firstSeenAt(slot));
        }
      }
      start = next + 1;
    }
    return out.subarray(0, at);
  }

  /** The line head of a threat id × 4 + verdict code, kept for the next line. */
  #encodeLineHead(key: number): Uint8Array {
    const head = Buffer.from(
      `{"verdict":"${VERDICT_BY_CODE[key % 4]}","threat":${this.#threatJson[Math.floor(key / 4)] ?? 'null'},"firstSeen":"`,
    );
    this.#lineHeads[key] = head;
    return head;
  }

  /**
   * The answer on one hash as JSON text (`LookupAnswer`), or `undefined` for a malformed hash:
   * the single look-up's fast path, sent without a serializer.
   */
  lookupJson(text: string): string | undefined {
    const table = this.#tableFor(text);
    if (table === undefined || !table.loadHex(text)) return undefined;
    const hash = text.toLowerCase();
    const slot = table.findLoaded();
    if (slot < 0) return `{"hash":"${hash}",${UNKNOWN_MEMBERS}}`;
    return `{"hash":"${hash}",${this.#members(table, slot)}}`;
  }

  /** `"verdict":…,"threat":…,"firstSeen":…` of an occupied slot. */
  #members(table: DigestIndex, slot: number): string {
    const value = table.valueAt(slot);
    return `"verdict":"${VERDICT_BY_CODE[value >>> 30]}","threat":${this.#threatJson[value & THREAT_MASK] ?? 'null'},"firstSeen":"${seenText(table.firstSeenAt(slot))}"`;
  }

  #tableFor(text: string): DigestIndex | undefined {
    return this.#tableForLength(text.length);
  }

  #tableForLength(hexDigits: number): DigestIndex | undefined {
    switch (hexDigits) {
      case 32:
        return this.#tables.md5;
      case 40:
        return this.#tables.sha1;
      case 64:
        return this.#tables.sha256;
      default:
        return undefined;
    }
  }
}

/** A copy of `out`'s first `used` bytes with room for `more` after them. */
function grown(out: Buffer, used: number, more: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(out.length * 2, used + more));
  out.copy(next, 0, 0, used);
  return next;
}

function pack(row: IndexedVerdict): number {
  return ((VERDICT_CODE[row.verdict] << 30) | row.threatId) >>> 0;
}
