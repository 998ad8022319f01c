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

function seenText(seconds: number): string {
  const slot = seenSlot(seconds);
  if (seenKeys[slot] !== seconds) {
    seenKeys[slot] = seconds;
    seenTexts[slot] = formatSeenTime(seconds);
  }
  return seenTexts[slot]!;
}

/** The length of a first-seen time, `YYYY-MM-DDTHH:MM:SSZ` (ASCII: a character a byte). */
const SEEN_LENGTH = 20;

/** Writes the first-seen time of `seconds` at `at` of `out`; returns where it ends. */
function writeSeen(out: Uint8Array, at: number, seconds: number): number {
  const text = seenText(seconds);
  for (let i = 0; i < SEEN_LENGTH; i += 1) out[at + i] = text.charCodeAt(i);
  return at + SEEN_LENGTH;
}

const MALFORMED_DETAIL = 'expected an MD5, SHA-1 or SHA-256 digest in hex';
const THREAT_MASK = 0x3fffffff;
const UNKNOWN_MEMBERS = '"verdict":"unknown","threat":null,"firstSeen":null';
const UNKNOWN_LINE = `{${UNKNOWN_MEMBERS}}\n`;

/** Pre-encoded pieces of a batch answer's lines (see {@link VerdictIndex.answerLines}). */
const UNKNOWN_LINE_BYTES = Buffer.from(UNKNOWN_LINE);
const VERDICT_HEAD_BYTES = VERDICT_BY_CODE.map((name) => Buffer.from(`{"verdict":"${name}","threat":`));
const SEEN_HEAD_BYTES = Buffer.from(',"firstSeen":"');
const LINE_END_BYTES = Buffer.from('"}\n');
const NULL_BYTES = Buffer.from('null');
/** Room for a known hash's line but its threat name (which is measured): head, seen time, ends. */
const LINE_ROOM = 96;
const CR = 0x0d;

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
  /** The same as UTF-8 bytes, encoded on first use by a batch answer. */
  readonly #threatBytes: (Buffer | undefined)[] = [NULL_BYTES];

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
    for (const { id, name } of threats) {
      if (id > MAX_THREAT_ID) throw new RangeError('too many threat names for the index');
      this.#threats[id] = name;
      this.#threatJson[id] = name === '' ? 'null' : JSON.stringify(name);
      this.#threatBytes[id] = undefined;
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
   * for each line of `text` (split at LF, one CR before it dropped, a final line break starting
   * no empty line), written from pre-encoded pieces into one Buffer: no string and no object
   * per hash, and one write for the socket. `undefined` when `text` holds more than `maxLines`
   * lines.
   */
  answerLines(text: string, maxLines: number): Buffer | undefined {
    let out: Buffer = Buffer.allocUnsafe(Math.ceil(text.length / 65 + 1) * LINE_ROOM);
    let at = 0;
    let lines = 0;
    const end = text.length;
    for (let start = 0; start < end; ) {
      let next = text.indexOf('\n', start);
      if (next < 0) next = end;
      const stop = next > start && text.charCodeAt(next - 1) === CR ? next - 1 : next;
      lines += 1;
      if (lines > maxLines) return undefined;
      const table = this.#tableForLength(stop - start);
      if (table === undefined || !table.loadHex(text, start)) {
        const line = Buffer.from(this.lookupLine(text.slice(start, stop)));
        if (out.length - at < line.length) out = grown(out, at, line.length);
        out.set(line, at);
        at += line.length;
      } else {
        const slot = table.findLoaded();
        if (slot < 0) {
          if (out.length - at < UNKNOWN_LINE_BYTES.length) out = grown(out, at, UNKNOWN_LINE_BYTES.length);
          out.set(UNKNOWN_LINE_BYTES, at);
          at += UNKNOWN_LINE_BYTES.length;
        } else {
          const value = table.valueAt(slot);
          const threatId = value & THREAT_MASK;
          const threat = this.#threatBytes[threatId] ?? this.#encodeThreat(threatId);
          if (out.length - at < LINE_ROOM + threat.length) out = grown(out, at, LINE_ROOM + threat.length);
          const head = VERDICT_HEAD_BYTES[value >>> 30]!;
          out.set(head, at);
          at += head.length;
          out.set(threat, at);
          at += threat.length;
          out.set(SEEN_HEAD_BYTES, at);
          at = writeSeen(out, at + SEEN_HEAD_BYTES.length, table.firstSeenAt(slot));
          out.set(LINE_END_BYTES, at);
          at += LINE_END_BYTES.length;
        }
      }
      start = next + 1;
    }
    return out.subarray(0, at);
  }

  #encodeThreat(id: number): Buffer {
    const bytes = Buffer.from(this.#threatJson[id] ?? 'null');
    this.#threatBytes[id] = bytes;
    return bytes;
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
