import type { Readable } from 'node:stream';
import type { Actor } from './audit-sink.js';
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
  usage(): Promise<{ samples: number; bytes: number }>;
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
   * site can reach its peers; a peer away fails with `SITE_UNAVAILABLE` naming the peer.
   */
  importSampleFrom?(record: RelocatableSample, source: PeerSite): Promise<{ copied: boolean }>;
  /**
   * Makes the installation's submissions and/or events here exactly the given ones (creating
   * its key here if needed); idempotent. Its samples must be imported first.
   */
  importInstallation(
    records: Pick<RelocatableRecords, 'installationId' | 'submissions' | 'events'>,
    replace: { readonly submissions: boolean; readonly events: boolean },
  ): Promise<void>;
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
