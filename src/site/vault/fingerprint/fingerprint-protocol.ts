import type { SampleFingerprint } from '../../../ports/samples.js';

/** What the pool asks of a fingerprint worker; `id` names the session (one upload). */
export type FingerprintRequest =
  | {
      readonly op: 'update';
      readonly id: number;
      readonly chunk: ArrayBuffer;
      /** With a session's first chunk: the input's whole length, if known. */
      readonly size?: number;
    }
  | { readonly op: 'finish'; readonly id: number }
  | { readonly op: 'abort'; readonly id: number };

/** One per `update` (`acked`: its bytes are hashed) and per `finish`; none for `abort`. */
export interface FingerprintReply {
  readonly id: number;
  readonly acked?: number;
  readonly fingerprint?: SampleFingerprint;
  readonly error?: string;
}
