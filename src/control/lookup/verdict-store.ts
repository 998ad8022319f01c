import type { IndexedVerdict, VerdictHashKind, VerdictInput, VerdictName } from './verdict.js';

/** A verdict with its hash in hex and its threat by name. */
export interface ThreatVerdict {
  readonly kind: VerdictHashKind;
  readonly hash: string;
  readonly verdict: VerdictName;
  readonly threat: string;
  /** Seconds since the epoch. */
  readonly firstSeen: number;
}

/** What a write feeds, after its commit and before any other write: the in-memory index. */
export interface IndexSink {
  /** The highest threat id the sink knows; the store adds the ones above it first. */
  readonly threatHigh: number;
  addThreats(threats: readonly { id: number; name: string }[]): void;
  /** Room for this many more entries per kind, so a large import rebuilds tables once. */
  reserve(counts: Readonly<Record<VerdictHashKind, number>>): void;
  apply(rows: readonly IndexedVerdict[]): void;
}

/**
 * Where verdicts are kept (the port; `adapters/storage/sqlite/sqlite-verdict-store.ts` is the embedded
 * adapter). Imports are staged first and merged in one transaction, so a feed is loaded
 * whole or not at all, and a slow upload never holds the write lock.
 *
 * @example
 * const session = await store.beginImport();
 * await session.stage(rows);
 * const merged = await session.commit(index);
 */
export interface VerdictStore {
  /** How many verdicts of each kind are stored. */
  counts(): Promise<Readonly<Record<VerdictHashKind, number>>>;
  /** Every verdict of a kind, in ascending digest order, in batches. */
  scan(kind: VerdictHashKind, batch: (rows: readonly IndexedVerdict[]) => void): Promise<void>;
  /** Threat names with an id above `afterId`, ascending. */
  threats(afterId: number): Promise<readonly { id: number; name: string }[]>;
  /**
   * Writes verdicts in one durable transaction, then hands them as stored (with their
   * threat ids, and the earliest first-seen) to the sink, before any other write runs.
   */
  put(
    rows: readonly VerdictInput[],
    time: number,
    sink: IndexSink,
  ): Promise<{ readonly stored: readonly IndexedVerdict[]; readonly generation: number }>;
  beginImport(): Promise<ImportSession>;
  /**
   * Verdicts whose threat is one of `threats` (exact names), at most `limit`, by hash. For the
   * legal desk's technical packages: a scan, not a hot path.
   */
  verdictsOfThreats(threats: readonly string[], limit: number): Promise<readonly ThreatVerdict[]>;
  /** Bumped by every committed change; another process's writes show as a change here. */
  generation(): Promise<number>;
  close(): Promise<void>;
}

export interface ImportSession {
  /** Keeps rows aside (not yet visible); a later row for the same hash replaces an earlier one. */
  stage(rows: readonly VerdictInput[]): Promise<void>;
  /**
   * Merges the staged rows in one durable transaction, then hands them to the sink in
   * batches, and drops the stage.
   */
  commit(sink: IndexSink): Promise<{ readonly verdicts: number; readonly generation: number }>;
  /** Drops the stage; nothing was written. */
  discard(): Promise<void>;
}
