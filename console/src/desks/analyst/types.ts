/** The answers of the analysts' routes, as the API documents them. */

export interface SampleSite {
  readonly site: string;
  readonly firstSeen: string;
  readonly lastSeen: string;
  readonly submissions: number;
}

/** `GET /v1/samples/{hash}`: only the token's sites. */
export interface SampleDescription {
  readonly sha256: string;
  readonly sha1: string;
  readonly md5: string;
  readonly sha512: string;
  readonly size: number;
  readonly ssdeep: string | null;
  readonly tlsh: string | null;
  readonly sites: readonly SampleSite[];
  readonly unavailableSites: readonly string[];
}

/** `GET /v1/verdicts/{hash}`: what products are told about the hash. */
export interface VerdictAnswer {
  readonly hash: string;
  readonly verdict: string;
  readonly threat: string | null;
  readonly firstSeen: string | null;
}

/** `PUT /v1/verdicts/{hash}`: the verdict and every hash it now covers. */
export interface VerdictSet {
  readonly hash: string;
  readonly verdict: string;
  readonly threat: string | null;
  readonly firstSeen: string;
  readonly hashes: readonly string[];
}

export interface BadLine {
  readonly line: number;
  readonly message: string;
}

/** `POST /v1/verdicts/import`. */
export interface ImportResult {
  readonly records: number;
  readonly loaded: number;
  readonly bad: number;
  readonly badLines: readonly BadLine[];
  readonly bytes: number;
  readonly sha256: string;
}

export interface StatsRow {
  readonly day?: string | null;
  readonly country?: string | null;
  readonly threat?: string | null;
  readonly events: number;
  readonly installations: number;
}

/** `GET /v1/stats/*`: groups of fewer than `minGroupSize` installations are counted, not shown. */
export interface StatsAnswer {
  readonly rows: readonly StatsRow[];
  readonly suppressed: number;
  readonly truncated: boolean;
  readonly minGroupSize: number;
}

export const VERDICTS = ['malicious', 'suspicious', 'clean'] as const;
