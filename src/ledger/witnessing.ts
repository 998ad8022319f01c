import { LedgerError } from './ledger-errors.js';
import type { Hash } from './merkle/index.js';
import { type CosignerVerifier, openCosignatures } from './note/index.js';

/** C2SP tlog-witness §add-checkpoint: the 409 body is the witness's size and a newline. */
const TLOG_SIZE_BODY = /^(0|[1-9][0-9]*)\n$/;

/** A C2SP tlog-witness add-checkpoint request. */
export interface AddCheckpointRequest {
  readonly oldSize: number;
  readonly proof: readonly Buffer[];
  /** The signed checkpoint, signature lines included. */
  readonly checkpoint: string;
}

/**
 * The add-checkpoint body: `old <size>`, one base64 hash per line, an empty line, then the
 * signed checkpoint (C2SP tlog-witness §add-checkpoint).
 */
export function formatAddCheckpointRequest(request: AddCheckpointRequest): string {
  const proof = request.proof.map((hash) => `${hash.toString('base64')}\n`).join('');
  return `old ${request.oldSize}\n${proof}\n${request.checkpoint}`;
}

/** A witness as a log reaches it: its key, and a way to POST an add-checkpoint body. */
export interface LogWitness {
  readonly name: string;
  readonly key: CosignerVerifier;
  /** POSTs to `<url>/add-checkpoint`; resolves with the status and body, whatever the status. */
  addCheckpoint(
    body: string,
    signal: AbortSignal,
  ): Promise<{ readonly status: number; readonly body: string }>;
}

export interface WitnessingOptions {
  readonly witnesses: readonly LogWitness[];
  /** How long each witness has to answer for one checkpoint, retry included. */
  readonly timeoutMs: number;
  /** Told when a witness did not cosign (the checkpoint is published without its cosignature). */
  readonly onWitnessError?: (error: unknown) => void;
}

/**
 * Asks a log's witnesses to cosign a checkpoint (C2SP tlog-witness), all at once, each within
 * the timeout, and returns the cosignature lines that verify against each witness's key. It
 * remembers the size each witness cosigned last; after a restart it learns it from the 409.
 * A witness is asked about one checkpoint at a time, in order: a checkpoint handed while the
 * witness still works on an earlier one waits its turn, and is skipped if a newer one came
 * meanwhile (the witness hears of the newer one instead).
 *
 * @example
 * const lines = await witnessing.cosign(signedCheckpoint, size, (from, to) => proveConsistency(from, to, read));
 * publish(signedCheckpoint + lines);
 */
export class Witnessing {
  readonly #o: WitnessingOptions;
  readonly #sizes = new Map<string, number>();
  /** Per witness: the end of its queue of requests, and the number of the newest checkpoint handed. */
  readonly #turns = new Map<string, Promise<unknown>>();
  readonly #newest = new Map<string, number>();
  #handed = 0;

  constructor(options: WitnessingOptions) {
    this.#o = options;
  }

  /** Every witness's cosignature lines, once all have answered or timed out. */
  async cosign(
    checkpoint: string,
    size: number,
    prove: (from: number, to: number) => Promise<Hash[]>,
  ): Promise<string> {
    return (await Promise.all(this.cosignEach(checkpoint, size, prove))).join('');
  }

  /**
   * One promise per witness, in the order of the witnesses, each resolving on its own with
   * that witness's cosignature lines, or '' when it did not cosign (told to `onWitnessError`)
   * or was skipped for a newer checkpoint. Never rejects.
   */
  cosignEach(
    checkpoint: string,
    size: number,
    prove: (from: number, to: number) => Promise<Hash[]>,
  ): Promise<string>[] {
    const handed = ++this.#handed;
    // Every witness that lags by the same size gets the same proof: compute it once.
    const proofs = new Map<string, Promise<Hash[]>>();
    const proveOnce = (from: number, to: number) => {
      const key = `${from}-${to}`;
      let proof = proofs.get(key);
      if (proof === undefined) {
        proof = prove(from, to);
        proofs.set(key, proof);
      }
      return proof;
    };
    return this.#o.witnesses.map((witness) => {
      this.#newest.set(witness.name, handed);
      const turn = (this.#turns.get(witness.name) ?? Promise.resolve())
        .then(() =>
          this.#newest.get(witness.name) === handed ? this.#ask(witness, checkpoint, size, proveOnce) : '',
        )
        .catch((error: unknown) => {
          this.#o.onWitnessError?.(
            error instanceof LedgerError ? error : failed(witness, `did not answer: ${String(error)}`, error),
          );
          return '';
        });
      this.#turns.set(witness.name, turn);
      return turn;
    });
  }

  async #ask(
    witness: LogWitness,
    checkpoint: string,
    size: number,
    prove: (from: number, to: number) => Promise<Hash[]>,
  ): Promise<string> {
    const signal = AbortSignal.timeout(this.#o.timeoutMs);
    let oldSize = this.#sizes.get(witness.name) ?? 0;
    // At most one retry: the witness's 409 tells the size to prove from.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (oldSize > size) break;
      const proof = oldSize === 0 || oldSize === size ? [] : await prove(oldSize, size);
      const reply = await witness.addCheckpoint(
        formatAddCheckpointRequest({ oldSize, proof, checkpoint }),
        signal,
      );
      if (reply.status === 200) {
        this.#sizes.set(witness.name, size);
        return verifiedLines(checkpoint, reply.body, witness);
      }
      const conflict = reply.status === 409 ? TLOG_SIZE_BODY.exec(reply.body) : null;
      if (conflict === null) {
        throw failed(witness, `answered ${reply.status}: ${reply.body.slice(0, 200)}`);
      }
      oldSize = Number(conflict[1]);
      this.#sizes.set(witness.name, oldSize);
    }
    throw failed(witness, `has cosigned size ${oldSize}, which the checkpoint of size ${size} cannot extend`);
  }
}

/** Keeps the lines of the reply that are cosignatures by this witness over this checkpoint. */
function verifiedLines(checkpoint: string, body: string, witness: LogWitness): string {
  const lines = body.split('\n').filter((line) => line !== '');
  const kept = lines.filter((line) => {
    try {
      return openCosignatures(`${checkpoint}${line}\n`, [witness.key]).length === 1;
    } catch {
      return false;
    }
  });
  if (kept.length === 0) throw failed(witness, 'answered no cosignature that verifies');
  return kept.map((line) => `${line}\n`).join('');
}

function failed(witness: LogWitness, message: string, cause?: unknown): LedgerError {
  return new LedgerError('WITNESS_FAILED', `witness ${witness.name} ${message}`, {
    details: { witness: witness.name },
    ...(cause === undefined ? {} : { cause }),
  });
}
