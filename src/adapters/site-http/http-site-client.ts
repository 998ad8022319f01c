import type { Readable } from 'node:stream';
import type { TlsMaterial } from '../../pki/certificates.js';
import type { Actor } from '../../ports/audit-sink.js';
import type {
  CommentQuery,
  SampleComment,
  SampleNotes,
  SampleSearch,
  SampleSearchPage,
  SimilarQuery,
  SimilarSample,
} from '../../ports/catalogue.js';
import type {
  InstallationInventory,
  PurgeResult,
  RelocatableRecords,
  RelocatableSample,
  SiteResidencyScan,
} from '../../ports/installation-records.js';
import type { SampleAtSite, SampleHash, SampleSubmission, StoredSample } from '../../ports/samples.js';
import type {
  InstallationRecords,
  PeerSite,
  RelocationSiteEntry,
  SampleScanRequest,
  SampleScanResult,
  SiteClient,
  SiteUsage,
} from '../../ports/site-client.js';
import {
  aggregationToWire,
  encodeHeaderJson,
  type Maybe,
  rangeToQuery,
  SAMPLE_HEADER,
  SUBMISSION_HEADER,
} from '../../ports/site-wire.js';
import type { StatsAggregation, StatsGroup, TimeRange } from '../../ports/storage.js';
import { RemoteSiteError } from './remote-site-error.js';
import { SiteTransport } from './site-transport.js';

export interface HttpSiteClientOptions {
  readonly name: string;
  readonly jurisdiction: string;
  /** `https://host:port` of the site's API. */
  readonly url: string;
  /** The deployment's CA, and the caller's certificate (the control plane's, or a peer site's). */
  readonly tls: TlsMaterial;
  /** Connect and idle timeout, and the budget for retries of one call; 30 s unless given. */
  readonly timeoutMs?: number;
  /**
   * How long the site may work on a call before it answers, for the calls that compact or
   * scan a whole store (purge, erasure of submissions, residency scan, import); 5 min unless given.
   */
  readonly slowCallTimeoutMs?: number;
  /** How many times a call safe to repeat is retried; 3 unless given. */
  readonly retries?: number;
}

/** Reads and calls that may be repeated; `mutating` also carries an Idempotency-Key. */
const READ = { idempotent: true, mutating: false } as const;
const REPEATABLE_WRITE = { idempotent: true, mutating: true } as const;
/** Never repeated unless provably not sent; the key still lets the site answer a repeat once. */
const ONCE_ONLY = { idempotent: false, mutating: true } as const;

/** The default of `slowCallTimeoutMs`. */
const SLOW_CALL_TIMEOUT_MS = 5 * 60_000;

/**
 * A site in another process or jurisdiction, reached over HTTPS with mutual TLS (see
 * site/api/site-api-server.ts). Only a server whose certificate names this site (OU `site`,
 * CN the site's name) is spoken to. A site that does not answer fails with
 * `SITE_UNAVAILABLE`; a refusal it answers keeps the site's code, message and details.
 *
 * @example
 * const zurich = new HttpSiteClient({ name: 'zurich', jurisdiction: 'CH', url: 'https://10.0.0.5:8443', tls });
 * const stored = await zurich.storeSample({ installationId, filename, product, body });
 */
export class HttpSiteClient implements SiteClient {
  readonly name: string;
  readonly jurisdiction: string;
  /** The address this client reaches the site at, which its peer sites can reach it at too. */
  readonly peer: PeerSite;
  readonly #http: SiteTransport;
  /** Spread into the calls that compact or scan a whole store. */
  readonly #slow: { readonly answerTimeoutMs: number };

