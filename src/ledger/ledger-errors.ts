import { GlasshouseError } from '../shared/errors.js';

export type LedgerErrorCode =
  | 'LOG_NOT_FOUND'
  | 'TILE_NOT_FOUND'
  | 'ENTRY_TOO_LARGE'
  | 'INVALID_PROOF_REQUEST'
  | 'LOG_CLOSED'
  | 'LOG_INCONSISTENT'
  /** `ledger verify --from-checkpoint`: the log's tree at the older size has another root than the older checkpoint. */
  | 'LOG_FORKED'
  /** `ledger rotate-key`: a rotation's overlap has not ended yet. */
  | 'LOG_KEY_ROTATION_UNDER_WAY'
  /** A log signing key file is missing or is not the key a rotation announces. */
  | 'LOG_KEY_MISSING'
  /** A witness did not cosign a checkpoint: down, too slow, or refusing (told, never thrown to a caller). */
  | 'WITNESS_FAILED'
  /** `ledger verify --witness`: fewer witnesses than the quorum cosigned the checkpoint. */
  | 'WITNESS_QUORUM_NOT_MET';

export class LedgerError extends GlasshouseError<LedgerErrorCode> {}

/** The log of `node` (`control` or a site), or a `LOG_NOT_FOUND` that lists the nodes. */
export function logNamed<Log>(logs: ReadonlyMap<string, Log>, node: string): Log {
  const log = logs.get(node);
  if (log === undefined) {
    throw new LedgerError('LOG_NOT_FOUND', `no log named ${node}; nodes: ${[...logs.keys()].join(', ')}`);
  }
  return log;
}
