import type {
  StatsAggregation,
  StatsEventRow,
  StatsGroup,
  StatsStore,
  TimeRange,
} from '../../ports/storage.js';
import { batchBuffers } from '../../shared/buffer-pool.js';
import { EventWal, type WalRecord } from './event-wal.js';

const DAY_MS = 24 * 3600 * 1000;
const RETENTION_EVERY_MS = 3600 * 1000;

export interface StatsBufferOptions {
  readonly store: StatsStore;
  /** The site's `stats/wal` directory. */
  readonly walDirectory: string;
  /** Load what is durable at least this often (0: only on `flush()` and when the buffer fills). */
  readonly flushIntervalMs: number;
  readonly retentionDays: number;
  readonly now: () => Date;
  /** Start loading once this many bytes of rows wait. */
  readonly flushBytes?: number;
  /** Appends wait for the loader once this many bytes of rows wait: memory is bounded. */
  readonly maxPendingBytes?: number;
  readonly segmentBytes?: number;
  /** Where failures of the background loader and retention go (the next tick retries). */
  readonly onBackgroundError?: (error: unknown, context: string) => void;
}

/**
 * The site's statistics buffer (the KSNBuffer of the design): telemetry is acknowledged once
 * it is in the write-ahead log, and a background loader moves it into the `StatsStore` in
 * large batches. Each load records the last sequence number it holds in the same store
 * transaction, so the replay at open loads exactly what was acknowledged and not yet loaded.
 *
 * @example
 * const stats = await StatsBuffer.open({ store, walDirectory, flushIntervalMs: 1000, retentionDays: 365, now });
 * await stats.append(Buffer.from(rows));   // durable when it resolves
 * await stats.flush();                     // loaded and visible to aggregates
 */
export class StatsBuffer {
  readonly #o: StatsBufferOptions;
  readonly #flushBytes: number;
  readonly #maxPendingBytes: number;
  #wal!: EventWal;
  /** Durable records not loaded yet, in sequence order. */
  #pending: WalRecord[] = [];
  #pendingBytes = 0;
  /** Bytes of the batch the loader holds (taken off `#pending`, not loaded yet). */
  #loadingBytes = 0;
  #lastDurable = 0;
  #loadedThrough = 0;
  #loading: Promise<void> | undefined;
  #timers: NodeJS.Timeout[] = [];

  private constructor(options: StatsBufferOptions) {
    this.#o = options;
    this.#flushBytes = options.flushBytes ?? 16 * 1024 * 1024;
    this.#maxPendingBytes = options.maxPendingBytes ?? 4 * this.#flushBytes;
  }

  /** Replays the write-ahead log into the store, then starts the loader and retention timers. */
  static async open(options: StatsBufferOptions): Promise<StatsBuffer> {
    const buffer = new StatsBuffer(options);
    await buffer.#recover();
    await buffer.applyRetention();
    if (options.flushIntervalMs > 0)
      buffer.#every(options.flushIntervalMs, 'loading telemetry', () => buffer.#kick());
    buffer.#every(RETENTION_EVERY_MS, 'telemetry retention', () => buffer.applyRetention());
    return buffer;
  }

