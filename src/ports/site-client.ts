import type { Readable } from 'node:stream';
import type { Actor } from './audit-sink.js';
import type {
  CommentQuery,
  SampleComment,
  SampleNotes,
  SampleSearch,
  SampleSearchPage,
  SimilarQuery,
  SimilarSample,
} from './catalogue.js';
import type {
  InstallationInventory,
  PurgeResult,
  RelocatableRecords,
  RelocatableSample,
  SiteResidencyScan,
} from './installation-records.js';
import type {
  SampleAtSite,
  SampleHash,
  SampleSubmission,
  StoredSample,
  SubmissionRecord,
} from './samples.js';
import type { StatsAggregation, StatsEventRow, StatsGroup, TimeRange } from './storage.js';

/** Everything one site holds about one installation (in a time range), personal fields opened. */
export interface InstallationRecords {
  readonly site: string;
  readonly jurisdiction: string;
  /** When the site admitted the installation (created its key). */
  readonly admittedAt: string;
  readonly submissions: readonly SubmissionRecord[];
  readonly events: readonly StatsEventRow[];
}

/** Where a site's API answers its peers: a site names it to copy a sample from it directly. */
export interface PeerSite {
  /** The site's name, which the certificate of the server at `url` must carry (role `site`). */
  readonly name: string;
  /** `https://host:port` of the site's API. */
  readonly url: string;
}

/**
 * How a site reaches its peer sites (mutual TLS, its own certificate), for a copy site to
 * site: the site API is given one where the deployment runs sites as separate services.
 */
export interface PeerSites {
  /** The sample's plaintext, read from the peer's `openSamplePlaintext`. */
  openSamplePlaintext(peer: PeerSite, sha256: string): Promise<Readable>;
  close(): void;
}

/**
 * A site's figures for `/metrics`: the samples it stores (a count over its sample table, so
 * the control plane asks at most every half minute), and, from its serving process only,
 * telemetry acknowledged but not loaded yet and the state of its log's publication.
 */
export interface SiteUsage {
  readonly samples: number;
  /** Plaintext bytes of the samples stored. */
  readonly bytes: number;
  /** Write batches durable in the telemetry write-ahead log and not loaded, and their bytes. */
  readonly telemetryBacklog?: { readonly batches: number; readonly bytes: number };
  /** Samples the fingerprint backfill has still to do, while it runs. */
  readonly fingerprintsPending?: number;
  readonly log?: {
    /** Entries durable in the journal. */
    readonly entries: number;
    /** Entries the latest signed checkpoint covers. */
    readonly checkpointSize: number;
    /** When the site last found its checkpoint covering the journal, ms since the epoch. */
    readonly checkpointCurrentAt: number | null;
  };
}

/**
 * How the control plane reaches a site. In `glasshouse up` it is an in-process call; at
 * scale an HTTP client to a site in another jurisdiction implements the same interface,
 * so the control plane never knows (or cares) where a site runs.
 *
 * @example
 * const stored = await sites.get('zurich').storeSample({ installationId, filename, product, body });
 */
export interface SiteClient {
  readonly name: string;
  readonly jurisdiction: string;
  /** Creates the installation's data key at the site (idempotent) and logs it, committed. */
  admitInstallation(installationId: string, actor: Actor): Promise<void>;
  storeSample(submission: SampleSubmission): Promise<StoredSample>;
  findSample(hash: SampleHash): Promise<SampleAtSite | undefined>;
  /** Records the download at the site, then streams the plaintext. */
  openSampleForDownload(sha256: string, actor: Actor): Promise<Readable>;
  /** What the site stores, and how its serving process keeps up (see {@link SiteUsage}). */
  usage(): Promise<SiteUsage>;

