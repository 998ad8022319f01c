import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Migration } from 'kysely';
import { openMetadataStore } from './adapters/storage/open-stores.js';
import { openSqliteVerdictStore } from './adapters/storage/sqlite/sqlite-verdict-store.js';
import type { Config } from './config/config.js';
import { CONTROL_NODE, controlDirectory, keysDirectory, restrictNewFiles } from './config/data-dir.js';
import type { AuthTables } from './control/auth/auth-tables.js';
import { authMigrations } from './control/auth/auth-tables.js';
import { TokenService } from './control/auth/token-service.js';
import { HuntService, type HuntTables, huntMigrations } from './control/hunts/index.js';
import { packageSignerFromPem } from './control/legal/disclosure-package.js';
import { LegalDesk, type LegalTables, legalMigrations } from './control/legal/index.js';
import { loadStixValidator, type StixValidator } from './control/legal/stix-validator.js';
import { VerdictService } from './control/lookup/index.js';
import {
  PrivacyDesk,
  type PrivacyTables,
  PrivacyWorker,
  privacyMigrations,
} from './control/privacy/index.js';
import { RelocationService } from './control/relocation/relocation-service.js';
import { type RelocationTables, relocationMigrations } from './control/relocation/relocation-tables.js';
import { ResidencyAuditService } from './control/relocation/residency-audit-service.js';
import { WriteGate } from './control/relocation/write-gate.js';
import { type PublicationTables, publicationMigrations } from './control/reports/publication-tables.js';
import { ReportPublications } from './control/reports/report-publications.js';
import { ReportService } from './control/reports/report-service.js';
import { InstallationRegistry } from './control/residency/installation-registry.js';
import { PolicyService } from './control/residency/policy-service.js';
import { type ResidencyTables, residencyMigrations } from './control/residency/residency-tables.js';
import { SampleCatalogue } from './control/samples/sample-catalogue.js';
import { SampleRouter } from './control/samples/sample-router.js';
import { StatsRouter } from './control/telemetry/stats-router.js';
import { nodeSigner, openNodeLog } from './ledger/open-node-log.js';
import { type PublishedLog, publishedLogFrom } from './ledger/published-log.js';
import type { TransparencyLog } from './ledger/transparency-log.js';
import { nodeDirOf, readLastBackup } from './operations/backup/backup-record.js';
import { EvidenceService } from './operations/evidence/index.js';
import { listKeys } from './operations/keys/key-inventory.js';
import type { SiteClient } from './ports/site-client.js';
import { DomainEventLog, type EventLogger } from './shared/domain-events.js';
import { tablesOf } from './shared/narrow.js';
import type { SiteWaitSettings } from './shared/site-wait.js';
import type { SiteNode } from './site/site-node.js';
import { openSiteService, type SiteService } from './site-main.js';

export type ControlTables = AuthTables &
  ResidencyTables &
  LegalTables &
  PrivacyTables &
  RelocationTables &
  PublicationTables &
  HuntTables;

/**
 * The control plane and the sites it reaches: under `glasshouse up` every configured site runs
 * in the same process; under `glasshouse control` none does, each is reached over mutual TLS.
 */
