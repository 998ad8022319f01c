/**
 * An in-memory map from one kind of binary digest (MD5, SHA-1 or SHA-256) to a packed
 * verdict, in a single preallocated `Uint32Array`: no object or string per entry.
 *
 * Layout: slots of `words + 2` 32-bit words: the digest (its first four bytes stored as a
 * big-endian number, the "prefix"; the rest in native order), the packed value (never 0 in
 * an occupied slot) and the first-seen time. Digests are uniformly random, so the prefix is
 * a perfect hash: the home slot is `floor(prefix × capacity / 2^32)`, a monotone function,
 * and every cluster is kept sorted by prefix (ordered linear probing, the Robin Hood
 * invariant). A look-up scans forward from home and stops at an empty slot or a larger
 * prefix, so a miss costs about as much as a hit even at a high load; a sorted bulk load
 * places every entry in O(1). The table never wraps: a tail of spare slots takes the last
 * cluster's overflow.
 *
 * Capacity is not a power of two, so the table can be sized for the stored count at a load
 * of {@link LOAD_AT_BUILD} (SHA-256: 40-byte slots / 0.85 ≈ 47 bytes a hash).
 */
export const LOAD_AT_BUILD = 0.85;
/** Past this load an insert rebuilds the table at {@link LOAD_AT_BUILD}. */
export const MAX_LOAD = 0.92;
const TAIL_SLOTS = 4096;
const TWO_TO_32 = 4294967296;

/** The value of each ASCII character as a hex digit (either case), -1 for any other. */
const HEX_DIGIT = (() => {
  const table = new Int8Array(128).fill(-1);
  for (let i = 0; i < 10; i += 1) table[0x30 + i] = i;
  for (let i = 0; i < 6; i += 1) {
    table[0x41 + i] = 10 + i;
    table[0x61 + i] = 10 + i;
  }
  return table;
})();

/**
 * The byte value of each pair of ASCII hex digits, indexed by `first << 8 | second` (either
 * case); -1 for any pair that is not two hex digits. One load a digest byte where the digit
 * table takes two and a shift (the batch look-up reads its body through this).
 */
const HEX_PAIR = (() => {
  const table = new Int16Array(65536).fill(-1);
  for (let high = 0; high < 128; high += 1) {
    if (HEX_DIGIT[high]! < 0) continue;
    for (let low = 0; low < 128; low += 1) {
      if (HEX_DIGIT[low]! >= 0) table[(high << 8) | low] = (HEX_DIGIT[high]! << 4) | HEX_DIGIT[low]!;
    }
  }
  return table;
})();

/** -1 for anything but a hex digit, a character past the text's end (NaN) included. */
function hexDigit(code: number): number {
  return code < 128 ? HEX_DIGIT[code]! : -1;
}

export interface IndexedValue {
  /** Non-zero; the caller's packing (verdict and threat id). */
  readonly value: number;
  readonly firstSeen: number;
}

export class DigestIndex {
  /** Digest length in bytes: 16, 20 or 32. */
  readonly bytes: number;
  readonly #words: number;
  readonly #slotWords: number;
  #table: Uint32Array;
  #capacity: number;
  #scale: number;
  #size = 0;
  /** Where the last sorted append went (see {@link appendSorted}). */
  #cursor = 0;
  #lastPrefix = -1;
  /** Scratch for a query digest in the table's word layout. */
  readonly #query: Uint32Array;
  readonly #queryBytes: Buffer;

  constructor(bytes: number, expected = 0) {
    if (bytes % 4 !== 0 || bytes < 8) throw new RangeError('digest length must be a multiple of 4, >= 8');
    this.bytes = bytes;
    this.#words = bytes / 4;
    this.#slotWords = this.#words + 2;
    this.#capacity = capacityFor(expected);
    this.#scale = this.#capacity / TWO_TO_32;
    this.#table = new Uint32Array((this.#capacity + TAIL_SLOTS) * this.#slotWords);
    this.#query = new Uint32Array(this.#words);
    this.#queryBytes = Buffer.from(this.#query.buffer);
  }