  // The catalogue (site/catalogue): analysts' tags and comments on the site's samples, and search.
  /**
   * Tags a sample the site holds (idempotent; `SAMPLE_NOT_FOUND` otherwise), logged at the
   * site as `sample.tagged` when new.
   */
  tagSample(sha256: string, tag: string, actor: Actor): Promise<{ changed: boolean }>;
  /** Removes a tag (idempotent), logged at the site as `sample.untagged` when it was there. */
  untagSample(sha256: string, tag: string, actor: Actor): Promise<{ changed: boolean }>;
  /** Stores a comment on a sample the site holds, idempotent by its id; logged as `sample.commented`. */
  commentOnSample(comment: SampleComment, actor: Actor): Promise<SampleComment>;
  /** The sample's comments at the site, oldest first by (createdAt, id), after `query.after`. */
  listSampleComments(sha256: string, query: CommentQuery): Promise<SampleComment[]>;
  /** The sample's tags and comment count at the site (empty when it holds none). */
  sampleNotes(sha256: string): Promise<SampleNotes>;
  /** The site's samples matching the filters, newest first by (firstSeen, sha256). */
  searchSamples(query: SampleSearch): Promise<SampleSearchPage>;
  /**
   * The site's samples nearest a TLSH digest, nearest first (ties by SHA-256), at most
   * `limit` within `maxDistance`, each with its ssdeep score against `query.ssdeep`; from the
   * site's in-memory index. `INVALID_TLSH` for a digest that is not one.
   */
  similarSamples(query: SimilarQuery): Promise<SimilarSample[]>;
  /**
   * Appends telemetry rows (the load format of `STATS_ROW_COLUMNS`, country included) to the
   * site's statistics buffer; resolves once they are durable. `rows` is handed over (it is
   * reused once loaded): the caller must not touch it afterwards.
   */
  appendEvents(rows: Buffer): Promise<void>;
  /** Counts of the site's events by group; never a raw row, never an installation id. */
  aggregateEvents(query: StatsAggregation): Promise<StatsGroup[]>;
  /**
   * Erasure hook for the privacy desk: deletes every event of the installation acknowledged
   * at the site so far (the store and the write-ahead log), and logs it as a commitment.
   */
  eraseInstallationEvents(installationId: string, actor: Actor): Promise<{ deleted: number }>;
  /**
   * What the site holds about the installation in the range, for the legal and privacy desks;
   * `undefined` when the site holds nothing of it (no key). Reading is not logged here: the
   * desk that asks logs its own decision.
   */
  installationRecords(installationId: string, range?: TimeRange): Promise<InstallationRecords | undefined>;
  /**
   * How many submissions and events of the installation the site holds in the range, and
   * nothing else: for the legal desk to say what it withholds without moving the records out
   * of a jurisdiction it may not disclose from. `undefined` when the site holds nothing of it.
   */
  countInstallationRecords(
    installationId: string,
    range?: TimeRange,
  ): Promise<{ readonly submissions: number; readonly events: number } | undefined>;
  /**
   * A commitment for the log (`SubjectKeys.commit`) under the installation's key at this site,
   * for the desks' control-plane entries; rejects with `SUBJECT_NOT_AT_SITE` once erased.
   */
  commitInstallation(installationId: string, field: string, value: string): Promise<string>;
  /**
   * Erasure hook for the privacy desk, the last at a site: deletes the installation's
   * submissions and the samples (rows and encrypted blobs) no other submission at the site
   * references, then compacts the site's metadata store (VACUUM, WAL truncated). Run after
   * `eraseInstallationKey`, no submission of the installation can land afterwards. Idempotent.
   */
  eraseInstallationSubmissions(
    installationId: string,
  ): Promise<{ submissions: number; samplesRemoved: readonly string[] }>;
  /**
   * Erasure hook for the privacy desk: destroys the installation's key (crypto-shredding its
   * sealed fields and its log salt) and logs it as a commitment taken just before; from then
   * on the site refuses the installation's submissions. Idempotent.
   */
  eraseInstallationKey(installationId: string, actor: Actor): Promise<{ key: boolean }>;