export interface Glasshouse {
  readonly config: Config;
  readonly tokens: TokenService;
  readonly policy: PolicyService;
  readonly registry: InstallationRegistry;
  readonly samples: SampleRouter;
  /** Tags, comments and search over the samples of the token's sites. */
  readonly catalogue: SampleCatalogue;
  /** Telemetry ingestion and aggregate statistics across sites. */
  readonly stats: StatsRouter;
  /** Hash reputation; its index is loaded in the serving process only. */
  readonly verdicts: VerdictService;
  /** Government and law-enforcement requests. */
  readonly legal: LegalDesk;
  /** Every configured site as the control plane reaches it (in process or over HTTPS). */
  readonly siteClients: ReadonlyMap<string, SiteClient>;
  /** The sites running in this process: every site under `up`, none under `control`. */
  readonly sites: ReadonlyMap<string, SiteNode>;
  /** The transparency logs held in this process: `control` and each in-process site. */
  readonly logs: ReadonlyMap<string, TransparencyLog>;
  /** Every node's published log (`/log/<node>/…`, proofs): read here, or from the site that keeps it. */
  readonly publishedLogs: ReadonlyMap<string, PublishedLog>;
  /** Transparency reports, computed from the control log at its latest checkpoint. */
  readonly reports: ReportService;
  /** Which periods' reports are public (an admin's decision, on the control log). */
  readonly reportPublications: ReportPublications;
  /** Users' requests about their own data; its background job runs in the serving process. */
  readonly privacy: PrivacyDesk;
  readonly privacyWorker: PrivacyWorker;
  /** Moving stored records when the policy changes; runs in the serving process only. */
  readonly relocations: RelocationService;
  readonly residencyAudit: ResidencyAuditService;
  /** The evidence pack of a period for an ISO/IEC 27001 audit (docs/operations.md). */
  readonly evidence: EvidenceService;
  /** YARA hunts over the sites' samples; they run in the serving process only. */
  readonly hunts: HuntService;
  /** Domain events (`relocation.finished`, `token.revoked`…) as JSON log lines; the app attaches its logger. */
  readonly events: DomainEventLog;
  /** When each node of the data directory was last backed up (`glasshouse backup`), ms since the epoch. */
  lastBackups(): ReadonlyMap<string, number>;
  /**
   * Logs `backup.made` for each node whose `last-backup.json` names a backup this process has
   * not logged yet (the backup is another process, the CLI); the serving process calls it
   * every few seconds once recovered.
   */
  noticeBackups(): void;
  /** The clock the services run by. */
  readonly now: () => Date;
  /** Cleans what a crash left at every in-process site; only the serving process may call it. */
  recover(): Promise<void>;
  close(): Promise<void>;
}

/** Every migration of the control plane's metadata (its tables, `ControlTables`). */
export const CONTROL_MIGRATIONS: Readonly<Record<string, Migration>> = {
  ...authMigrations,
  ...residencyMigrations,
  ...legalMigrations,
  ...privacyMigrations,
  ...relocationMigrations,
  ...publicationMigrations,
  ...huntMigrations,
};

/** How often the serving process checks for verdicts written by another process (the CLI). */
const VERDICT_WATCH_MS = 2000;
/** How often the serving process looks for a backup the CLI made, to log `backup.made`. */
const BACKUP_NOTICE_MS = 5000;

export interface OpenOptions {
  readonly now?: () => Date;
  /**
   * True for the serving process: it publishes the logs' tiles and checkpoints and runs the
   * sites' statistics buffers (a site's stats store admits one process). One-shot commands
   * (the CLI) append to the logs and leave publishing and statistics to the server.
   */
  readonly publish?: boolean;
  /** Where failures of background work (log publication) are reported. */
  readonly onBackgroundError?: (error: unknown, context: string) => void;
  /** Where background jobs (the fingerprint backfill) report how far they are. */
  readonly onBackgroundProgress?: (message: string) => void;
  /**
   * Called after each step of the privacy job. A fault-injection seam for the crash test's
   * launcher (test/support/crashing-server.ts): no configuration key reaches it, so no
   * deployment can set it.
   */
  readonly afterPrivacyStep?: (stepsDone: number) => void;
  /** How background jobs wait for a site that is away (1 s doubling to 30 s unless given; tests shorten it). */
  readonly siteWait?: SiteWaitSettings;
  /** Samples per batch of a hunt at a site (64 unless given; tests shorten it to see a hunt mid-way). */
  readonly huntBatchSize?: number;
  /** Where domain events are logged; the serving app attaches its own logger otherwise. */
  readonly logger?: EventLogger;
}

