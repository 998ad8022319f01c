import { mkdirSync, readdirSync } from 'node:fs';
import { type FileHandle, open, readFile, truncate, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { StatsError } from '../../shared/stats-errors.js';
import { writeFully } from '../../shared/write-fully.js';

/**
 * Frame: payload length (u32 LE), CRC-32 (u32 LE) of the length, the sequence number and the
 * payload, the sequence number (u64 LE), then the payload. A crash can tear only the tail of
 * the newest segment (a segment is complete and synced before the next one is created); a
 * torn frame fails its length or CRC check and is cut off at open. It was never acknowledged.
 */
const HEADER_BYTES = 16;
const SEGMENT = /^wal-(\d{16})\.log$/;
const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/** Bytes one group commit writes at most; a single larger record still goes alone. */
const MAX_GROUP_BYTES = 32 * 1024 * 1024;

export interface WalRecord {
  readonly seq: number;
  readonly payload: Buffer;
}

export interface EventWalOptions {
  readonly directory: string;
  /** The first sequence number to use when the log is empty: one past what the store loaded. */
  readonly nextSeq: number;
  /** A new segment starts once the current one is this large. */
  readonly segmentBytes?: number;
  /** Called in sequence order once records are durable, before their appends resolve. */
  readonly onDurable: (records: readonly WalRecord[]) => void;
}

interface Segment {
  readonly file: string;
  readonly firstSeq: number;
  lastSeq: number;
  size: number;
}

type Queued =
  | {
      readonly kind: 'append';
      readonly payload: Buffer;
      resolve(seq: number): void;
      reject(e: unknown): void;
    }
  | { readonly kind: 'rotate'; resolve(): void; reject(e: unknown): void };

/**
 * A site's write-ahead log of telemetry: append-only segment files of framed records with
 * group commit. Concurrent appends share one `writev` and one `fdatasync` (both on libuv's
 * thread pool, off the event loop); each append resolves with its record's sequence number
 * once durable. Segments are deleted once the store has loaded every record in them.
 *
 * @example
 * const wal = await EventWal.open({ directory, nextSeq: loaded + 1, onDurable: (records) => pending.push(...records) });
 * for await (const record of wal.replay(loaded)) await store.load([record.payload], record.seq);
 * const seq = await wal.append(Buffer.from(rows));
 */
export class EventWal {
  readonly #o: EventWalOptions;
  readonly #segmentBytes: number;
  /** Oldest first; the last is the one being written, unless `#active` is undefined. */
  readonly #segments: Segment[];
  #active: { segment: Segment; handle: FileHandle } | undefined;
  #nextSeq: number;
  #queue: Queued[] = [];
  #writing: Promise<void> | undefined;
  #broken: unknown;
  #closed = false;

  private constructor(options: EventWalOptions, segments: Segment[], nextSeq: number) {
    this.#o = options;
    this.#segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    this.#segments = segments;
    this.#nextSeq = nextSeq;
  }

  /** Scans every segment, cuts a torn tail off the newest, and resumes after its last record. */
  static async open(options: EventWalOptions): Promise<EventWal> {
    mkdirSync(options.directory, { recursive: true, mode: 0o700 });
    const names = readdirSync(options.directory)
      .filter((name) => SEGMENT.test(name))
      .sort();
    const segments: Segment[] = [];
    let expected: number | undefined;
    for (const [i, name] of names.entries()) {
      const file = join(options.directory, name);
      const firstSeq = Number(SEGMENT.exec(name)![1]);
      const scan = scanFrames(await readFile(file));
      if (scan.torn) {
        if (i !== names.length - 1) throw corrupt(file, 'a damaged record before the newest segment');
        await truncate(file, scan.validBytes);
      }
      const seqs = scan.records.map((r) => r.seq);
      if (seqs.length === 0) {
        await unlink(file);
        continue;
      }
      if (seqs[0] !== firstSeq || seqs.some((seq, k) => seq !== firstSeq + k)) {
        throw corrupt(file, 'sequence numbers out of order');
      }
      if (expected !== undefined && firstSeq !== expected) throw corrupt(file, 'a gap between segments');
      expected = firstSeq + seqs.length;
      segments.push({ file, firstSeq, lastSeq: expected - 1, size: scan.validBytes });
    }
    return new EventWal(options, segments, Math.max(options.nextSeq, expected ?? 0));
  }

  /** The records after `seq`, oldest first, read from the segment files. */
  async *replay(after: number): AsyncGenerator<WalRecord> {
    for (const segment of [...this.#segments]) {
      if (segment.lastSeq <= after) continue;
      const bytes = await readFile(segment.file);
      for (const record of scanFrames(bytes.subarray(0, segment.size)).records) {
        if (record.seq > after) yield record;
      }
    }
  }

  /** Appends one record; resolves with its sequence number once it is on stable storage. */
  append(payload: Buffer): Promise<number> {
    if (this.#closed)
      return Promise.reject(new StatsError('STATS_CLOSED', 'the statistics buffer is closed'));
    if (this.#broken !== undefined) return Promise.reject(this.#broken);
    return new Promise((resolve, reject) => {
      this.#queue.push({ kind: 'append', payload, resolve, reject });
      this.#writing ??= this.#write();
    });
  }

  /** Closes the current segment, so that `dropThrough` can delete it once it is loaded. */
  rotate(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ kind: 'rotate', resolve, reject });
      this.#writing ??= this.#write();
    });
  }

  /** Deletes every closed segment whose records are all at or below `seq`. */
  async dropThrough(seq: number): Promise<void> {
    let removed = false;
    while (this.#segments.length > 0) {
      const oldest = this.#segments[0]!;
      if (oldest.lastSeq > seq || this.#active?.segment === oldest) break;
      this.#segments.shift();
      await unlink(oldest.file);
      removed = true;
    }
    if (removed) await syncDirectory(this.#o.directory);
  }

  /** The files of the log (for tests and erasure checks). */
  files(): string[] {
    return this.#segments.map((s) => s.file);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#writing;
    await this.#active?.handle.close();
    this.#active = undefined;
  }

  async #write(): Promise<void> {
    try {
      while (this.#queue.length > 0) {
        const head = this.#queue[0]!;
        if (head.kind === 'rotate') {
          this.#queue.shift();
          await this.#closeActive().then(head.resolve, head.reject);
          continue;
        }
        await this.#commit(this.#takeGroup());
      }
    } finally {
      this.#writing = undefined;
    }
  }

  /** The leading appends of the queue, up to MAX_GROUP_BYTES (at least one). */
  #takeGroup(): Extract<Queued, { kind: 'append' }>[] {
    const group: Extract<Queued, { kind: 'append' }>[] = [];
    let bytes = 0;
    while (this.#queue.length > 0) {
      const next = this.#queue[0]!;
      if (next.kind !== 'append' || (group.length > 0 && bytes + next.payload.length > MAX_GROUP_BYTES))
        break;
      group.push(next);
      bytes += next.payload.length + HEADER_BYTES;
      this.#queue.shift();
    }
    return group;
  }

  async #commit(group: Extract<Queued, { kind: 'append' }>[]): Promise<void> {
    const first = this.#nextSeq;
    const records = group.map((item, i) => ({ seq: first + i, payload: item.payload }));
    const frames = records.flatMap((r) => frame(r.seq, r.payload));
    let active: { segment: Segment; handle: FileHandle } | undefined;
    let written = 0;
    try {
      if (this.#active !== undefined && this.#active.segment.size >= this.#segmentBytes)
        await this.#closeActive();
      active = this.#active ?? (await this.#openSegment(first));
      written = await writeFully(active.handle, frames);
    } catch (error) {
      // Nothing was synced: take the partial frames back so the next group starts clean.
      await active?.handle.truncate(active.segment.size).catch((cause: unknown) => {
        this.#broken = corrupt(active!.segment.file, 'a failed write could not be undone', cause);
      });
      for (const item of group) item.reject(error);
      return;
    }
    try {
      await active.handle.datasync();
    } catch (error) {
      // After a failed fsync the kernel may have dropped the pages: nothing more is safe.
      this.#broken = error;
      for (const item of group) item.reject(error);
      return;
    }
    active.segment.size += written;
    active.segment.lastSeq = first + records.length - 1;
    this.#nextSeq = first + records.length;
    this.#o.onDurable(records);
    group.forEach((item, i) => {
      item.resolve(first + i);
    });
  }

  async #openSegment(firstSeq: number): Promise<{ segment: Segment; handle: FileHandle }> {
    const file = join(this.#o.directory, `wal-${String(firstSeq).padStart(16, '0')}.log`);
    const handle = await open(file, 'a', 0o600);
    await syncDirectory(this.#o.directory);
    const segment: Segment = { file, firstSeq, lastSeq: firstSeq - 1, size: 0 };
    this.#segments.push(segment);
    this.#active = { segment, handle };
    return this.#active;
  }

  async #closeActive(): Promise<void> {
    const active = this.#active;
    if (active === undefined) return;
    this.#active = undefined;
    await active.handle.close();
    if (active.segment.size === 0) {
      this.#segments.splice(this.#segments.indexOf(active.segment), 1);
      await unlink(active.segment.file);
    }
  }
}

