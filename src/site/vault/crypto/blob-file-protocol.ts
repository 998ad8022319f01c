import type { SampleFingerprint } from '../../../ports/samples.js';
import type { CryptoErrorCode } from './crypto-errors.js';

/** What the pool asks of a blob-file worker; `id` names the session (or the one-shot job). */
export type WorkerRequest =
  | { readonly op: 'open'; readonly id: number; readonly path: string; readonly key: Uint8Array }
  | { readonly op: 'read'; readonly id: number }
  | { readonly op: 'create'; readonly id: number; readonly path: string; readonly key: Uint8Array }
  | { readonly op: 'write'; readonly id: number; readonly chunk: ArrayBuffer }
  | { readonly op: 'finish'; readonly id: number }
  | {
      readonly op: 'reseal';
      readonly id: number;
      readonly from: string;
      readonly fromKey: Uint8Array;
      readonly to: string;
      readonly toKey: Uint8Array;
    }
  | { readonly op: 'authenticate'; readonly id: number; readonly path: string; readonly key: Uint8Array }
  | { readonly op: 'digest'; readonly id: number; readonly path: string; readonly key: Uint8Array }
  | {
      readonly op: 'scan';
      readonly id: number;
      readonly path: string;
      readonly key: Uint8Array;
      /** The YARA rule set's text; the worker compiles it once per `rulesSha256` and keeps it. */
      readonly rules: string;
      readonly rulesSha256: string;
    }
  | { readonly op: 'fingerprint'; readonly id: number; readonly path: string; readonly key: Uint8Array }
  | { readonly op: 'close'; readonly id: number };

/** A worker's answer: one per request but `close`. */
export interface WorkerReply {
  readonly id: number;
  /** `read`: plaintext (possibly empty), in an ArrayBuffer of its own, transferred. */
  readonly chunk?: ArrayBuffer;
  /** `read`: the file is at its end and every segment was authentic. */
  readonly done?: boolean;
  /** `finish`, `reseal`: the SHA-256 of the plaintext sealed; `digest`: of the plaintext opened (if authentic). Hex. */
  readonly sha256?: string;
  /** `scan`: the names of the rules that matched the plaintext (none: empty). */
  readonly matches?: readonly string[];
  /** `fingerprint`: the plaintext's fuzzy hashes and file type (if authentic). */
  readonly fingerprint?: SampleFingerprint;
  /** `scan`: the plaintext's size in bytes. */
  readonly size?: number;
  /** `authenticate`, `digest`, `scan`, `fingerprint`: the file exists and every segment of it is authentic. */
  readonly authentic?: boolean;
  readonly error?: {
    readonly message: string;
    readonly code?: string;
    readonly cryptoCode?: CryptoErrorCode;
  };
}
