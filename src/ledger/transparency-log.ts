import type { AuditEntry, AuditSink } from '../ports/audit-sink.js';
import type { LogJournal, RecordHashReader, TileStore } from '../ports/storage.js';
import { Frontier } from './frontier.js';
import { LedgerError } from './ledger-errors.js';
import { signWithAll } from './log-keys.js';
import {
  encodeEntryBundle,
  entriesPath,
  type Hash,
  type HashReader,
  proveConsistency,
  proveInclusion,
  readTileData,
  splitStoredHashIndex,
  tilePath,
  tilesToWrite,
  treeHash,
} from './merkle/index.js';
import { canonicalJson, formatCheckpoint, type NoteSigner, parseCheckpoint } from './note/index.js';
import type { Witnessing } from './witnessing.js';

/** C2SP tlog-tiles: entries are length-prefixed with a uint16. */
const MAX_ENTRY_BYTES = 0xffff;
const HASH_SIZE = 32;
/** Tile writes in flight while publishing: each waits on its own fsync. */
const PUBLISH_CONCURRENCY = 32;

export interface TransparencyLogOptions {
  /** `<deployment>/<node>`, the first line of every checkpoint. */
  readonly origin: string;
  readonly journal: LogJournal;
  readonly tiles: TileStore;
  readonly signer: NoteSigner;
  /**
   * The keys that sign the next checkpoint, asked at each publication (a key rotation's
   * overlap signs with two); `signer` alone when absent.
   */
  readonly signers?: () => readonly NoteSigner[];
  /** How often to publish a checkpoint while there are new entries; 0 disables the timer. */
  readonly checkpointIntervalMs: number;
  /** Only the serving process publishes; a CLI appends and leaves publishing to it. */
  readonly publish: boolean;
  readonly maxBatch?: number;
  /**
   * Asks the log's witnesses to cosign each checkpoint; their cosignatures are added to it as
   * they arrive.
   */
  readonly witnessing?: Witnessing;
  /**
   * Told when a background publication fails (the next tick retries), or when a cosignature
   * that arrived after its checkpoint was published could not be added to it.
   */
  readonly onPublishError?: (error: unknown) => void;
}

interface Pending {
  readonly entry: Uint8Array;
  readonly resolve: (index: number) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A node's append-only Merkle log (RFC 9162 hashing), published as C2SP tlog-tiles with
 * signed C2SP checkpoints. Appends are group-committed: callers queue, one sequencer writes
 * each batch in one journal transaction, and every promise resolves once its entry is
 * durable. Tiles and the checkpoint are derived from the journal, so a crash can delay a
 * checkpoint but never make one that the journal does not extend.
 *
 * @example
 * const log = await TransparencyLog.open({ origin: 'glasshouse-example/zurich', journal, tiles, signer, ... });
 * await log.append({ type: 'sample.download', time, actor, site, sha256 });
 */
export class TransparencyLog implements AuditSink {
  readonly #o: TransparencyLogOptions;
  readonly #maxBatch: number;
  #pending: Pending[] = [];
  #flushing: Promise<void> | undefined;
  /** The frontier at the last size this process sequenced or loaded; refreshed when another process appended. */
  #frontier: Frontier = Frontier.empty();
  #published: { size: number; checkpoint: string } | undefined;
  /** When this process last found the checkpoint covering the journal (ms since the epoch). */
  #currentAt: number | undefined;
  #publishing: Promise<void> | undefined;
  #nextPublish: Promise<void> | undefined;
  /** Settles once the witnesses asked about the latest checkpoint have answered or timed out. */
  #cosigning: Promise<void> = Promise.resolve();
  /** The checkpoint file's writes, one at a time and in order (see #writeCheckpoint). */
  #checkpointWrites: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(options: TransparencyLogOptions) {
    this.#o = options;
    this.#maxBatch = options.maxBatch ?? 8192;
  }

