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
  /**
   * The body's length, when the request declared it (Content-Length): the fuzzy hashing then
   * skips block sizes it cannot choose. A body of another length fails the upload anyway.
   */
  readonly size?: number;
}

export interface StoredSample extends SampleDigests {
  readonly site: string;
  /** True when this site did not hold the sample before. */
  readonly new: boolean;
}

/** What a sample's bytes say of it beyond its digests: fuzzy hashes and file type. */
export interface SampleFingerprint {
  /** `blocksize:hash:hash`, as the `ssdeep` command prints it. */
  readonly ssdeep: string;
  /** `T1` and the 70 hex digits TLSH 3.4's `tlsh` prints; null under 256 bytes or with too little variety. */
  readonly tlsh: string | null;
  /** A media type from the magic bytes, e.g. `application/x-msdownload`; `application/octet-stream` if unknown. */
  readonly fileType: string;
}

export interface SampleAtSite extends SampleDigests {
  /** Null until computed (a sample stored before fingerprints, until the backfill reaches it). */
  readonly ssdeep: string | null;
  readonly tlsh: string | null;
  readonly fileType: string | null;
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