  constructor(options: HttpSiteClientOptions) {
    this.name = options.name;
    this.jurisdiction = options.jurisdiction;
    this.peer = { name: options.name, url: options.url };
    this.#slow = { answerTimeoutMs: options.slowCallTimeoutMs ?? SLOW_CALL_TIMEOUT_MS };
    this.#http = new SiteTransport({
      site: options.name,
      url: options.url,
      tls: options.tls,
      timeoutMs: options.timeoutMs ?? 30_000,
      retries: options.retries ?? 3,
    });
  }

  admitInstallation(installationId: string, actor: Actor): Promise<void> {
    return this.#http.empty({
      route: 'admitInstallation',
      params: { installationId },
      json: { actor },
      ...REPEATABLE_WRITE,
    });
  }

  storeSample(submission: SampleSubmission): Promise<StoredSample> {
    const { body, ...fields } = submission;
    return this.#http.json({
      route: 'storeSample',
      headers: { [SUBMISSION_HEADER]: encodeHeaderJson(fields) },
      stream: body,
      ...ONCE_ONLY,
    });
  }

  async findSample(hash: SampleHash): Promise<SampleAtSite | undefined> {
    const found = await this.#http.json<Maybe<SampleAtSite>>({
      route: 'findSample',
      query: { kind: hash.kind, value: hash.value },
      ...READ,
    });
    return found.value;
  }

  openSampleForDownload(sha256: string, actor: Actor): Promise<Readable> {
    return this.#http.stream({
      route: 'openSampleForDownload',
      params: { sha256 },
      json: { actor },
      ...ONCE_ONLY,
    });
  }

  usage(): Promise<SiteUsage> {
    return this.#http.json({ route: 'usage', ...READ });
  }

  tagSample(sha256: string, tag: string, actor: Actor): Promise<{ changed: boolean }> {
    return this.#http.json({
      route: 'tagSample',
      params: { sha256, tag },
      json: { actor },
      ...REPEATABLE_WRITE,
    });
  }

  untagSample(sha256: string, tag: string, actor: Actor): Promise<{ changed: boolean }> {
    return this.#http.json({
      route: 'untagSample',
      params: { sha256, tag },
      json: { actor },
      ...REPEATABLE_WRITE,
    });
  }

  commentOnSample(comment: SampleComment, actor: Actor): Promise<SampleComment> {
    const { id, sha256, ...fields } = comment;
    // The comment's id makes a repeat the same comment: safe to retry.
    return this.#http.json({
      route: 'commentOnSample',
      params: { sha256, id },
      json: { ...fields, actor },
      ...REPEATABLE_WRITE,
    });
  }

  async listSampleComments(sha256: string, query: CommentQuery): Promise<SampleComment[]> {
    const after =
      query.after === undefined ? {} : { afterCreatedAt: query.after.createdAt, afterId: query.after.id };
    const answer = await this.#http.json<{ comments: SampleComment[] }>({
      route: 'listSampleComments',
      params: { sha256 },
      query: { limit: String(query.limit), ...after },
      ...READ,
    });
    return answer.comments;
  }

  sampleNotes(sha256: string): Promise<SampleNotes> {
    return this.#http.json({ route: 'sampleNotes', params: { sha256 }, ...READ });
  }

  searchSamples(query: SampleSearch): Promise<SampleSearchPage> {
    return this.#http.json({ route: 'searchSamples', json: query, ...READ });
  }

  async similarSamples(query: SimilarQuery): Promise<SimilarSample[]> {
    const answer = await this.#http.json<{ samples: SimilarSample[] }>({
      route: 'similarSamples',
      json: query,
      ...READ,
    });
    return answer.samples;
  }

  appendEvents(rows: Buffer): Promise<void> {
    return this.#http.empty({ route: 'appendEvents', bytes: rows, ...ONCE_ONLY });
  }

  aggregateEvents(query: StatsAggregation): Promise<StatsGroup[]> {
    return this.#http.json({ route: 'aggregateEvents', json: aggregationToWire(query), ...READ });
  }

  eraseInstallationEvents(installationId: string, actor: Actor): Promise<{ deleted: number }> {
    return this.#http.json({
      route: 'eraseInstallationEvents',
      params: { installationId },
      json: { actor },
      ...REPEATABLE_WRITE,
      ...this.#slow,
    });
  }

  async installationRecords(
    installationId: string,
    range?: TimeRange,
  ): Promise<InstallationRecords | undefined> {
    const records = await this.#http.json<Maybe<InstallationRecords>>({
      route: 'installationRecords',
      params: { installationId },
      query: rangeToQuery(range),
      ...READ,
    });
    return records.value;
  }

  async countInstallationRecords(
    installationId: string,
    range?: TimeRange,
  ): Promise<{ readonly submissions: number; readonly events: number } | undefined> {
    const counts = await this.#http.json<Maybe<{ submissions: number; events: number }>>({
      route: 'countInstallationRecords',
      params: { installationId },
      query: rangeToQuery(range),
      ...READ,
    });
    return counts.value;
  }

  async commitInstallation(installationId: string, field: string, value: string): Promise<string> {
    // A POST for the value's sake (it may be personal: never in a URL), but a read all the same.
    const answer = await this.#http.json<{ commitment: string }>({
      route: 'commitInstallation',
      params: { installationId },
      json: { field, value },
      ...READ,
    });
    return answer.commitment;
  }

  eraseInstallationSubmissions(
    installationId: string,
  ): Promise<{ submissions: number; samplesRemoved: readonly string[] }> {
    return this.#http.json({
      route: 'eraseInstallationSubmissions',
      params: { installationId },
      ...REPEATABLE_WRITE,
      ...this.#slow,
    });
  }

  eraseInstallationKey(installationId: string, actor: Actor): Promise<{ key: boolean }> {
    return this.#http.json({
      route: 'eraseInstallationKey',
      params: { installationId },
      json: { actor },
      ...REPEATABLE_WRITE,
    });
  }

  exportInstallation(installationId: string): Promise<RelocatableRecords> {
    return this.#http.json({
      route: 'exportInstallation',
      params: { installationId },
      ...READ,
      ...this.#slow,
    });
  }

  inventoryInstallation(installationId: string): Promise<InstallationInventory> {
    return this.#http.json({ route: 'inventoryInstallation', params: { installationId }, ...READ });
  }

  openSamplePlaintext(sha256: string): Promise<Readable> {
    return this.#http.stream({ route: 'openSamplePlaintext', params: { sha256 }, ...READ });
  }

  importSample(record: RelocatableSample, plaintext: Readable): Promise<{ copied: boolean }> {
    return this.#http.json({
      route: 'importSample',
      params: { sha256: record.sha256 },
      // Its length, declared: a site that holds the sample already answers at once and reads
      // the rest away, rather than closing under the bytes in flight.
      headers: { [SAMPLE_HEADER]: encodeHeaderJson(record), 'content-length': String(record.size) },
      stream: plaintext,
      ...REPEATABLE_WRITE,
    });
  }

  importSampleFrom(record: RelocatableSample, source: PeerSite): Promise<{ copied: boolean }> {
    return this.#http.json({
      route: 'importSampleFrom',
      params: { sha256: record.sha256 },
      json: { record, source },
      ...REPEATABLE_WRITE,
      // The answer comes once the whole sample is copied, sealed and durable.
      ...this.#slow,
    });
  }

  importInstallation(
    records: Pick<RelocatableRecords, 'installationId' | 'submissions' | 'events'>,
    replace: { readonly submissions: boolean; readonly events: boolean },
  ): Promise<InstallationInventory> {
    const { installationId, submissions, events } = records;
    return this.#http.json({
      route: 'importInstallation',
      params: { installationId },
      json: { records: { installationId, submissions, events }, replace },
      ...REPEATABLE_WRITE,
      ...this.#slow,
    });
  }

  async verifySample(sha256: string): Promise<boolean> {
    return (await this.#http.json<{ ok: boolean }>({ route: 'verifySample', params: { sha256 }, ...READ }))
      .ok;
  }

  async authenticateSample(sha256: string): Promise<boolean> {
    return (
      await this.#http.json<{ ok: boolean }>({ route: 'authenticateSample', params: { sha256 }, ...READ })
    ).ok;
  }

  purgeInstallations(installationIds: readonly string[]): Promise<PurgeResult> {
    return this.#http.json({
      route: 'purgeInstallations',
      json: { installationIds },
      ...REPEATABLE_WRITE,
      ...this.#slow,
    });
  }

  recordRelocation(entry: RelocationSiteEntry, actor: Actor): Promise<void> {
    return this.#http.empty({ route: 'recordRelocation', json: { entry, actor }, ...ONCE_ONLY });
  }

  scanResidency(): Promise<SiteResidencyScan> {
    return this.#http.json({ route: 'scanResidency', ...READ, ...this.#slow });
  }

  scanSamples(request: SampleScanRequest): Promise<SampleScanResult> {
    // A POST for the rules' sake (too long for a URL), but a read: safe to repeat.
    return this.#http.json({ route: 'scanSamples', json: request, ...READ, ...this.#slow });
  }

  async logCheckpoint(): Promise<string | undefined> {
    return (await this.readLogTile('checkpoint'))?.toString('utf8');
  }

  async readLogTile(path: string): Promise<Buffer | undefined> {
    try {
      return await this.#http.bytes({ route: 'readLogTile', params: { '*': path }, ...READ });
    } catch (error) {
      if (error instanceof RemoteSiteError && error.code === 'TILE_NOT_FOUND') return undefined;
      throw error;
    }
  }

  health(): Promise<void> {
    return this.#http.empty({ route: 'health', ...READ });
  }

  /** Closes the idle connections to the site. */
  close(): void {
    this.#http.close();
  }
}
