/** The latest checkpoint a witness cosigned for one log (size 0 and the empty-tree hash before any). */
export interface WitnessedCheckpoint {
  readonly size: number;
  readonly rootHash: Buffer;
}

export interface WitnessedLog {
  readonly origin: string;
  /** The log's verifier key text (`glasshouse ledger key`), the first the witness was given. */
  readonly verifierKey: string;
  /** Every key of the log the witness accepts: the first, then keys added for a key rotation. */
  readonly verifierKeys: readonly string[];
  readonly latest: WitnessedCheckpoint;
}

/**
 * What a witness keeps, durably: the logs it follows and the latest checkpoint of each.
 *
 * @example
 * store.advance(origin, (recorded) => next); // commits `next` only if `recorded` is still current
 */
export interface WitnessStore {
  addLog(origin: string, verifierKey: string, empty: WitnessedCheckpoint): void;
  /** Accepts one more key of a log it follows (the log rotated its key); its record stays. */
  addKey(origin: string, verifierKey: string): void;
  log(origin: string): WitnessedLog | undefined;
  logs(): readonly WitnessedLog[];
  /**
   * In one transaction that excludes every other writer: reads the log's recorded checkpoint,
   * calls `decide` with it (which throws to refuse) and records what it returns. Resolves
   * only once that is durable, so nothing is cosigned that a crash could forget.
   */
  advance(origin: string, decide: (recorded: WitnessedCheckpoint) => WitnessedCheckpoint): void;
  close(): void;
}
