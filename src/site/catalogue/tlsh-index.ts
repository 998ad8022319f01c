import {
  BODY_BYTE_DISTANCE,
  lengthPenalty,
  qratioPenalty,
  TLSH_BODY_BYTES,
  type TlshDigest,
} from './tlsh-distance.js';

const SHA256_BYTES = 32;
const LENGTH_BUCKETS = 256;
/** A location's slot in the hash table: free. */
const FREE = 0xffffffff;
/** Samples in one length bucket at most (a location packs the bucket in 8 bits, the position in 24). */
const MAX_PER_BUCKET = 1 << 24;
const FIRST_CAPACITY = 16;

/** The samples of one length bucket (`lvalue`), in parallel typed arrays: a scan reads them in order. */
class LengthBucket {
  count = 0;
  checksums = new Uint8Array(FIRST_CAPACITY);
  /** q1 in the low nibble, q2 in the high one. */
  qratios = new Uint8Array(FIRST_CAPACITY);
  bodies = new Uint8Array(FIRST_CAPACITY * TLSH_BODY_BYTES);
  sha256s = new Uint8Array(FIRST_CAPACITY * SHA256_BYTES);

  grow(): void {
    // By half again, not double: less slack per sample for a large bucket.
    const capacity = Math.ceil(this.checksums.length * 1.5);
    this.checksums = resized(this.checksums, capacity);
    this.qratios = resized(this.qratios, capacity);
    this.bodies = resized(this.bodies, capacity * TLSH_BODY_BYTES);
    this.sha256s = resized(this.sha256s, capacity * SHA256_BYTES);
  }

  bytes(): number {
    return (
      this.checksums.byteLength + this.qratios.byteLength + this.bodies.byteLength + this.sha256s.byteLength
    );
  }
}

function resized(array: Uint8Array, length: number): Uint8Array<ArrayBuffer> {
  const next = new Uint8Array(length);
  next.set(array.subarray(0, Math.min(array.length, length)));
  return next;
}

/** One answer of {@link TlshIndex.nearest}. */
export interface TlshNeighbour {
  readonly sha256: string;
  readonly distance: number;
}

/**
 * The TLSH digests of a site's samples, in memory, for nearest-neighbour queries by TLSH
 * distance. Samples are grouped by their length bucket (the digest's `lvalue`): the length
 * part of the distance is the same for a whole bucket, so a query visits the buckets nearest
 * its own first and stops at the first whose length part alone exceeds the distance still
 * worth finding (the query's maximum, or the k-th best found once there are k). Within a
 * bucket the header part is added first, and a body is abandoned as soon as its partial sum
 * exceeds that distance. Each sample costs 67 bytes of typed arrays (a 32-byte body, 3 header
 * bytes, its SHA-256) plus growth slack, and 4 to 8 bytes in the SHA-256 → location table.
 */
