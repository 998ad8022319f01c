export { canonicalJson, type JsonValue } from './canonical-json.js';
export {
  type Checkpoint,
  type CheckpointInput,
  formatCheckpoint,
  type OpenedCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  RFC6962_HASH_BYTES,
} from './checkpoint.js';
export {
  COSIGNATURE_V1_ED25519,
  type Cosigner,
  type CosignerVerifier,
  cosignedMessage,
  cosignerFromKey,
  cosignerKeyId,
  cosignerVerifierKeyText,
  openCosignatures,
  parseCosignerVerifierKey,
  type VerifiedCosignature,
} from './cosignature.js';
export { NoteError, type NoteErrorCode } from './note-errors.js';
export {
  isValidKeyName,
  loadNoteSigner,
  type NoteSignature,
  type NoteSigner,
  type NoteVerifier,
  noteKeyId,
  noteSignerFromKey,
  type OpenedNote,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  SIGNED_NOTE_MAX_SIGNATURES,
  signerKeyText,
  verifierKeyText,
} from './signed-note.js';
