import { GlasshouseError } from '../shared/errors.js';

/** Refusals of a witness (C2SP tlog-witness §add-checkpoint); `http/problem.ts` maps them. */
export type WitnessErrorCode =
  /** The request body is not `old <size>`, proof lines, a blank line and a checkpoint. */
  | 'WITNESS_BAD_REQUEST'
  /** The checkpoint's origin is not a log this witness was given (`witness add-log`). */
  | 'WITNESS_UNKNOWN_LOG'
  /** No signature on the checkpoint verifies against the log's key. */
  | 'WITNESS_UNTRUSTED_CHECKPOINT'
  /** The client's old size is not the size this witness last cosigned; `details.size` is. */
  | 'WITNESS_OLD_SIZE_MISMATCH'
  /** Same size as the one cosigned, another root hash: a fork. */
  | 'WITNESS_ROOT_MISMATCH'
  /** The consistency proof does not lead from the cosigned checkpoint to this one. */
  | 'WITNESS_INVALID_PROOF'
  /** `witness add-log` for an origin the witness already follows. */
  | 'WITNESS_LOG_EXISTS';

export class WitnessError extends GlasshouseError<WitnessErrorCode> {}
