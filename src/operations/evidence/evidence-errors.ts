import { GlasshouseError } from '../../shared/errors.js';

/** Why an evidence pack was refused (docs/errors.md, "Evidence pack"). */
export type EvidenceErrorCode =
  /** `from` or `to` is not a `YYYY-MM-DD` date, or `from` is after `to`, or the period is too long. */
  | 'INVALID_EVIDENCE_PERIOD'
  /** The output directory exists: a pack never overwrites another. */
  | 'EVIDENCE_OUT_EXISTS'
  /** The server's answer to `glasshouse evidence` is not a pack (a path outside it, no evidence.json). */
  | 'EVIDENCE_PACK_INVALID';

export class EvidenceError extends GlasshouseError<EvidenceErrorCode> {}
