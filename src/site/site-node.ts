import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { sql } from 'kysely';
import type { TransparencyLog } from '../ledger/transparency-log.js';
import type { Actor, AuditSink } from '../ports/audit-sink.js';
import type { CommentQuery, SampleComment, SampleSearch, SimilarQuery } from '../ports/catalogue.js';
import type { RelocatableRecords, RelocatableSample } from '../ports/installation-records.js';
import { inventoryOf } from '../ports/installation-records.js';
import type { SampleHash, SampleSubmission } from '../ports/samples.js';
import type {
  InstallationRecords,
  RelocationSiteEntry,
  SampleScanRequest,
  SampleScanResult,
  SiteClient,
  SiteUsage,
} from '../ports/site-client.js';
import type { BlobStore, MetadataStore, StatsAggregation, TimeRange } from '../ports/storage.js';
import { tablesOf } from '../shared/narrow.js';
import { StatsError } from '../shared/stats-errors.js';
import { CatalogueService } from './catalogue/catalogue-service.js';
import type { CatalogueTables } from './catalogue/catalogue-tables.js';
import { SimilarSamples } from './catalogue/similar-samples.js';
import { purgeInstallations } from './installation-purge.js';
import * as transfer from './installation-transfer.js';
import type { StatsBuffer } from './stats/stats-buffer.js';
import { SubjectKeys } from './subjects/subject-keys.js';
import type { SubjectTables } from './subjects/subject-tables.js';
import type { FingerprintBackfill } from './vault/fingerprint/fingerprint-backfill.js';
import { VaultService } from './vault/vault-service.js';
import type { VaultTables } from './vault/vault-tables.js';

export type SiteTables = VaultTables & SubjectTables & CatalogueTables;

export interface SiteNodeOptions {
  readonly name: string;
  readonly jurisdiction: string;
  readonly metadata: MetadataStore<SiteTables>;
  readonly blobs: BlobStore;
  readonly audit: AuditSink;
  /** The site's log as published (in `main.ts` the same log as `audit`). */
  readonly log: Pick<TransparencyLog, 'checkpoint' | 'readPublished' | 'publication' | 'size'>;
  readonly masterKey: Buffer;
  readonly maxSampleBytes: number;
  /** Fuzzy hashes and file type computed as uploads stream (default true). */
  readonly fingerprints?: boolean;
  readonly onBackgroundError?: ((error: unknown, context: string) => void) | undefined;
  readonly onBackgroundProgress?: ((message: string) => void) | undefined;
  /** The site's telemetry (write-ahead log and `StatsStore`); only the serving process has it. */
  readonly stats: StatsBuffer | undefined;
  readonly now: () => Date;
}

/** One site's services over its own stores and keys; reached through `SiteClient`. */
export class SiteNode implements SiteClient {
  readonly name: string;
  readonly jurisdiction: string;
  readonly vault: VaultService;
  readonly catalogue: CatalogueService;
  /** The similarity index over the vault's TLSH digests (in memory; see similar-samples.ts). */
  readonly similar: SimilarSamples;
  readonly subjects: SubjectKeys;
  /** Fingerprints the samples stored without them; the serving process starts it. */
  readonly backfill: FingerprintBackfill;
  readonly stats: StatsBuffer | undefined;
  /** The largest sample the site stores, in bytes. */
  readonly maxSampleBytes: number;
  readonly #options: SiteNodeOptions;

  constructor(options: SiteNodeOptions) {
    this.#options = options;
    this.name = options.name;
    this.jurisdiction = options.jurisdiction;
    this.stats = options.stats;
    this.maxSampleBytes = options.maxSampleBytes;
    this.subjects = new SubjectKeys({
      site: options.name,
      db: tablesOf<SubjectTables>(options.metadata.db),
      masterKey: options.masterKey,
      now: options.now,
    });
    this.vault = new VaultService({
      ...options,
      site: options.name,
      db: tablesOf<VaultTables>(options.metadata.db),
      durable: () => options.metadata.durable(),
      subjects: this.subjects,
      onUnfingerprinted: () => this.backfill.nudge(),
      stillAdmitted: (trx, installationId) =>
        SubjectKeys.isAdmitted(tablesOf<SubjectTables>(trx), installationId),
    });
    this.backfill = this.vault.fingerprintBackfill({
      onError: (error) => options.onBackgroundError?.(error, `fingerprinting the samples of ${options.name}`),
      onProgress: ({ done, pending, running }) => {
        if (done > 0 || pending > 0) {
          options.onBackgroundProgress?.(
            `site ${options.name}: fingerprint backfill ${running ? 'running' : 'stopped'}: ${done} samples fingerprinted, ${pending} to go`,
          );
        }
      },
    });
    this.catalogue = new CatalogueService({
      site: options.name,
      db: tablesOf<CatalogueTables & VaultTables>(options.metadata.db),
      durable: () => options.metadata.durable(),
      audit: options.audit,
      now: options.now,
    });
    this.similar = new SimilarSamples({ site: options.name, db: tablesOf<VaultTables>(options.metadata.db) });
    // A refresh that fails leaves an answer out until the next start at worst: the query reads
    // its answers' rows back, so nothing removed is ever answered.
    this.vault.onSamplesChanged((sha256s) => {
      this.similar.refresh(sha256s).catch(() => undefined);
    });
  }