/**
 * Wires adapters to services: the only place that chooses storage. Today that is the
 * embedded set (SQLite, files); the scale-out work adds PostgreSQL, S3 and ClickHouse here.
 * Every configured site runs in this process, on this data directory (`glasshouse up`).
 *
 * @example
 * const app = await openGlasshouse(loadConfig({ dataDir }));
 */
export async function openGlasshouse(config: Config, options: OpenOptions = {}): Promise<Glasshouse> {
  const local = new Map<string, SiteService>();
  for (const site of config.sites) local.set(site.name, await openSiteService(config, site, options));
  const clients = new Map<string, SiteClient>([...local].map(([name, service]) => [name, service.site]));
  return openControlPlane(config, { clients, local }, options);
}

/**
 * The control plane alone (`glasshouse control`): every site is reached through `sites`
 * (over HTTPS), and no site store is opened here.
 *
 * @example
 * const glasshouse = await openRemoteControlPlane(config, new Map([['zurich', new HttpSiteClient({ ... })]]));
 */
export function openRemoteControlPlane(
  config: Config,
  sites: ReadonlyMap<string, SiteClient & { close(): void }>,
  options: OpenOptions = {},
): Promise<Glasshouse> {
  const closeClients = () => {
    for (const site of sites.values()) site.close();
  };
  return openControlPlane(config, { clients: sites, local: new Map(), closeClients }, options);
}

