import type { Readable } from 'node:stream';

/** The digest algorithms a sample is known by. */
export type HashKind = 'md5' | 'sha1' | 'sha256' | 'sha512';

/** A hash as a caller gave it, checked and lower-cased (`shared/sample-hash.ts` parses one). */
export interface SampleHash {
  readonly kind: HashKind;
  /** Lower-case hex. */
  readonly value: string;
}

export interface SampleDigests {
  readonly md5: string;
  readonly sha1: string;
  readonly sha256: string;
  readonly sha512: string;
  readonly size: number;
}

/** An upload on its way to the installation's site; `body` streams, never buffered whole. */
export interface SampleSubmission {
  readonly installationId: string;
  readonly filename: string;
  readonly product: string;
  readonly body: Readable;
}

export interface StoredSample extends SampleDigests {
  readonly site: string;
  /** True when this site did not hold the sample before. */
  readonly new: boolean;
}

export interface SampleAtSite extends SampleDigests {
  readonly ssdeep: string | null;
  readonly tlsh: string | null;
  readonly site: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly submissions: number;
}

/** One submission as its installation made it, personal fields opened. */
export interface SubmissionRecord {
  readonly id: number;
  readonly sha256: string;
  readonly md5: string;
  readonly sha1: string;
  readonly size: number;
  readonly submittedAt: string;
  readonly product: string;
  readonly filename: string;
}