  async admitInstallation(installationId: string, actor: Actor): Promise<void> {
    await this.subjects.admit(installationId);
    await this.#options.audit.append({
      type: 'installation.admitted',
      time: this.#options.now().toISOString(),
      actor,
      site: this.name,
      installation: await this.subjects.commit(installationId, 'installation', installationId),
    });
  }

  storeSample(submission: SampleSubmission) {
    return this.vault.store(submission);
  }

  findSample(hash: SampleHash) {
    return this.vault.find(hash);
  }

  openSampleForDownload(sha256: string, actor: Actor): Promise<Readable> {
    return this.vault.openForDownload(sha256, actor);
  }

  async usage(): Promise<SiteUsage> {
    const stored = await this.vault.usage();
    const backfill = this.backfill.progress();
    const publication = this.#options.log.publication();
    return {
      ...stored,
      ...(backfill.running ? { fingerprintsPending: backfill.pending } : {}),
      ...(this.stats === undefined ? {} : { telemetryBacklog: this.stats.backlog() }),
      ...(publication.currentAt === undefined
        ? {}
        : {
            log: {
              entries: await this.#options.log.size(),
              checkpointSize: publication.size,
              checkpointCurrentAt: publication.currentAt,
            },
          }),
    };
  }

  tagSample(sha256: string, tag: string, actor: Actor) {
    return this.catalogue.tag(sha256, tag, actor);
  }

  untagSample(sha256: string, tag: string, actor: Actor) {
    return this.catalogue.untag(sha256, tag, actor);
  }

  commentOnSample(comment: SampleComment, actor: Actor) {
    return this.catalogue.comment(comment, actor);
  }

  listSampleComments(sha256: string, query: CommentQuery) {
    return this.catalogue.comments(sha256, query);
  }

  sampleNotes(sha256: string) {
    return this.catalogue.notes(sha256);
  }

  searchSamples(query: SampleSearch) {
    return this.catalogue.search(query);
  }

  similarSamples(query: SimilarQuery) {
    return this.similar.query(query);
  }

  async appendEvents(rows: Buffer): Promise<void> {
    await this.#stats().append(rows);
  }

  async aggregateEvents(query: StatsAggregation) {
    return this.#stats().aggregate(query);
  }

  async eraseInstallationEvents(installationId: string, actor: Actor): Promise<{ deleted: number }> {
    // The commitment first: it fails for an installation that is not at this site.
    const installation = await this.subjects.commit(installationId, 'installation', installationId);
    const deleted = await this.#stats().eraseInstallation(installationId);
    await this.#options.audit.append({
      type: 'stats.erased',
      time: this.#options.now().toISOString(),
      actor,
      site: this.name,
      installation,
      events: deleted,
    });
    return { deleted };
  }

  async installationRecords(
    installationId: string,
    range: TimeRange = {},
  ): Promise<InstallationRecords | undefined> {
    const admittedAt = await this.subjects.admittedAt(installationId);
    if (admittedAt === undefined) return undefined;
    return {
      site: this.name,
      jurisdiction: this.jurisdiction,
      admittedAt,
      submissions: await this.vault.submissionsOf(installationId, range),
      events: await this.#stats().eventsOf(installationId, range),
    };
  }

  async countInstallationRecords(
    installationId: string,
    range: TimeRange = {},
  ): Promise<{ submissions: number; events: number } | undefined> {
    const records = await this.installationRecords(installationId, range);
    if (records === undefined) return undefined;
    return { submissions: records.submissions.length, events: records.events.length };
  }

  commitInstallation(installationId: string, field: string, value: string): Promise<string> {
    return this.subjects.commit(installationId, field, value);
  }

  async eraseInstallationSubmissions(installationId: string) {
    const erased = await this.vault.removeSubmissions([installationId]);
    await this.catalogue.removeOrphans();
    // Also on a repeat: a crash may have come between the delete and the compaction.
    await this.#options.metadata.compact();
    return { submissions: erased.submissions, samplesRemoved: erased.samples.map((s) => s.sha256) };
  }

  async eraseInstallationKey(installationId: string, actor: Actor): Promise<{ key: boolean }> {
    const admitted = await this.subjects.admittedAt(installationId);
    if (admitted !== undefined) {
      // The commitment needs the key: take it before the key goes.
      const installation = await this.subjects.commit(installationId, 'installation', installationId);
      // On the record first: a crash after it repeats the entry, never loses it.
      await this.#options.audit.append({
        type: 'installation.erased',
        time: this.#options.now().toISOString(),
        actor,
        site: this.name,
        installation,
      });
      await this.subjects.destroy(installationId);
      await this.#options.metadata.durable();
    }
    return { key: admitted !== undefined };
  }

  // Relocation: see site-client.ts and site/installation-transfer.ts.
  exportInstallation(installationId: string) {
    return transfer.exportInstallation(this.#domains(), installationId);
  }

  async inventoryInstallation(installationId: string) {
    const records = await transfer.exportInstallation(this.#domains(), installationId);
    return inventoryOf(records, await this.subjects.has(installationId));
  }

  openSamplePlaintext(sha256: string): Promise<Readable> {
    return this.vault.openSamplePlaintext(sha256);
  }

  async importSample(record: RelocatableSample, plaintext: Readable) {
    const imported = await this.vault.importSample(record, plaintext);
    // The copy was resealed without passing through the upload's fingerprinting: only a
    // sample whose source had no fingerprint yet leaves the backfill work.
    if (imported.copied && record.fingerprint === undefined) this.backfill.nudge();
    return imported;
  }

  async importInstallation(
    records: Pick<RelocatableRecords, 'installationId' | 'submissions' | 'events'>,
    replace: { readonly submissions: boolean; readonly events: boolean },
  ) {
    await transfer.importInstallation(this.#domains(), records, replace);
    return this.inventoryInstallation(records.installationId);
  }

  verifySample(sha256: string) {
    return this.vault.verifySample(sha256);
  }

  authenticateSample(sha256: string) {
    return this.vault.authenticateSample(sha256);
  }

  async purgeInstallations(installationIds: readonly string[]) {
    // Compacted once per call (a relocation batch, a rolled-back copy): the source's raw files
    // keep nothing of the installations that left, as after an erasure.
    const purged = await purgeInstallations(this.#domains(), installationIds, { compact: true });
    await this.catalogue.removeOrphans();
    return purged;
  }

  async recordRelocation(entry: RelocationSiteEntry, actor: Actor): Promise<void> {
    const { installationIds, kind, ...counts } = entry;
    const commitments =
      kind === 'received'
        ? await Promise.all(installationIds.map((id) => this.subjects.commit(id, 'installation', id)))
        : undefined;
    await this.#options.audit.append({
      type: `relocation.${kind}`,
      time: this.#options.now().toISOString(),
      actor,
      site: this.name,
      ...counts,
      ...(commitments === undefined ? {} : { installationCommitments: commitments }),
    });
  }

  scanResidency() {
    return transfer.scanResidency(this.#domains());
  }

  scanSamples(request: SampleScanRequest): Promise<SampleScanResult> {
    return this.vault.scanSamples(request);
  }

  logCheckpoint(): Promise<string | undefined> {
    return this.#options.log.checkpoint();
  }

  readLogTile(path: string): Promise<Buffer | undefined> {
    return this.#options.log.readPublished(path);
  }

  async health(): Promise<void> {
    // One round trip to the metadata store: open, and not locked out by another process.
    await sql`select 1`.execute(this.#options.metadata.db);
  }

  #domains(): transfer.SiteDomains {
    const { metadata } = this.#options;
    return {
      site: this.name,
      vault: this.vault,
      subjects: this.subjects,
      stats: () => this.#stats(),
      durable: () => metadata.durable(),
      compact: () => metadata.compact(),
    };
  }

  async close(): Promise<void> {
    await this.backfill.stop();
    await this.stats?.close();
    await this.#options.audit.close();
    await this.#options.metadata.close();
  }

  #stats(): StatsBuffer {
    if (this.stats === undefined) {
      throw new StatsError(
        'STATS_CLOSED',
        `the statistics of site ${this.name} run in the serving process only`,
      );
    }
    return this.stats;
  }
}

/** Where a site keeps its files inside the data directory. */
export function siteDirectory(dataDir: string, site: string): string {
  return join(dataDir, 'sites', site);
}
