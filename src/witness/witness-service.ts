import { EMPTY_TREE_HASH, MerkleError, verifyConsistency } from '../ledger/merkle/index.js';
import {
  type Cosigner,
  NoteError,
  type OpenedCheckpoint,
  openCheckpoint,
  parseVerifierKey,
} from '../ledger/note/index.js';
import { type AddCheckpointRequest, parseAddCheckpointRequest } from './add-checkpoint-request.js';
import { WitnessError } from './witness-errors.js';
import type { WitnessedCheckpoint, WitnessedLog, WitnessStore } from './witness-store.js';

export interface WitnessServiceOptions {
  readonly store: WitnessStore;
  readonly cosigner: Cosigner;
  /** Milliseconds since the epoch: the cosignature's timestamp. */
  readonly now?: () => number;
}

/**
 * A C2SP tlog-witness: cosigns a log's checkpoint only if it is signed by the log's key and
 * consistent with the latest checkpoint it cosigned for that log, which it then records.
 *
 * @example
 * const lines = witness.addCheckpoint(`old 0\n\n${signedCheckpoint}`); // '— witness.example/w1 …\n'
 */
export class WitnessService {
  readonly #store: WitnessStore;
  readonly #cosigner: Cosigner;
  readonly #now: () => number;

  constructor(options: WitnessServiceOptions) {
    this.#store = options.store;
    this.#cosigner = options.cosigner;
    this.#now = options.now ?? Date.now;
  }

  get verifierKey(): string {
    return this.#cosigner.verifierKey;
  }

  /**
   * Follows the log of `verifierKey` (its name is the log's origin), from size 0. Given another
   * key of a log it follows already (the log rotated its key: `glasshouse ledger key` during
   * the overlap prints both), it accepts that key too and keeps what it recorded.
   */
  addLog(verifierKey: string): WitnessedLog {
    const { name } = parseVerifierKey(verifierKey);
    const known = this.#store.log(name);
    if (known !== undefined) {
      if (known.verifierKeys.includes(verifierKey)) {
        throw new WitnessError('WITNESS_LOG_EXISTS', `the witness already follows ${name} with this key`);
      }
      this.#store.addKey(name, verifierKey);
      return this.#store.log(name)!;
    }
    this.#store.addLog(name, verifierKey, { size: 0, rootHash: EMPTY_TREE_HASH });
    return this.#store.log(name)!;
  }

  logs(): readonly WitnessedLog[] {
    return this.#store.logs();
  }

  /** Handles an add-checkpoint body; returns the cosignature line(s) once the checkpoint is recorded. */
  addCheckpoint(body: string): string {
    const request = parseAddCheckpointRequest(body);
    const checkpoint = this.#openTrusted(request.checkpoint);
    if (request.oldSize > checkpoint.treeSize) {
      throw new WitnessError('WITNESS_BAD_REQUEST', 'the old size is larger than the checkpoint size');
    }
    this.#store.advance(checkpoint.origin, (recorded) => checkConsistent(request, checkpoint, recorded));
    const noteBody = request.checkpoint.slice(0, request.checkpoint.lastIndexOf('\n\n') + 1);
    return this.#cosigner.cosign(noteBody, Math.floor(this.#now() / 1000));
  }

  #openTrusted(signed: string): OpenedCheckpoint {
    const origin = signed.slice(0, signed.indexOf('\n'));
    const log = this.#store.log(origin);
    if (log === undefined)
      throw new WitnessError('WITNESS_UNKNOWN_LOG', `the witness does not follow ${origin}`);
    try {
      return openCheckpoint(signed, log.verifierKeys.map(parseVerifierKey), { origin });
    } catch (error) {
      if (
        error instanceof NoteError &&
        (error.code === 'UNVERIFIED_NOTE' || error.code === 'INVALID_SIGNATURE')
      ) {
        throw new WitnessError(
          'WITNESS_UNTRUSTED_CHECKPOINT',
          `no signature by the key of ${origin} verifies`,
          {
            cause: error,
          },
        );
      }
      if (error instanceof NoteError)
        throw new WitnessError('WITNESS_BAD_REQUEST', error.message, { cause: error });
      throw error;
    }
  }
}

/** C2SP tlog-witness §add-checkpoint, in its order: old size, equal sizes, then the proof. */
function checkConsistent(
  request: AddCheckpointRequest,
  checkpoint: OpenedCheckpoint,
  recorded: WitnessedCheckpoint,
): WitnessedCheckpoint {
  if (request.oldSize !== recorded.size) {
    throw new WitnessError(
      'WITNESS_OLD_SIZE_MISMATCH',
      `the witness last cosigned ${checkpoint.origin} at size ${recorded.size}, not ${request.oldSize}`,
      { details: { size: recorded.size } },
    );
  }
  const next = { size: checkpoint.treeSize, rootHash: Buffer.from(checkpoint.rootHash) };
  // Size 0 too: the witness recorded the empty tree's hash when it began to follow the log.
  if (recorded.size === next.size) {
    if (!recorded.rootHash.equals(next.rootHash)) {
      throw new WitnessError(
        'WITNESS_ROOT_MISMATCH',
        `${checkpoint.origin} at size ${next.size} has another root than the one cosigned`,
        { details: { size: recorded.size } },
      );
    }
    return next;
  }
  try {
    verifyConsistency(request.proof, recorded.size, next.size, recorded.rootHash, next.rootHash);
  } catch (error) {
    if (!(error instanceof MerkleError)) throw error;
    throw new WitnessError(
      'WITNESS_INVALID_PROOF',
      `the consistency proof from size ${recorded.size} to ${next.size} of ${checkpoint.origin} does not verify`,
      { cause: error },
    );
  }
  return next;
}