  /**
   * Appends rows (the load format of `STATS_ROW_COLUMNS`); resolves once they are durable.
   * Waits first while the loader is behind by more than `maxPendingBytes`. The buffer is
   * handed over: once loaded it goes to `batchBuffers` for reuse, so the caller must not
   * touch it after the call.
   */
  async append(rows: Buffer): Promise<void> {
    while (this.#pendingBytes >= this.#maxPendingBytes) await this.#kick();
    await this.#wal.append(rows);
    if (this.#pendingBytes >= this.#flushBytes) void this.#kick().catch(() => undefined);
  }

  /** Loads everything acknowledged so far into the store; aggregates see it afterwards. */
  async flush(): Promise<void> {
    const target = this.#lastDurable;
    while (this.#loadedThrough < target) await this.#kick();
  }

  /**
   * Loads everything acknowledged so far, then copies the store to `file` (a backup): the
   * copy holds every event acknowledged before the call. False when the store has no copy
   * of its own (ClickHouse: use the engine's backup).
   */
  async snapshotTo(file: string): Promise<boolean> {
    const store = this.#o.store;
    if (store.snapshotTo === undefined) return false;
    await this.flush();
    await store.snapshotTo(file);
    return true;
  }

  aggregate(query: StatsAggregation): Promise<StatsGroup[]> {
    return this.#o.store.aggregate(query);
  }

  /** The installation's events acknowledged so far (loaded first), oldest first. */
  async eventsOf(installationId: string, range: TimeRange): Promise<StatsEventRow[]> {
    await this.flush();
    return this.#o.store.eventsOf(installationId, range);
  }

  /** Deletes events older than `retentionDays`; returns how many. */
  applyRetention(): Promise<number> {
    return this.#o.store.deleteBefore(new Date(this.#o.now().getTime() - this.#o.retentionDays * DAY_MS));
  }

  /**
   * Deletes every event of the installation acknowledged before the call, from the store and
   * from the write-ahead log: everything is loaded first, then the rows are deleted, and the
   * log segments that held them (all loaded now) are removed, so a replay cannot bring them
   * back and no raw file keeps them.
   */
  async eraseInstallation(installationId: string): Promise<number> {
    await this.#wal.rotate();
    await this.flush();
    const deleted = await this.#o.store.deleteInstallation(installationId);
    await this.#wal.dropThrough(this.#loadedThrough);
    await this.#o.store.compact();
    return deleted;
  }

  /** Like `eraseInstallation`, for several installations with one pass over the log. */
  async eraseInstallations(installationIds: readonly string[]): Promise<number> {
    await this.#wal.rotate();
    await this.flush();
    let deleted = 0;
    for (const id of installationIds) deleted += await this.#o.store.deleteInstallation(id);
    await this.#wal.dropThrough(this.#loadedThrough);
    if (deleted > 0) await this.#o.store.compact();
    return deleted;
  }

  /** Every event of the installation acknowledged so far, as load-format rows (relocation). */
  async exportInstallation(installationId: string): Promise<string[]> {
    await this.flush();
    return this.#o.store.exportInstallation(installationId);
  }

  /** Events per installation, everything acknowledged so far included. */
  async countByInstallation(): Promise<Map<string, number>> {
    await this.flush();
    return this.#o.store.countByInstallation();
  }

  /** The write-ahead log's files (for tests). */
  /**
   * Telemetry acknowledged (durable in the write-ahead log) and not loaded into the store yet:
   * write batches (one per `append`) and their bytes. Read without I/O, for metrics.
   */
  backlog(): { batches: number; bytes: number } {
    return {
      batches: Math.max(0, this.#lastDurable - this.#loadedThrough),
      bytes: this.#pendingBytes + this.#loadingBytes,
    };
  }

  walFiles(): string[] {
    return this.#wal.files();
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await this.#wal.close();
    await this.flush();
    await this.#o.store.close();
  }

  async #recover(): Promise<void> {
    this.#loadedThrough = await this.#o.store.loadedThrough();
    this.#lastDurable = this.#loadedThrough;
    const onDurable = (records: readonly WalRecord[]) => this.#track(records);
    this.#wal = await EventWal.open({
      directory: this.#o.walDirectory,
      nextSeq: this.#loadedThrough + 1,
      onDurable,
      ...(this.#o.segmentBytes === undefined ? {} : { segmentBytes: this.#o.segmentBytes }),
    });
    for await (const record of this.#wal.replay(this.#loadedThrough)) {
      this.#track([record]);
      if (this.#pendingBytes >= this.#flushBytes) await this.#kick();
    }
    await this.flush();
    await this.#wal.dropThrough(this.#loadedThrough);
  }

  #track(records: readonly WalRecord[]): void {
    for (const record of records) {
      this.#pending.push(record);
      this.#pendingBytes += record.payload.length;
      this.#lastDurable = record.seq;
    }
  }

  /** Starts the loader unless it runs; resolves when that run ends. */
  #kick(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#takeBatch();
      const through = batch.at(-1)!.seq;
      this.#loadingBytes = bytesOf(batch);
      try {
        await this.#o.store.load(
          batch.map((r) => r.payload),
          through,
        );
      } catch (error) {
        this.#pending.unshift(...batch);
        this.#pendingBytes += bytesOf(batch);
        throw error;
      } finally {
        this.#loadingBytes = 0;
      }
      this.#loadedThrough = through;
      for (const record of batch) batchBuffers.give(record.payload);
      await this.#wal.dropThrough(through);
    }
  }

  /** The oldest pending records, about two `flushBytes` at most (at least one). */
  #takeBatch(): WalRecord[] {
    let bytes = 0;
    let count = 0;
    while (count < this.#pending.length && (count === 0 || bytes < 2 * this.#flushBytes)) {
      bytes += this.#pending[count]!.payload.length;
      count += 1;
    }
    this.#pendingBytes -= bytes;
    return this.#pending.splice(0, count);
  }

  #every(ms: number, context: string, work: () => Promise<unknown>): void {
    const timer = setInterval(() => {
      work().catch((error: unknown) => this.#o.onBackgroundError?.(error, context));
    }, ms);
    timer.unref();
    this.#timers.push(timer);
  }
}

function bytesOf(records: readonly WalRecord[]): number {
  return records.reduce((sum, r) => sum + r.payload.length, 0);
}