function frame(seq: number, payload: Buffer): [Buffer, Buffer] {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeBigUInt64LE(BigInt(seq), 8);
  header.writeUInt32LE(checksum(header, payload), 4);
  return [header, payload];
}

function checksum(header: Buffer, payload: Uint8Array): number {
  return crc32(payload, crc32(header.subarray(8, 16), crc32(header.subarray(0, 4))));
}

/** Every valid frame from the start; `torn` when bytes follow the last valid one. */
export function scanFrames(bytes: Buffer): { records: WalRecord[]; validBytes: number; torn: boolean } {
  const records: WalRecord[] = [];
  let offset = 0;
  while (offset + HEADER_BYTES <= bytes.length) {
    const length = bytes.readUInt32LE(offset);
    const end = offset + HEADER_BYTES + length;
    if (end > bytes.length) break;
    const header = bytes.subarray(offset, offset + HEADER_BYTES);
    const payload = bytes.subarray(offset + HEADER_BYTES, end);
    if (checksum(header, payload) !== header.readUInt32LE(4)) break;
    records.push({ seq: Number(header.readBigUInt64LE(8)), payload });
    offset = end;
  }
  return { records, validBytes: offset, torn: offset !== bytes.length };
}

async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function corrupt(file: string, what: string, cause?: unknown): StatsError {
  return new StatsError('STATS_WAL_CORRUPT', `${file}: ${what}`, cause === undefined ? undefined : { cause });
}