  get size(): number {
    return this.#size;
  }

  /** Bytes held by the table. */
  get byteLength(): number {
    return this.#table.byteLength;
  }

  /**
   * Loads the query digest from hex at `offset` of `text` (`bytes × 2` characters, either
   * case). False if they are not all hex digits. Used with {@link findLoaded}: no Buffer, no
   * string and no native call per query.
   */
  loadHex(text: string, offset = 0): boolean {
    const out = this.#queryBytes;
    for (let i = 0, at = offset; i < this.bytes; i += 1, at += 2) {
      const high = hexDigit(text.charCodeAt(at));
      const low = hexDigit(text.charCodeAt(at + 1));
      if ((high | low) < 0) return false;
      out[i] = (high << 4) | low;
    }
    this.#fixPrefix();
    return true;
  }

  /**
   * {@link loadHex} from ASCII bytes: `bytes × 2` hex digits at `offset` of `source`, which
   * must hold them all (the caller checks the line's length).
   */
  loadHexBytes(source: Uint8Array, offset: number): boolean {
    const out = this.#queryBytes;
    for (let i = 0, at = offset; i < this.bytes; i += 1, at += 2) {
      const value = HEX_PAIR[(source[at]! << 8) | source[at + 1]!]!;
      if (value < 0) return false;
      out[i] = value;
    }
    this.#fixPrefix();
    return true;
  }

  /** Loads the query digest from bytes. */
  loadBytes(digest: Uint8Array): void {
    if (digest.length !== this.bytes) throw new RangeError(`expected ${this.bytes} digest bytes`);
    this.#queryBytes.set(digest);
    this.#fixPrefix();
  }