  // Relocation (src/relocation): moving an installation's records to another site.
  /** Everything the site holds of the installation, file names unsealed (for a copy). */
  exportInstallation(installationId: string): Promise<RelocatableRecords>;
  /** Counts and checksums of the installation's records here; `key`: whether its key is here. */
  inventoryInstallation(installationId: string): Promise<InstallationInventory>;
  /** A sample's plaintext for a copy to another site (not a download: no entry). */
  openSamplePlaintext(sha256: string): Promise<Readable>;
  /** Stores a sample from another site under this site's key, checking its SHA-256; idempotent. */
  importSample(record: RelocatableSample, plaintext: Readable): Promise<{ copied: boolean }>;
  /**
   * Where peer sites reach this site, when it is a separate service whose peers can copy from
   * it directly ({@link importSampleFrom}); absent in process.
   */
  readonly peer?: PeerSite;
  /**
   * {@link importSample}, the site reading the plaintext from the peer site itself (its
   * `openSamplePlaintext`), so the bytes do not pass through the caller. Present where the
   * site can reach its peers; a peer away fails with `SITE_UNAVAILABLE` naming the peer. A
   * sample the site holds already is `{ copied: false }` at once, the peer not asked.
   */
  importSampleFrom?(record: RelocatableSample, source: PeerSite): Promise<{ copied: boolean }>;
  /**
   * Makes the installation's submissions and/or events here exactly the given ones (creating
   * its key here if needed); idempotent. Its samples must be imported first. Answers the
   * installation's inventory here afterwards (as {@link inventoryInstallation} would), so a
   * caller that checks the copy needs no second round trip.
   */
  importInstallation(
    records: Pick<RelocatableRecords, 'installationId' | 'submissions' | 'events'>,
    replace: { readonly submissions: boolean; readonly events: boolean },
  ): Promise<InstallationInventory>;
  /** Reads a sample back, decrypts it and checks it hashes to its SHA-256. */
  verifySample(sha256: string): Promise<boolean>;
  /** Reads a sample back and authenticates every segment (no hash: see docs/relocation.md). */
  authenticateSample(sha256: string): Promise<boolean>;
  /**
   * Removes every record of the installations (submissions, events, keys) and the samples no
   * installation remaining here references; idempotent. The site's stores are compacted
   * before it resolves, so no raw file keeps anything of them. See site/installation-purge.ts.
   */
  purgeInstallations(installationIds: readonly string[]): Promise<PurgeResult>;
  /** Appends a relocation entry to the site's log (`relocation.sent` / `relocation.received`). */
  recordRelocation(entry: RelocationSiteEntry, actor: Actor): Promise<void>;
  /** What the site holds, by installation, with every referenced sample checked (audit). */
  scanResidency(): Promise<SiteResidencyScan>;

  // Hunts (control/hunts): a YARA rule set matched against the site's samples, batch by batch.
  /**
   * Matches the YARA rule set against the next samples the site holds in the order they
   * arrived, after `after`; each is decrypted on a worker thread and never written in
   * clear. The site compiles the rules itself (`INVALID_YARA_RULES` if they do not). Nothing
   * is logged here: the hunt logs itself at the control plane. A read: safe to repeat.
   *
   * @example
   * let after = 0;
   * for (let page = await site.scanSamples({ rules, after, limit: 64 }); ; after = page.next) { … }
   */
  scanSamples(request: SampleScanRequest): Promise<SampleScanResult>;

  // The site's own public log, so the control plane can serve `/log/<site>/…` for it.
  /** The latest signed checkpoint the site's log published (a signed note), if any. */
  logCheckpoint(): Promise<string | undefined>;
  /** A published file of the site's log (C2SP tlog-tiles path, e.g. `tile/0/000`); `undefined` if absent. */
  readLogTile(path: string): Promise<Buffer | undefined>;
  /** Resolves once the site is ready to serve; rejects (`SITE_UNAVAILABLE` remotely) otherwise. */
  health(): Promise<void>;
}

/** A finished relocation batch, as one of its two sites logs it. */
export interface RelocationSiteEntry {
  readonly kind: 'sent' | 'received';
  readonly relocation: string;
  readonly batch: number;
  readonly source: string;
  readonly target: string;
  /** At the target only (the source holds no key any more): logged as commitments. */
  readonly installationIds: readonly string[];
  readonly installations: number;
  readonly submissions: number;
  readonly samples: number;
  readonly bytes: number;
  readonly events: number;
}

/** A batch of a hunt at one site (see {@link SiteClient.scanSamples}). */
export interface SampleScanRequest {
  /** The YARA rule set's text. */
  readonly rules: string;
  /**
   * Where the previous batch ended (its `next`); 0 for the first. Samples are taken in the
   * order they arrived at the site (their first submission there), so a sample stored after a
   * hunt's scan reached the end comes after its cursor: the same cursor picks it up later.
   */
  readonly after: number;
  /** Samples at most in this batch. */
  readonly limit: number;
}

export interface SampleScanResult {
  /** Samples matched against the rules (a sample removed or unreadable meanwhile is skipped). */
  readonly scanned: number;
  readonly skipped: number;
  /** Plaintext bytes scanned. */
  readonly bytes: number;
  readonly matches: readonly SampleScanMatch[];
  /** The cursor after this batch, for the next one. */
  readonly next: number;
  /** True when the batch reached the last sample the site holds now. */
  readonly end: boolean;
}

export interface SampleScanMatch {
  readonly sha256: string;
  /** The names of the rules that matched, sorted. */
  readonly rules: readonly string[];
}
