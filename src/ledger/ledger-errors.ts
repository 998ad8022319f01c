import { GlasshouseError } from '../shared/errors.js';

export type LedgerErrorCode =
  | 'LOG_NOT_FOUND'
  | 'TILE_NOT_FOUND'
  | 'ENTRY_TOO_LARGE'
  | 'INVALID_PROOF_REQUEST'
  | 'LOG_CLOSED'
  | 'LOG_INCONSISTENT';

export class LedgerError extends GlasshouseError<LedgerErrorCode> {}

/** The log of `node` (`control` or a site), or a `LOG_NOT_FOUND` that lists the nodes. */
export function logNamed<Log>(logs: ReadonlyMap<string, Log>, node: string): Log {
  const log = logs.get(node);
  if (log === undefined) {
    throw new LedgerError('LOG_NOT_FOUND', `no log named ${node}; nodes: ${[...logs.keys()].join(', ')}`);
  }
  return log;
}