  static async open(options: TransparencyLogOptions): Promise<TransparencyLog> {
    const log = new TransparencyLog(options);
    await log.#loadPublished();
    if (options.publish) {
      await options.tiles.removeLeftovers();
      await log.publish();
      if (options.checkpointIntervalMs > 0) {
        log.#timer = setInterval(
          () => void log.publish().catch((error: unknown) => options.onPublishError?.(error)),
          options.checkpointIntervalMs,
        );
        log.#timer.unref();
      }
    }
    return log;
  }

  get origin(): string {
    return this.#o.origin;
  }

  /** Appends an audit entry as canonical JSON (RFC 8785); resolves once it is durable. */
  async append(entry: AuditEntry): Promise<void> {
    await this.appendBytes(Buffer.from(canonicalJson(entry), 'utf8'));
  }

  /** Appends raw entry bytes; resolves with the entry's index once it is durable. */
  appendBytes(entry: Uint8Array): Promise<number> {
    if (this.#closed)
      return Promise.reject(new LedgerError('LOG_CLOSED', `the log ${this.#o.origin} is closed`));
    if (entry.length > MAX_ENTRY_BYTES) {
      return Promise.reject(
        new LedgerError('ENTRY_TOO_LARGE', `log entries are limited to ${MAX_ENTRY_BYTES} bytes`),
      );
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ entry, resolve, reject });
      this.#flushing ??= this.#flush();
    });
  }

  /** The latest signed checkpoint this log published, as a signed note. */
  async checkpoint(): Promise<string | undefined> {
    return (await this.#o.tiles.get('checkpoint'))?.toString('utf8');
  }

  /** A file of the published log (`checkpoint` or a tile path); `undefined` when absent. */
  readPublished(path: string): Promise<Buffer | undefined> {
    return this.#o.tiles.get(path);
  }

  /** The tree size of the latest published checkpoint (0 before the first). */
  async publishedSize(): Promise<number> {
    const text = await this.checkpoint();
    return text === undefined ? 0 : parseCheckpoint(text.slice(0, text.indexOf('\n\n') + 1)).treeSize;
  }

  /**
   * The published tree size as this process knows it, and when it last found that checkpoint
   * covering the whole journal (a publication, or a publication with nothing new): undefined
   * in a process that does not publish. Read without I/O, for metrics.
   */
  publication(): { size: number; currentAt: number | undefined } {
    return { size: this.#published?.size ?? 0, currentAt: this.#currentAt };
  }

  /** The size of the journal (what is durable), which the next checkpoint will cover. */
  size(): Promise<number> {
    return this.#o.journal.size();
  }

  /** Entries `from` (inclusive) to `to` (exclusive), as stored (canonical JSON bytes). */
  readEntries(from: number, to: number): Promise<Buffer[]> {
    return this.#o.journal.readEntries(from, to);
  }

  /** RFC 9162 §2.1.3 inclusion proof of entry `index` in the tree of `treeSize` entries. */
  async proveInclusion(index: number, treeSize: number): Promise<Hash[]> {
    await this.#checkTreeSize(treeSize);
    if (!(Number.isSafeInteger(index) && index >= 0 && index < treeSize)) {
      throw new LedgerError('INVALID_PROOF_REQUEST', `index must be in 0..${treeSize - 1}`);
    }
    return proveInclusion(index, treeSize, this.#hashReader());
  }

  /** RFC 9162 §2.1.4 consistency proof between two tree sizes. */
  async proveConsistency(fromSize: number, toSize: number): Promise<Hash[]> {
    await this.#checkTreeSize(toSize);
    if (!(Number.isSafeInteger(fromSize) && fromSize >= 1 && fromSize <= toSize)) {
      throw new LedgerError('INVALID_PROOF_REQUEST', `from must be in 1..${toSize}`);
    }
    return proveConsistency(fromSize, toSize, this.#hashReader());
  }

  /**
   * Publishes the tiles that changed since the last checkpoint, then a new signed
   * checkpoint. Tiles go first, so a reader who sees a checkpoint finds its tiles. With
   * witnesses, the checkpoint goes out as soon as its tiles are written, with the
   * cosignatures that arrived by then, and is written again as each later one arrives; this
   * resolves once every witness asked has answered or timed out and the checkpoint carries
   * the cosignatures it got (a report or receipt that quotes it then quotes them too).
   */
  async publish(): Promise<void> {
    await this.#publishInTurn();
    await this.#cosigning;
  }

  #publishInTurn(): Promise<void> {
    // A publication already running may have read the size before the caller's appends:
    // queue one more after it, shared by every caller that arrives meanwhile.
    if (this.#publishing !== undefined) {
      this.#nextPublish ??= this.#publishing
        .catch(() => undefined)
        .then(() => {
          this.#nextPublish = undefined;
          return this.#publishInTurn();
        });
      return this.#nextPublish;
    }
    this.#publishing = this.#publishOnce().finally(() => {
      this.#publishing = undefined;
    });
    return this.#publishing;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#flushing;
    if (this.#o.publish) await this.publish();
    await this.#checkpointWrites;
    await this.#o.journal.close();
  }

  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      // Let the event loop breathe between commits (the journal commits synchronously), and
      // let appends arriving in this tick join the batch instead of committing alone.
      await new Promise((resolve) => setImmediate(resolve));
      const batch = this.#pending.splice(0, this.#maxBatch);
      const entries = batch.map((p) => p.entry);
      try {
        const start = await this.#o.journal.append(entries, (first, readRecord) =>
          this.#sequence(first, entries, readRecord),
        );
        batch.forEach((p, i) => {
          p.resolve(start + i);
        });
      } catch (error) {
        // The journal's transaction rolled back: nothing of this batch is in the log.
        this.#frontier = Frontier.empty();
        for (const p of batch) p.reject(error);
      }
    }
    this.#flushing = undefined;
  }

  /** Runs inside the journal's transaction: extends the tree from `start`. */
  #sequence(start: number, entries: readonly Uint8Array[], readRecord: RecordHashReader): Buffer[] {
    const frontier = this.#frontier.size === start ? this.#frontier : Frontier.fromJournal(start, readRecord);
    const hashes = entries.map((entry) => frontier.append(entry));
    this.#frontier = frontier;
    return hashes;
  }

  async #publishOnce(): Promise<void> {
    const size = await this.#o.journal.size();
    const from = this.#published?.size ?? 0;
    if (size === from && this.#published !== undefined) {
      this.#currentAt = Date.now();
      return;
    }
    const read = this.#hashReader();
    const { hashTiles, entryBundles } = tilesToWrite(from, size);
    const writes = [
      ...hashTiles.map(
        (tile) => async () => this.#o.tiles.put(tilePath(tile), await readTileData(tile, read)),
      ),
      ...entryBundles.map((bundle) => async () => {
        const first = bundle.n * 256;
        const entries = await this.#o.journal.readEntries(first, first + bundle.width);
        await this.#o.tiles.put(entriesPath(bundle.n, bundle.width), encodeEntryBundle(entries));
      }),
    ];
    // The root and the signature need only the journal's hashes, not the tiles: the witnesses
    // are asked while the tiles are written, so their round trip hides behind the writes. The
    // checkpoint itself is still written last, so a reader who sees it finds its tiles.
    const root = await treeHash(size, read);
    const signed = signWithAll(
      this.#o.signers?.() ?? [this.#o.signer],
      formatCheckpoint({ origin: this.#o.origin, treeSize: size, rootHash: root }),
    );
    // The witnesses' cosignature lines follow the log's own (C2SP tlog-cosignature), in the
    // order of the witnesses; a witness that does not answer in time is left out, nothing more.
    const asked =
      this.#o.witnessing?.cosignEach(signed, size, (from, to) => proveConsistency(from, to, read)) ?? [];
    const lines = asked.map(() => '');
    const arrived = asked.map((line, i) =>
      line.then((text) => {
        lines[i] = text;
        return text;
      }),
    );
    const checkpoint = () => `${signed}${lines.join('')}`;
    await runConcurrently(writes, PUBLISH_CONCURRENCY);
    // Witnesses delay nothing: the checkpoint goes out with the cosignatures it has.
    await this.#writeCheckpoint(size, checkpoint);
    this.#currentAt = Date.now();
    this.#cosigning = Promise.all(
      arrived.map(async (line) => {
        // Written again with the later cosignature (and any other arrived by then).
        if ((await line) !== '') await this.#writeCheckpoint(size, checkpoint);
      }),
    ).then(
      () => undefined,
      (error: unknown) => this.#o.onPublishError?.(error),
    );
  }

  /**
   * Writes the checkpoint file in turn with the others. The text is taken when the write's
   * turn comes, so it carries every cosignature arrived by then; a write that would replace a
   * newer checkpoint, or the same text, is skipped.
   */
  #writeCheckpoint(size: number, text: () => string): Promise<void> {
    const write = this.#checkpointWrites.then(async () => {
      const checkpoint = text();
      const published = this.#published;
      if (published !== undefined && (size < published.size || checkpoint === published.checkpoint)) return;
      await this.#o.tiles.put('checkpoint', Buffer.from(checkpoint, 'utf8'));
      this.#published = { size, checkpoint };
    });
    this.#checkpointWrites = write.catch(() => undefined);
    return write;
  }

  async #loadPublished(): Promise<void> {
    const text = await this.checkpoint();
    if (text === undefined) return;
    const body = text.slice(0, text.indexOf('\n\n') + 1);
    const { treeSize } = parseCheckpoint(body);
    const size = await this.#o.journal.size();
    if (treeSize > size) {
      throw new LedgerError(
        'LOG_INCONSISTENT',
        `the published checkpoint of ${this.#o.origin} covers ${treeSize} entries but the journal holds ${size}`,
      );
    }
    this.#published = { size: treeSize, checkpoint: text };
  }

  async #checkTreeSize(treeSize: number): Promise<void> {
    // Read from the store, not memory: the serving process may have published since.
    const published = await this.publishedSize();
    if (!(Number.isSafeInteger(treeSize) && treeSize >= 1 && treeSize <= published)) {
      throw new LedgerError(
        'INVALID_PROOF_REQUEST',
        `size must be a published tree size, 1..${published} (see the checkpoint)`,
      );
    }
  }

  /** Stored hash i was written by the record that completed it, at the offset of its level. */
  #hashReader(): HashReader {
    return async (indexes) => {
      const places = indexes.map((index) => {
        const { level, n } = splitStoredHashIndex(index);
        return { record: (n + 1) * 2 ** level - 1, level };
      });
      const blobs = await this.#o.journal.readRecordHashes(places.map((p) => p.record));
      return places.map((p, i) => blobs[i]!.subarray(p.level * HASH_SIZE, (p.level + 1) * HASH_SIZE));
    };
  }
}

/** Runs tasks with at most `limit` in flight; rejects with the first failure. */
async function runConcurrently(tasks: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const task = tasks[next++]!;
      await task();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}
