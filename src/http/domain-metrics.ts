import { Counter, Gauge, type Registry } from 'prom-client';
import type { LegalDesk } from '../control/legal/legal-desk.js';
import type { VerdictService } from '../control/lookup/verdict-service.js';
import type { PrivacyDesk } from '../control/privacy/privacy-desk.js';
import type { RelocationService } from '../control/relocation/relocation-service.js';
import type { RelocationStatus } from '../control/relocation/relocation-status.js';
import type { StatsRouter } from '../control/telemetry/stats-router.js';
import type { TransparencyLog } from '../ledger/transparency-log.js';
import type { SiteClient, SiteUsage } from '../ports/site-client.js';
import { SITE_HEALTH_TIMEOUT_MS, settleWithin } from './site-states.js';

/** How long a figure read from a table or a site is reused before it is read again. */
export const DOMAIN_METRICS_TTL_MS = 30_000;

export interface DomainMetricSources {
  /** The logs this process holds (`control`, and every in-process site's). */
  readonly logs: ReadonlyMap<string, Pick<TransparencyLog, 'publication' | 'size'>>;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly stats: Pick<StatsRouter, 'acceptedBySite'>;
  readonly relocations: Pick<RelocationService, 'unfinished'>;
  readonly privacy: Pick<PrivacyDesk, 'openCounts'>;
  readonly legal: Pick<LegalDesk, 'openByState'>;
  readonly verdicts: Pick<VerdictService, 'index'>;
  /** When each node of this process's data directory was last backed up (ms since the epoch). */
  readonly lastBackups: () => ReadonlyMap<string, number>;
  /** The clock backup ages are counted by. */
  readonly now?: () => number;
  /** Tests shorten them. */
  readonly ttlMs?: number;
  readonly siteTimeoutMs?: number;
}

/**
 * A value read at most every `ttlMs`: a scrape within that time reuses the last reading.
 * Concurrent scrapes share one reading.
 */
function cached<T>(ttlMs: number, read: () => Promise<T>): () => Promise<T> {
  let last: { value: T; at: number } | undefined;
  let reading: Promise<T> | undefined;
  return async () => {
    if (last !== undefined && Date.now() - last.at < ttlMs) return last.value;
    reading ??= read()
      .then((value) => {
        last = { value, at: Date.now() };
        return value;
      })
      .finally(() => {
        reading = undefined;
      });
    return reading;
  };
}

/** One site's last answer to `usage()`, and whether its latest probe was answered in time. */
interface SiteReading {
  usage: SiteUsage | undefined;
  up: boolean;
  at: number;
  probing: Promise<void> | undefined;
}

/**
 * The sites' figures as last read: a scrape asks a site again once its reading is older than
 * the TTL, waits for it at most `siteTimeoutMs`, and otherwise serves the last known values
 * with `glasshouse_site_up` 0. A late answer still lands, for the next scrape.
 */
class SiteReadings {
  readonly #readings = new Map<string, SiteReading>();
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  /** Every site's reading, refreshed where stale; the gauges of one scrape share one call. */
  readonly refresh: () => Promise<ReadonlyMap<string, SiteReading>>;