  /** The slot of the loaded query, or -1; read it with {@link valueAt} and {@link firstSeenAt}. */
  findLoaded(): number {
    const table = this.#table;
    const sw = this.#slotWords;
    const words = this.#words;
    const q = this.#query;
    const prefix = q[0]!;
    let slot = Math.floor(prefix * this.#scale);
    for (;;) {
      const base = slot * sw;
      if (table[base + words] === 0) return -1;
      const p = table[base]!;
      if (p > prefix) return -1;
      if (p === prefix) {
        let w = 1;
        while (w < words && table[base + w] === q[w]) w += 1;
        if (w === words) return slot;
      }
      slot += 1;
    }
  }

  valueAt(slot: number): number {
    return this.#table[slot * this.#slotWords + this.#words]!;
  }

  firstSeenAt(slot: number): number {
    return this.#table[slot * this.#slotWords + this.#words + 1]!;
  }

  /** Convenience for tests and cold paths. */
  get(digest: Uint8Array): IndexedValue | undefined {
    this.loadBytes(digest);
    const slot = this.findLoaded();
    return slot < 0 ? undefined : { value: this.valueAt(slot), firstSeen: this.firstSeenAt(slot) };
  }

  /** Inserts or replaces; `value` must not be 0. */
  set(digest: Uint8Array, value: number, firstSeen: number): void {
    if (value === 0) throw new RangeError('value 0 marks an empty slot');
    if (this.#size + 1 > this.#capacity * MAX_LOAD) this.#grow(this.#size + 1);
    this.loadBytes(digest);
    if (!this.#insertLoaded(value, firstSeen)) {
      this.#grow(this.#size + 1);
      this.loadBytes(digest);
      this.#insertLoaded(value, firstSeen);
    }
  }

  /** Makes room for `more` entries at once, so a bulk insert rebuilds at most once. */
  reserve(more: number): void {
    if (this.#size + more > this.#capacity * MAX_LOAD) this.#grow(this.#size + more);
  }

  /**
   * Bulk load of digests in ascending byte order (what `ORDER BY digest` returns) into an
   * empty or sorted-so-far table: each goes to max(home, previous + 1), no search needed.
   * Falls back to {@link set} for an entry out of order. Digests must be distinct.
   */
  appendSorted(digest: Uint8Array, value: number, firstSeen: number): void {
    this.loadBytes(digest);
    const prefix = this.#query[0]!;
    if (prefix < this.#lastPrefix || this.#size + 1 > this.#capacity * MAX_LOAD) {
      this.set(digest, value, firstSeen);
      return;
    }
    const slot = Math.max(Math.floor(prefix * this.#scale), this.#cursor);
    if (slot >= this.#capacity + TAIL_SLOTS) {
      this.set(digest, value, firstSeen);
      return;
    }
    const base = slot * this.#slotWords;
    this.#table.set(this.#query, base);
    this.#table[base + this.#words] = value;
    this.#table[base + this.#words + 1] = firstSeen;
    this.#size += 1;
    this.#cursor = slot + 1;
    this.#lastPrefix = prefix;
  }

  /** Every entry in slot order: digest bytes (a view, valid until the next step), value, first seen. */
  *entries(): Generator<{ digest: Buffer; value: number; firstSeen: number }> {
    const out = Buffer.alloc(this.bytes);
    const words = new Uint32Array(out.buffer, out.byteOffset, this.#words);
    const total = this.#capacity + TAIL_SLOTS;
    for (let slot = 0; slot < total; slot += 1) {
      const base = slot * this.#slotWords;
      const value = this.#table[base + this.#words]!;
      if (value === 0) continue;
      words.set(this.#table.subarray(base, base + this.#words));
      out.writeUInt32BE(words[0]!, 0);
      yield { digest: out, value, firstSeen: this.#table[base + this.#words + 1]! };
    }
  }

  /** The query's first word as read natively becomes the big-endian prefix. */
  #fixPrefix(): void {
    const b = this.#queryBytes;
    this.#query[0] = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  }

  /** Inserts the loaded query keeping its cluster sorted; false when the tail is full. */
  #insertLoaded(value: number, firstSeen: number): boolean {
    const table = this.#table;
    const sw = this.#slotWords;
    const words = this.#words;
    const q = this.#query;
    const prefix = q[0]!;
    const end = this.#capacity + TAIL_SLOTS;
    let slot = Math.floor(prefix * this.#scale);
    for (; slot < end; slot += 1) {
      const base = slot * sw;
      if (table[base + words] === 0) break;
      const p = table[base]!;
      if (p > prefix) break;
      if (p === prefix) {
        let w = 1;
        while (w < words && table[base + w] === q[w]) w += 1;
        if (w === words) {
          table[base + words] = value;
          table[base + words + 1] = firstSeen;
          return true;
        }
      }
    }
    let empty = slot;
    while (empty < end && table[empty * sw + words] !== 0) empty += 1;
    if (empty >= end) return false;
    // Shift the rest of the cluster one slot right to keep it sorted.
    if (empty > slot) table.copyWithin((slot + 1) * sw, slot * sw, empty * sw);
    const base = slot * sw;
    table.set(q, base);
    table[base + words] = value;
    table[base + words + 1] = firstSeen;
    this.#size += 1;
    if (empty >= this.#cursor) this.#cursor = empty + 1;
    if (prefix > this.#lastPrefix) this.#lastPrefix = prefix;
    return true;
  }

  #grow(needed: number): void {
    const next = new DigestIndex(this.bytes, Math.max(needed, Math.ceil(this.#size * 1.1)));
    for (const { digest, value, firstSeen } of this.entries()) next.appendSorted(digest, value, firstSeen);
    this.#table = next.#table;
    this.#capacity = next.#capacity;
    this.#scale = next.#scale;
    this.#size = next.#size;
    this.#cursor = next.#cursor;
    this.#lastPrefix = next.#lastPrefix;
  }
}

function capacityFor(expected: number): number {
  return Math.max(64, Math.ceil(expected / LOAD_AT_BUILD));
}