export class TlshIndex {
  readonly #buckets: (LengthBucket | undefined)[] = new Array(LENGTH_BUCKETS).fill(undefined);
  /** Open addressing by a hash of the SHA-256: `lvalue << 24 | position`, or FREE. */
  #slots = new Uint32Array(64).fill(FREE);
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Bytes of typed arrays the index holds (the samples, their slack, the location table). */
  bytes(): number {
    let bytes = this.#slots.byteLength;
    for (const bucket of this.#buckets) bytes += bucket?.bytes() ?? 0;
    return bytes;
  }

  /** Adds the sample, or replaces its digest. */
  set(sha256: string, digest: TlshDigest): void {
    const key = Buffer.from(sha256, 'hex');
    if (key.length !== SHA256_BYTES) throw new RangeError('a SHA-256 is 32 bytes');
    this.#delete(key);
    let bucket = this.#buckets[digest.lvalue];
    if (bucket === undefined) {
      bucket = new LengthBucket();
      this.#buckets[digest.lvalue] = bucket;
    }
    if (bucket.count >= MAX_PER_BUCKET) throw new RangeError('too many samples of one length bucket');
    if (bucket.count === bucket.checksums.length) bucket.grow();
    const at = bucket.count++;
    bucket.checksums[at] = digest.checksum;
    bucket.qratios[at] = digest.q1 | (digest.q2 << 4);
    bucket.bodies.set(digest.body, at * TLSH_BODY_BYTES);
    bucket.sha256s.set(key, at * SHA256_BYTES);
    this.#insertSlot(key, ((digest.lvalue << 24) | at) >>> 0);
  }

  /** Removes the sample; false when it was not there. */
  delete(sha256: string): boolean {
    const key = Buffer.from(sha256, 'hex');
    return key.length === SHA256_BYTES && this.#delete(key);
  }

  has(sha256: string): boolean {
    const key = Buffer.from(sha256, 'hex');
    return key.length === SHA256_BYTES && this.#find(key) !== -1;
  }

  /**
   * The samples nearest the digest, at most `limit` within `maxDistance` (inclusive), nearest
   * first, ties by SHA-256; `exclude` (a SHA-256) is never answered.
   *
   * @example
   * index.nearest(parseTlsh(digest)!, { maxDistance: 100, limit: 10 }); // [{ sha256, distance }, …]
   */
  nearest(
    query: TlshDigest,
    options: { readonly maxDistance: number; readonly limit: number; readonly exclude?: string },
  ): TlshNeighbour[] {
    const { limit } = options;
    if (limit <= 0) return [];
    const exclude = options.exclude === undefined ? undefined : Buffer.from(options.exclude, 'hex');
    // The quartile ratios' part of the distance for every stored (q1 | q2 << 4), for this query.
    const qpenalty = new Uint16Array(256);
    for (let q = 0; q < 256; q++)
      qpenalty[q] = qratioPenalty(query.q1, q & 15) + qratioPenalty(query.q2, q >> 4);
    const rows = new Int32Array(TLSH_BODY_BYTES);
    for (let j = 0; j < TLSH_BODY_BYTES; j++) rows[j] = query.body[j]! * 256;
    const table = BODY_BYTE_DISTANCE;
    const found = new TopK(limit);
    let bound = options.maxDistance;
    // Buckets by length distance from the query's: 0, +1, -1, +2, -2, … (modulo 256, as TLSH).
    for (let step = 0; step <= LENGTH_BUCKETS / 2; step++) {
      const lengthPart = lengthPenalty(0, step);
      if (lengthPart > bound) break;
      for (const lvalue of step === 0 || step === LENGTH_BUCKETS / 2
        ? [(query.lvalue + step) & 255]
        : [(query.lvalue + step) & 255, (query.lvalue - step) & 255]) {
        const bucket = this.#buckets[lvalue];
        if (bucket === undefined) continue;
        const { checksums, qratios, bodies, count } = bucket;
        for (let i = 0; i < count; i++) {
          let d = lengthPart + qpenalty[qratios[i]!]! + (checksums[i] === query.checksum ? 0 : 1);
          if (d > bound) continue;
          const base = i * TLSH_BODY_BYTES;
          // Checked every 8 bytes: a branch per byte costs more than the few bytes it saves.
          for (let j = 0; j < TLSH_BODY_BYTES && d <= bound; j += 8) {
            d +=
              table[rows[j]! + bodies[base + j]!]! +
              table[rows[j + 1]! + bodies[base + j + 1]!]! +
              table[rows[j + 2]! + bodies[base + j + 2]!]! +
              table[rows[j + 3]! + bodies[base + j + 3]!]! +
              table[rows[j + 4]! + bodies[base + j + 4]!]! +
              table[rows[j + 5]! + bodies[base + j + 5]!]! +
              table[rows[j + 6]! + bodies[base + j + 6]!]! +
              table[rows[j + 7]! + bodies[base + j + 7]!]!;
          }
          if (d > bound) continue;
          const sha = bucket.sha256s.subarray(i * SHA256_BYTES, (i + 1) * SHA256_BYTES);
          if (exclude?.equals(sha)) continue;
          if (found.offer(d, sha) && found.full) bound = found.worst;
        }
      }
    }
    return found.sorted();
  }

  /**
   * Every sample's distance to the digest, one after another, without the index's pruning:
   * the baseline the benchmark measures the index against, and the reference its tests check
   * it by.
   */
  scan(
    query: TlshDigest,
    options: { readonly maxDistance: number; readonly limit: number; readonly exclude?: string },
  ): TlshNeighbour[] {
    const found = new TopK(options.limit);
    if (options.limit <= 0) return [];
    const exclude = options.exclude === undefined ? undefined : Buffer.from(options.exclude, 'hex');
    for (let lvalue = 0; lvalue < LENGTH_BUCKETS; lvalue++) {
      const bucket = this.#buckets[lvalue];
      if (bucket === undefined) continue;
      for (let i = 0; i < bucket.count; i++) {
        const q = bucket.qratios[i]!;
        let d =
          lengthPenalty(query.lvalue, lvalue) +
          qratioPenalty(query.q1, q & 15) +
          qratioPenalty(query.q2, q >> 4) +
          (bucket.checksums[i] === query.checksum ? 0 : 1);
        for (let j = 0; j < TLSH_BODY_BYTES; j++) {
          d += BODY_BYTE_DISTANCE[query.body[j]! * 256 + bucket.bodies[i * TLSH_BODY_BYTES + j]!]!;
        }
        if (d > options.maxDistance) continue;
        const sha = bucket.sha256s.subarray(i * SHA256_BYTES, (i + 1) * SHA256_BYTES);
        if (exclude?.equals(sha)) continue;
        found.offer(d, sha);
      }
    }
    return found.sorted();
  }

  #delete(key: Uint8Array): boolean {
    const slot = this.#find(key);
    if (slot === -1) return false;
    const location = this.#slots[slot]!;
    this.#removeSlot(slot);
    const lvalue = location >>> 24;
    const at = location & 0xffffff;
    const bucket = this.#buckets[lvalue]!;
    const last = --bucket.count;
    if (at !== last) {
      // The last sample of the bucket moves into the hole; its slot follows it.
      bucket.checksums[at] = bucket.checksums[last]!;
      bucket.qratios[at] = bucket.qratios[last]!;
      bucket.bodies.copyWithin(at * TLSH_BODY_BYTES, last * TLSH_BODY_BYTES, (last + 1) * TLSH_BODY_BYTES);
      bucket.sha256s.copyWithin(at * SHA256_BYTES, last * SHA256_BYTES, (last + 1) * SHA256_BYTES);
      const moved = this.#find(bucket.sha256s.subarray(at * SHA256_BYTES, (at + 1) * SHA256_BYTES));
      this.#slots[moved] = ((lvalue << 24) | at) >>> 0;
    }
    return true;
  }

