export {
  type BlobRewrap,
  blobOpeningKey,
  ENVELOPE_HEADER_SIZE,
  headerWrapOf,
  openStream,
  rewrapDataKey,
  sealStream,
} from './blob-envelope.js';
export {
  createDecryptStream,
  createEncryptStream,
  SEGMENT_SIZE,
  type SegmentStreamOptions,
} from './chunked-aead.js';
export { CryptoError, type CryptoErrorCode } from './crypto-errors.js';
export {
  decryptField,
  encryptField,
  generateKey,
  unwrapKey,
  WRAPPED_KEY_SIZE,
  wrapKey,
} from './field-cipher.js';
