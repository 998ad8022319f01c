import type { SampleDigests } from './samples.js';

/** A sample's tags and how many comments it has, at one site. */
export interface SampleNotes {
  readonly tags: readonly string[];
  readonly comments: number;
}

/**
 * A comment on a sample. The control plane gives it its id and time, so that the copies at
 * each site holding the sample are the same comment (listed once).
 */
export interface SampleComment {
  readonly id: string;
  readonly sha256: string;
  readonly text: string;
  readonly createdAt: string;
  /** The id of the token that wrote it (its role apart): who to ask, never a name. */
  readonly author: { readonly role: string; readonly token: string };
}

/** Comments after a key, oldest first: (createdAt, id) ascending. */
export interface CommentQuery {
  readonly limit: number;
  readonly after?: { readonly createdAt: string; readonly id: string };
}

/**
 * A search at one site: its samples newest first by (firstSeen, sha256), filtered. Dates are
 * ISO 8601 as the site stores them; `firstSeenTo` is exclusive.
 */
export interface SampleSearch {
  /** A media type, exactly as recorded (`application/x-msdownload`). */
  readonly type?: string;
  readonly minSize?: number;
  readonly maxSize?: number;
  readonly firstSeenFrom?: string;
  readonly firstSeenTo?: string;
  readonly tag?: string;
  readonly limit: number;
  /** Only samples sorting after this key (newest first); `inclusive` keeps the key itself. */
  readonly before?: { readonly firstSeen: string; readonly sha256: string; readonly inclusive: boolean };
  /** Also count every match (without `before`/`limit`): one more query at the site. */
  readonly count?: boolean;
}

/** One sample as a search answers it: technical data only (never a submission's details). */
export interface SampleHit extends SampleDigests {
  /** The media type from the magic bytes; null until the site has fingerprinted the sample. */
  readonly type: string | null;
  readonly site: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly tags: readonly string[];
}

export interface SampleSearchPage {
  readonly hits: readonly SampleHit[];
  /** Every match at the site, when asked for (`count`). */
  readonly total?: number;
}

/**
 * The samples at one site nearest a TLSH digest (see docs/catalogue.md, "Similar samples"),
 * nearest first, ties by SHA-256.
 */
export interface SimilarQuery {
  /** TLSH digest, `T1` and 70 hex digits. */
  readonly tlsh: string;
  /** The queried sample's ssdeep signature, for each answer's score against it. */
  readonly ssdeep?: string;
  /** A SHA-256 never answered: the queried sample itself. */
  readonly exclude?: string;
  /** TLSH distance at most (inclusive). */
  readonly maxDistance: number;
  readonly limit: number;
}

/** A sample a similarity query answers: technical data only (never a submission's details). */
export interface SimilarSample {
  readonly sha256: string;
  readonly sha1: string;
  readonly md5: string;
  readonly sha512: string;
  readonly size: number;
  readonly tlsh: string;
  readonly ssdeep: string | null;
  readonly site: string;
  /** TLSH distance to the queried digest (0: the same digest). */
  readonly distance: number;
  /** ssdeep's match score (0–100) against the queried signature; `null` when either has none. */
  readonly ssdeepScore: number | null;
}
