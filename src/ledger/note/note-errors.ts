import { GlasshouseError } from '../../shared/errors.js';

/**
 * Failures of signed notes (C2SP signed-note), checkpoints (C2SP tlog-checkpoint) and
 * canonical JSON (RFC 8785). None carries key material or note text beyond names and key IDs.
 */
export type NoteErrorCode =
  /** Not a signed note: bad framing, bad characters, a malformed signature line, too many signatures. */
  | 'MALFORMED_NOTE'
  /** A well-formed note that carries no signature by any of the trusted keys. */
  | 'UNVERIFIED_NOTE'
  /** A trusted key's signature that does not verify: the whole note is rejected. */
  | 'INVALID_SIGNATURE'
  /** A key text, PEM or key name that cannot be used (wrong algorithm, wrong key ID, bad name). */
  | 'INVALID_KEY'
  /** A note text that is not a C2SP tlog-checkpoint. */
  | 'MALFORMED_CHECKPOINT'
  /** A checkpoint signed by a trusted key but for another log. */
  | 'UNEXPECTED_ORIGIN'
  /** A value outside the I-JSON data model of RFC 8785 §3.1. */
  | 'UNREPRESENTABLE_JSON';

export class NoteError extends GlasshouseError<NoteErrorCode> {}