async function openControlPlane(
  config: Config,
  sites: {
    readonly clients: ReadonlyMap<string, SiteClient>;
    readonly local: ReadonlyMap<string, SiteService>;
    /** Releases the connections to remote sites. */
    readonly closeClients?: () => void;
  },
  options: OpenOptions,
): Promise<Glasshouse> {
  restrictNewFiles();
  const now = options.now ?? (() => new Date());
  const events = new DomainEventLog(options.logger);
  const emit = events.emit;
  const control = await openMetadataStore<ControlTables>(config.storage.metadata, {
    file: join(controlDirectory(config.dataDir), 'control.db'),
    migrations: CONTROL_MIGRATIONS,
  });
  const controlAudit = await openNodeLog(config, CONTROL_NODE, controlDirectory(config.dataDir), {
    tiles: config.storage.tiles,
    publish: options.publish ?? false,
    onPublishError: (error: unknown, origin: string) =>
      options.onBackgroundError?.(error, `publishing ${origin}`),
    onWitnessError: (error: unknown, origin: string) =>
      options.onBackgroundError?.(error, `witnessing ${origin}`),
  });
  const logs = new Map<string, TransparencyLog>([[CONTROL_NODE, controlAudit]]);
  for (const [name, service] of sites.local) logs.set(name, service.log);
  // A backup already there when the process opens is not news: only one made since is logged.
  const loggedBackups = new Map<string, string | undefined>(
    [...logs.keys()].map((node) => [node, readLastBackup(join(config.dataDir, nodeDirOf(node)))?.backup]),
  );
  const noticeBackups = () => {
    for (const node of logs.keys()) {
      const last = readLastBackup(join(config.dataDir, nodeDirOf(node)));
      if (last === undefined || last.backup === loggedBackups.get(node)) continue;
      loggedBackups.set(node, last.backup);
      emit('backup.made', { node, backup: last.backup, logSize: last.logSize, finishedAt: last.finishedAt });
    }
  };
  let backupNotices: NodeJS.Timeout | undefined;
  const publishedLogs = new Map<string, PublishedLog>(logs);
  for (const [name, client] of sites.clients) {
    if (!publishedLogs.has(name)) publishedLogs.set(name, publishedLogOf(client));
  }
  const localSites = new Map<string, SiteNode>(
    [...sites.local].map(([name, service]) => [name, service.site]),
  );
  const siteClients = sites.clients;

  const context = { sites: new Set(siteClients.keys()), regions: config.regions };
  const policy = new PolicyService({
    db: tablesOf<ResidencyTables>(control.db),
    context,
    audit: controlAudit,
    now,
    events: emit,
  });
  await policy.seed(config.policy);
  // Verdicts have their own file in the control plane: see control/lookup/verdict-tables.ts.
  const verdictStore = await openSqliteVerdictStore({
    file: join(controlDirectory(config.dataDir), 'verdicts.db'),
  });
  const verdicts = new VerdictService({
    store: verdictStore,
    audit: controlAudit,
    sites: siteClients,
    now,
    events: emit,
  });
  if (options.publish === true) {
    await verdicts.load();
    verdicts.watch(VERDICT_WATCH_MS);
  }
  const registry = new InstallationRegistry({
    db: tablesOf<ResidencyTables>(control.db),
    policy,
    sites: siteClients,
    now,
  });
  // Holds an installation's uploads and events while relocation switches its site.
  const gate = new WriteGate();
  const stats = new StatsRouter({
    registry,
    sites: siteClients,
    settings: config.stats,
    gate,
    now,
    onSiteError: (error, site) => options.onBackgroundError?.(error, `storing telemetry at ${site}`),
  });
  let stixValidator: StixValidator | undefined;
  const legal = new LegalDesk({
    db: tablesOf<LegalTables>(control.db),
    audit: controlAudit,
    verdicts,
    stats,
    registry,
    sites: siteClients,
    producer: config.deployment,
    packageDirectory: join(controlDirectory(config.dataDir), 'legal', 'packages'),
    // The control node's log key signs package manifests; read when a package is written.
    signer: () =>
      packageSignerFromPem(
        readFileSync(join(keysDirectory(config.dataDir), `${CONTROL_NODE}.ed25519.pem`), 'utf8'),
        nodeSigner(config, CONTROL_NODE).verifierKey,
      ),
    validateStix: () => {
      stixValidator ??= loadStixValidator();
      return stixValidator;
    },
    now,
    events: emit,
  });
  const privacyWorker = new PrivacyWorker({
    db: tablesOf<PrivacyTables>(control.db),
    registry,
    policy,
    sites: siteClients,
    audit: controlAudit,
    compactControl: () => control.compact(),
    retentionDays: config.stats.retentionDays,
    now,
    events: emit,
    onError: (error, request) => options.onBackgroundError?.(error, `answering privacy request ${request}`),
    ...(options.afterPrivacyStep === undefined ? {} : { afterStep: options.afterPrivacyStep }),
    ...(options.siteWait === undefined ? {} : { siteWait: options.siteWait }),
  });
  const privacy = new PrivacyDesk({
    db: tablesOf<PrivacyTables>(control.db),
    registry,
    sites: siteClients,
    audit: controlAudit,
    now,
    onReady: () => privacyWorker.kick(),
    waitingFor: (request) => privacyWorker.waitingFor(request),
    events: emit,
  });
  const relocations = new RelocationService({
    db: tablesOf<RelocationTables & ResidencyTables>(control.db),
    registry,
    policy,
    sites: siteClients,
    gate,
    audit: controlAudit,
    now,
    defaults: { batchSize: 50, rateLimitMbps: 0 },
    canRun: options.publish === true,
    events: emit,
    onBackgroundError: (error, context) => options.onBackgroundError?.(error, context),
    ...(options.siteWait === undefined ? {} : { siteWait: options.siteWait }),
  });
  const hunts = new HuntService({
    db: tablesOf<HuntTables>(control.db),
    sites: siteClients,
    audit: controlAudit,
    now,
    canRun: options.publish === true,
    onBackgroundError: (error, context) => options.onBackgroundError?.(error, context),
    ...(options.siteWait === undefined ? {} : { siteWait: options.siteWait }),
    ...(options.huntBatchSize === undefined ? {} : { batchSize: options.huntBatchSize }),
  });
  const residencyAudit = new ResidencyAuditService({ registry, policy, sites: siteClients, now });
  const tokens = new TokenService({
    externalVersion: () => control.externalVersion(),
    db: tablesOf<AuthTables>(control.db),
    knownSites: context.sites,
    audit: controlAudit,
    now,
    onBackgroundError: (error) => options.onBackgroundError?.(error, "recording a token's last use"),
    events: emit,
  });
  return {
    config,
    tokens,
    policy,
    registry,
    // Each stored sample wakes the live hunts, rather than their next look (hunt-service.ts).
    samples: new SampleRouter({ registry, sites: siteClients, gate, onStored: () => hunts.nudge() }),
    catalogue: new SampleCatalogue({
      sites: siteClients,
      verdictOf: (sha256) => {
        const known = verdicts.lookup(sha256);
        return known.verdict === 'unknown'
          ? { verdict: null, threat: null }
          : { verdict: known.verdict, threat: known.threat };
      },
      now,
    }),
    stats,
    verdicts,
    legal,
    siteClients,
    sites: localSites,
    logs,
    publishedLogs,
    reports: new ReportService({
      // Only the serving process publishes checkpoints; a CLI reports at the last one.
      log: options.publish === true ? controlAudit : readOnly(controlAudit),
      registry,
      policy,
      sites: [...siteClients.keys()],
      now,
      witnessKeys: config.ledger.witnesses.map((w) => w.key),
    }),
    reportPublications: new ReportPublications({
      db: tablesOf<PublicationTables>(control.db),
      audit: controlAudit,
      now,
      events: emit,
    }),
    privacy,
    privacyWorker,
    relocations,
    residencyAudit,
    evidence: new EvidenceService({
      deployment: config.deployment,
      tokens,
      legal,
      privacy,
      residencyAudit,
      keys: (at) => listKeys(config.dataDir, at),
      logs: publishedLogs,
      verifierKey: (node) => localVerifierKey(config, node),
      now,
    }),
    hunts,
    events,
    now,
    lastBackups: () => {
      const times = new Map<string, number>();
      for (const node of logs.keys()) {
        const last = readLastBackup(join(config.dataDir, nodeDirOf(node)));
        if (last !== undefined) times.set(node, Date.parse(last.finishedAt));
      }
      return times;
    },
    noticeBackups,
    async recover() {
      for (const site of localSites.values()) await site.vault.recover();
      // The similarity indexes load in the background; a query meanwhile waits for its site's.
      for (const site of localSites.values()) site.similar.load().catch(() => undefined);
      if (options.publish === true) await relocations.resumeInterrupted();
      if (options.publish === true) await hunts.resumeInterrupted();
      // Samples stored without fuzzy hashes and file type get them in the background.
      if (options.publish === true) for (const site of localSites.values()) site.backfill.start();
      privacyWorker.start();
      backupNotices ??= setInterval(noticeBackups, BACKUP_NOTICE_MS);
      backupNotices.unref();
    },
    async close() {
      clearInterval(backupNotices);
      await privacyWorker.stop();
      await relocations.close();
      await hunts.close();
      verdicts.close();
      await verdictStore.close();
      for (const site of sites.local.values()) await site.close();
      sites.closeClients?.();
      await tokens.close();
      await controlAudit.close();
      await control.close();
    },
  };
}

/** A node's verifier key where its signing key is in this data directory (a remote site keeps its own). */
function localVerifierKey(config: Config, node: string): string | undefined {
  try {
    return nodeSigner(config, node).verifierKey;
  } catch {
    return undefined;
  }
}

/** The control log without `publish`, for processes that must leave publishing to the server. */
function readOnly(log: TransparencyLog) {
  return {
    checkpoint: () => log.checkpoint(),
    readEntries: (from: number, to: number) => log.readEntries(from, to),
  };
}

/** A remote site's published log, read through its client (the site keeps and signs it). */
function publishedLogOf(site: SiteClient): PublishedLog {
  return publishedLogFrom({
    checkpoint: () => site.logCheckpoint(),
    readPublished: (path: string) => site.readLogTile(path),
  });
}
