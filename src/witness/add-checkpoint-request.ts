import { decodeCanonicalBase64 } from '../ledger/note/note-encoding.js';
import type { AddCheckpointRequest } from '../ledger/witnessing.js';
import { WitnessError } from './witness-errors.js';

/** C2SP tlog-witness §add-checkpoint: a client sends at most 63 consistency proof lines. */
export const TLOG_WITNESS_MAX_PROOF_LINES = 63;
const OLD_SIZE_LINE = /^old (0|[1-9][0-9]*)$/;

export type { AddCheckpointRequest };

/**
 * Parses an add-checkpoint body: `old <size>`, zero or more base64 hashes, an empty line,
 * then the signed checkpoint (C2SP tlog-witness §add-checkpoint).
 */
export function parseAddCheckpointRequest(body: string): AddCheckpointRequest {
  const end = body.indexOf('\n\n');
  if (end < 0) throw bad('the body is an old size line, proof lines, an empty line and a checkpoint');
  const [oldLine = '', ...proofLines] = body.slice(0, end).split('\n');
  const old = OLD_SIZE_LINE.exec(oldLine);
  const oldSize = Number(old?.[1]);
  if (old === null || !Number.isSafeInteger(oldSize)) throw bad('the first line reads "old <size>"');
  if (proofLines.length > TLOG_WITNESS_MAX_PROOF_LINES) {
    throw bad(`at most ${TLOG_WITNESS_MAX_PROOF_LINES} consistency proof lines`);
  }
  const proof = proofLines.map((line) => {
    const hash = decodeCanonicalBase64(line);
    if (hash?.length !== 32) throw bad('each proof line is the base64 of a 32-byte hash');
    return hash;
  });
  return { oldSize, proof, checkpoint: body.slice(end + 2) };
}

function bad(message: string): WitnessError {
  return new WitnessError('WITNESS_BAD_REQUEST', message);
}