  constructor(sites: ReadonlyMap<string, SiteClient>, ttlMs: number, timeoutMs: number) {
    this.#ttlMs = ttlMs;
    this.#timeoutMs = timeoutMs;
    this.refresh = cached(0, async () => {
      await Promise.all([...sites.values()].map((site) => this.#refreshOne(site)));
      return this.#readings;
    });
  }

  async #refreshOne(site: SiteClient): Promise<void> {
    let reading = this.#readings.get(site.name);
    if (reading === undefined) {
      reading = { usage: undefined, up: false, at: 0, probing: undefined };
      this.#readings.set(site.name, reading);
    }
    const current = reading;
    if (Date.now() - current.at < this.#ttlMs) return;
    current.probing ??= site
      .usage()
      .then(
        (usage) => {
          current.usage = usage;
          current.up = true;
          current.at = Date.now();
        },
        () => {
          current.up = false;
        },
      )
      .finally(() => {
        current.probing = undefined;
      });
    const answered = await settleWithin(
      current.probing.then(() => true),
      this.#timeoutMs,
    );
    if (answered === undefined) current.up = false;
  }
}

/**
 * Gauges of the domain, computed on scrape from counts the services keep in memory, or read
 * from tables and sites at most every {@link DOMAIN_METRICS_TTL_MS} (see docs/operations.md
 * for each figure's freshness).
 */
export function registerDomainMetrics(registry: Registry, sources: DomainMetricSources): void {
  const ttlMs = sources.ttlMs ?? DOMAIN_METRICS_TTL_MS;
  const sites = new SiteReadings(sources.sites, ttlMs, sources.siteTimeoutMs ?? SITE_HEALTH_TIMEOUT_MS);
  const privacy = cached(ttlMs, () => sources.privacy.openCounts());
  const legal = cached(ttlMs, () => sources.legal.openByState());
  const relocations = cached(ttlMs, () => sources.relocations.unfinished());
  const logSizes = cached(ttlMs, async () => {
    const sizes = new Map<string, number>();
    for (const [node, log] of sources.logs) sizes.set(node, await log.size());
    return sizes;
  });

  /** Each node's log figures: in-process logs read here, remote sites' from their usage. */
  const logFigures = async () => {
    const figures = new Map<string, { entries: number; checkpointSize: number; currentAt: number | null }>();
    const sizes = await logSizes();
    for (const [node, log] of sources.logs) {
      const publication = log.publication();
      // A process that does not publish has no checkpoint figures to give.
      if (publication.currentAt === undefined) continue;
      figures.set(node, {
        entries: Math.max(sizes.get(node) ?? 0, publication.size),
        checkpointSize: publication.size,
        currentAt: publication.currentAt,
      });
    }
    for (const [node, reading] of await sites.refresh()) {
      const log = reading.usage?.log;
      if (figures.has(node) || log === undefined) continue;
      figures.set(node, {
        entries: log.entries,
        checkpointSize: log.checkpointSize,
        currentAt: log.checkpointCurrentAt,
      });
    }
    return figures;
  };

  const gauge = (
    name: string,
    help: string,
    labelNames: string[],
    collect: (set: (labels: Record<string, string>, value: number) => void) => Promise<void>,
  ) =>
    new Gauge({
      name,
      help,
      labelNames,
      registers: [registry],
      async collect() {
        this.reset();
        await collect((labels, value) => this.set(labels, value));
      },
    });

  gauge(
    'glasshouse_site_up',
    'Whether the site answered the latest probe in time (1) or not (0)',
    ['site'],
    async (set) => {
      for (const [site, reading] of await sites.refresh()) set({ site }, reading.up ? 1 : 0);
    },
  );
  const perSite = (name: string, help: string, read: (usage: SiteUsage) => number | undefined) =>
    gauge(name, help, ['site'], async (set) => {
      for (const [site, reading] of await sites.refresh()) {
        const value = reading.usage === undefined ? undefined : read(reading.usage);
        if (value !== undefined) set({ site }, value);
      }
    });
  perSite(
    'glasshouse_samples_stored',
    'Distinct samples stored, per site (last known value)',
    (u) => u.samples,
  );
  perSite(
    'glasshouse_sample_bytes_stored',
    'Plaintext bytes of the samples stored, per site (last known value)',
    (u) => u.bytes,
  );
  perSite(
    'glasshouse_telemetry_backlog_batches',
    'Telemetry write batches acknowledged (durable in the write-ahead log) and not loaded yet, per site',
    (u) => u.telemetryBacklog?.batches,
  );
  perSite(
    'glasshouse_telemetry_backlog_bytes',
    'Bytes of telemetry acknowledged and not loaded yet, per site',
    (u) => u.telemetryBacklog?.bytes,
  );
  perSite(
    'glasshouse_sample_fingerprints_pending',
    'Samples without fuzzy hashes and file type that the running backfill has still to do, per site',
    (u) => u.fingerprintsPending ?? 0,
  );
  new Counter({
    name: 'glasshouse_telemetry_events_accepted_total',
    help: 'Telemetry events each site acknowledged since this process started',
    labelNames: ['site'],
    registers: [registry],
    collect() {
      this.reset();
      const accepted = sources.stats.acceptedBySite();
      for (const site of sources.sites.keys()) this.inc({ site }, accepted.get(site) ?? 0);
    },
  });

  gauge('glasshouse_log_entries', 'Entries durable in the node’s transparency log', ['node'], async (set) => {
    for (const [node, f] of await logFigures()) set({ node }, f.entries);
  });
  gauge(
    'glasshouse_log_checkpoint_size',
    'Entries the node’s latest signed checkpoint covers',
    ['node'],
    async (set) => {
      for (const [node, f] of await logFigures()) set({ node }, f.checkpointSize);
    },
  );
  gauge(
    'glasshouse_log_checkpoint_current_timestamp_seconds',
    'When the node last found its signed checkpoint covering the whole journal (it publishes one when not)',
    ['node'],
    async (set) => {
      for (const [node, f] of await logFigures()) {
        if (f.currentAt !== null) set({ node }, f.currentAt / 1000);
      }
    },
  );

  gauge('glasshouse_privacy_requests_open', 'Privacy requests not closed', [], async (set) => {
    set({}, (await privacy()).open);
  });
  gauge(
    'glasshouse_privacy_requests_overdue',
    'Privacy requests not closed and past their deadline',
    [],
    async (set) => {
      set({}, (await privacy()).overdue);
    },
  );
  const lastBackups = cached(ttlMs, async () => sources.lastBackups());
  const now = sources.now ?? Date.now;
  gauge(
    'glasshouse_backup_last_success_timestamp_seconds',
    'When the latest whole backup of the node finished (glasshouse backup), per node of this data directory',
    ['node'],
    async (set) => {
      for (const [node, at] of await lastBackups()) set({ node }, at / 1000);
    },
  );
  gauge(
    'glasshouse_backup_age_seconds',
    'Seconds since the latest whole backup of the node finished',
    ['node'],
    async (set) => {
      for (const [node, at] of await lastBackups()) set({ node }, Math.max(0, (now() - at) / 1000));
    },
  );
  gauge('glasshouse_legal_requests_open', 'Legal requests not closed, by state', ['state'], async (set) => {
    for (const [state, count] of await legal()) set({ state }, count);
  });
  gauge('glasshouse_verdicts', 'Verdicts in the serving index (all hash kinds)', [], async (set) => {
    set({}, sources.verdicts.index.size);
  });

  const relocationGauge = (name: string, help: string, read: (status: RelocationStatus) => number) =>
    gauge(name, help, ['relocation', 'state'], async (set) => {
      for (const status of await relocations())
        set({ relocation: status.id, state: status.state }, read(status));
    });
  relocationGauge(
    'glasshouse_relocation_records_done',
    'Records (submissions, samples, events) a relocation not finished has moved',
    (s) => s.records.done,
  );
  relocationGauge(
    'glasshouse_relocation_records_total',
    'Records a relocation not finished moves in all',
    (s) => s.records.total,
  );
  relocationGauge(
    'glasshouse_relocation_bytes_done',
    'Plaintext bytes a relocation not finished has moved',
    (s) => s.bytes.done,
  );
  relocationGauge(
    'glasshouse_relocation_bytes_total',
    'Plaintext bytes a relocation not finished moves in all',
    (s) => s.bytes.total,
  );
}