  /** The slot holding the key's location, or -1. */
  #find(key: Uint8Array): number {
    const mask = this.#slots.length - 1;
    for (let slot = homeOf(key, 0) & mask; ; slot = (slot + 1) & mask) {
      const location = this.#slots[slot]!;
      if (location === FREE) return -1;
      const bucket = this.#buckets[location >>> 24]!;
      if (sameKey(bucket.sha256s, (location & 0xffffff) * SHA256_BYTES, key)) return slot;
    }
  }

  /** The probe start of the key stored at the location. */
  #homeAt(location: number): number {
    const bucket = this.#buckets[location >>> 24]!;
    return homeOf(bucket.sha256s, (location & 0xffffff) * SHA256_BYTES);
  }

  #insertSlot(key: Uint8Array, location: number): void {
    if ((this.#size + 1) * 10 > this.#slots.length * 7) this.#rehash(this.#slots.length * 2);
    const mask = this.#slots.length - 1;
    let slot = homeOf(key, 0) & mask;
    while (this.#slots[slot] !== FREE) slot = (slot + 1) & mask;
    this.#slots[slot] = location;
    this.#size += 1;
  }

  /** Linear probing's deletion: later entries of the run shift back, so no tombstone is needed. */
  #removeSlot(slot: number): void {
    const slots = this.#slots;
    const mask = slots.length - 1;
    let hole = slot;
    for (let next = (hole + 1) & mask; slots[next] !== FREE; next = (next + 1) & mask) {
      const home = this.#homeAt(slots[next]!) & mask;
      // Moves back unless its home lies cyclically in (hole, next].
      const stays = hole <= next ? hole < home && home <= next : hole < home || home <= next;
      if (!stays) {
        slots[hole] = slots[next]!;
        hole = next;
      }
    }
    slots[hole] = FREE;
    this.#size -= 1;
  }

  #rehash(capacity: number): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(capacity).fill(FREE);
    const mask = capacity - 1;
    for (const location of old) {
      if (location === FREE) continue;
      let slot = this.#homeAt(location) & mask;
      while (this.#slots[slot] !== FREE) slot = (slot + 1) & mask;
      this.#slots[slot] = location;
    }
  }
}

/** Where a key's probe starts: a SHA-256 is uniform, but a mixed hash keeps made-up keys apart too. */
function homeOf(bytes: Uint8Array, at: number): number {
  const word = (i: number) =>
    bytes[at + i]! | (bytes[at + i + 1]! << 8) | (bytes[at + i + 2]! << 16) | (bytes[at + i + 3]! << 24);
  const h = Math.imul(word(0) ^ word(16) ^ word(28), 0x9e3779b1);
  return (h ^ (h >>> 15)) >>> 0;
}

function sameKey(bytes: Uint8Array, at: number, key: Uint8Array): boolean {
  for (let i = 0; i < SHA256_BYTES; i++) if (bytes[at + i] !== key[i]) return false;
  return true;
}

/** The k nearest so far, by (distance, SHA-256); k is small (a page), so a sorted array will do. */
class TopK {
  readonly #k: number;
  readonly #items: { distance: number; sha256: Buffer }[] = [];

  constructor(k: number) {
    this.#k = k;
  }

  get full(): boolean {
    return this.#items.length >= this.#k;
  }

  get worst(): number {
    return this.#items.at(-1)?.distance ?? Number.POSITIVE_INFINITY;
  }

  /** Keeps the candidate if it is among the k nearest; true if kept. */
  offer(distance: number, sha256: Uint8Array): boolean {
    const items = this.#items;
    const last = items.at(-1);
    if (this.full && last !== undefined && compare(distance, sha256, last) >= 0) return false;
    let at = items.length;
    while (at > 0 && compare(distance, sha256, items[at - 1]!) < 0) at -= 1;
    items.splice(at, 0, { distance, sha256: Buffer.from(sha256) });
    if (items.length > this.#k) items.pop();
    return true;
  }

  sorted(): TlshNeighbour[] {
    return this.#items.map((item) => ({ sha256: item.sha256.toString('hex'), distance: item.distance }));
  }
}

function compare(distance: number, sha256: Uint8Array, item: { distance: number; sha256: Buffer }): number {
  return distance - item.distance || Buffer.compare(sha256, item.sha256);
}
