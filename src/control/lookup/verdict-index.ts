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
const seenKeys = new Float64Array(SEEN_CACHE).fill(-1);
const seenTexts: string[] = new Array<string>(SEEN_CACHE).fill('');

function seenText(seconds: number): string {
  const slot = seconds % SEEN_CACHE;
  if (seenKeys[slot] !== seconds) {
    seenKeys[slot] = seconds;
    seenTexts[slot] = formatSeenTime(seconds);
  }
  return seenTexts[slot]!;
}

const MALFORMED_DETAIL = 'expected an MD5, SHA-1 or SHA-256 digest in hex';
const THREAT_MASK = 0x3fffffff;
const UNKNOWN_MEMBERS = '"verdict":"unknown","threat":null,"firstSeen":null';
const UNKNOWN_LINE = `{${UNKNOWN_MEMBERS}}\n`;

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
    switch (text.length) {
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

function pack(row: IndexedVerdict): number {
  return ((VERDICT_CODE[row.verdict] << 30) | row.threatId) >>> 0;
}
