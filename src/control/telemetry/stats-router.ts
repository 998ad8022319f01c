import type { SiteClient } from '../../ports/site-client.js';
import type { StatsAggregation, StatsGroup, StatsGroupKey } from '../../ports/storage.js';
import { batchBuffers } from '../../shared/buffer-pool.js';
import { askEverySite, unavailableSites } from '../../shared/site-errors.js';
import { StatsError } from '../../shared/stats-errors.js';
import type { Principal } from '../auth/roles.js';
import { assertSiteAccess, mayAccessSite, visibleSites } from '../auth/site-scope.js';
import type { WriteGate } from '../relocation/write-gate.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
import {
  type BatchLimits,
  type LineRejection,
  type ParsedBatch,
  parseEventBatch,
  rowsWithCountry,
} from './ndjson-batch.js';
import {
  byEvents,
  byKey,
  firstGroupsByKey,
  mergeGroups,
  parseGroupBy,
  parseRange,
  parseTypes,
} from './stats-query.js';

export interface StatsSettings extends BatchLimits {
  readonly minGroupSize: number;
  readonly retentionDays: number;
}

export interface StatsRouterOptions {
  readonly registry: InstallationRegistry;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly settings: StatsSettings;
  /** Keeps events from crossing their installation's switch to another site (relocation). */
  readonly gate?: WriteGate;
  readonly now: () => Date;
  /** Told when a site fails to store its part of a batch (those lines are rejected). */
  readonly onSiteError?: (error: unknown, site: string) => void;
}

export interface IngestResult {
  readonly accepted: number;
  readonly rejected: readonly LineRejection[];
}

export type StatsRow = Record<string, string | number | null>;

export interface StatsAnswer {
  readonly rows: readonly StatsRow[];
  /** Groups withheld because they cover fewer than `stats.minGroupSize` installations. */
  readonly suppressed: number;
  /** More groups passed suppression than `limit` allowed. */
  readonly truncated: boolean;
}

export interface DetectionsQuery {
  readonly from?: string;
  readonly to?: string;
  readonly groupBy?: string;
  readonly type?: string;
  readonly site?: string;
  readonly limit: number;
}

export interface TopThreatsQuery {
  readonly from?: string;
  readonly to?: string;
  readonly country?: string;
  readonly site?: string;
  readonly limit: number;
}

/**
 * The control plane's side of the statistics buffer. It sends each event to the site of its
 * installation, with the installation's registered country, and answers aggregate queries
 * by asking every site the caller may see and merging their counts. It keeps no event.
 */
export class StatsRouter {
  /** Events each site acknowledged since this process started (for `/metrics`). */
  readonly #accepted = new Map<string, number>();
  readonly #o: StatsRouterOptions;

  constructor(options: StatsRouterOptions) {
    this.#o = options;
  }

  /**
   * Validates an NDJSON batch line by line, splits it by site and appends each part at its
   * site; resolves once every accepted event is durable.
   *
   * @example
   * const { accepted, rejected } = await stats.ingest(principal, body);
   */
  async ingest(principal: Principal, body: Buffer): Promise<IngestResult> {
    const { settings } = this.#o;
    const parsed = parseEventBatch(body, settings, {
      now: this.#o.now(),
      retentionDays: settings.retentionDays,
    });
    const ids = parsed.installations;
    const leave = await this.#o.gate?.enter(ids);
    try {
      return await this.#store(principal, parsed, ids);
    } finally {
      leave?.();
    }
  }

  /** Events each site acknowledged since this process started; no I/O. */
  acceptedBySite(): ReadonlyMap<string, number> {
    return this.#accepted;
  }

  async #store(principal: Principal, parsed: ParsedBatch, ids: readonly string[]): Promise<IngestResult> {
    const rejected = parsed.rejected;
    const located = await this.#o.registry.locate(ids);
    const countryBytes = new Map<string, Buffer>();
    const places = ids.map((id) => {
      const place = located.get(id);
      if (place === undefined) return undefined;
      let country = countryBytes.get(place.country);
      if (country === undefined) {
        country = Buffer.from(place.country, 'utf8');
        countryBytes.set(place.country, country);
      }
      return { site: place.site, country, allowed: mayAccessSite(principal, place.site) };
    });
    const bySite = new Map<string, { events: number[]; countries: Buffer[]; lines: number[] }>();
    for (let k = 0; k < parsed.lines.length; k += 1) {
      const line = parsed.lines[k]!;
      const place = places[parsed.installationOf[k]!];
      if (place === undefined) {
        rejected.push({ line, error: 'no installation has that id' });
      } else if (!place.allowed) {
        rejected.push({ line, error: `the installation's site ${place.site} is outside the token's sites` });
      } else {
        let part = bySite.get(place.site);
        if (part === undefined) {
          part = { events: [], countries: [], lines: [] };
          bySite.set(place.site, part);
        }
        part.events.push(k);
        part.countries.push(place.country);
        part.lines.push(line);
      }
    }
    const parts = [...bySite];
    const rows = parts.map(([, part]) => rowsWithCountry(parsed, part.events, part.countries));
    if (!rows.some((r) => r.buffer === parsed.rows.buffer)) batchBuffers.give(parsed.rows);
    const outcomes = await Promise.allSettled(
      parts.map(([site], i) => this.#siteNamed(site).appendEvents(rows[i]!)),
    );
    let accepted = 0;
    outcomes.forEach((outcome, i) => {
      const [site, part] = parts[i]!;
      if (outcome.status === 'fulfilled') {
        accepted += part.lines.length;
        this.#accepted.set(site, (this.#accepted.get(site) ?? 0) + part.lines.length);
        return;
      }
      this.#o.onSiteError?.(outcome.reason, site);
      const error =
        unavailableSites(outcome.reason) === undefined
          ? 'the site could not store the event; send it again'
          : `site ${site} is unavailable; send the event again later`;
      for (const line of part.lines) rejected.push({ line, error });
    });
    const failure = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (accepted === 0 && failure !== undefined) throw failure.reason;
    rejected.sort((a, b) => a.line - b.line);
    return { accepted, rejected };
  }

  /** Event counts grouped by the keys asked for, over the sites the caller may see. */
  async detections(principal: Principal, query: DetectionsQuery): Promise<StatsAnswer> {
    const groupBy = parseGroupBy(query.groupBy ?? 'day');
    const aggregation: StatsAggregation = {
      groupBy,
      ...parseRange(query.from, query.to),
      ...(query.type === undefined ? {} : { types: parseTypes(query.type) }),
    };
    return this.#answer(principal, query.site, aggregation, byKey, query.limit);
  }

  /** The threats detected most often, optionally in one country. */
  async topThreats(principal: Principal, query: TopThreatsQuery): Promise<StatsAnswer> {
    const aggregation: StatsAggregation = {
      groupBy: ['threat'],
      ...parseRange(query.from, query.to),
      types: ['detection'],
      withThreat: true,
      ...(query.country === undefined ? {} : { country: query.country }),
    };
    return this.#answer(principal, query.site, aggregation, byEvents, query.limit);
  }

  async #answer(
    principal: Principal,
    siteName: string | undefined,
    aggregation: StatsAggregation,
    order: (a: StatsGroup, b: StatsGroup) => number,
    limit: number,
  ): Promise<StatsAnswer> {
    const sites = this.#visibleSites(principal, siteName);
    // Counts without a site would be wrong, not partial: a site away makes it SITE_UNAVAILABLE.
    const perSite = await askEverySite(sites, (site) => site.aggregateEvents(aggregation));
    const { minGroupSize } = this.#o.settings;
    if (order === byKey) {
      // The sites answer in key order: their runs are merged, not pooled and sorted.
      const { groups, suppressed, truncated } = firstGroupsByKey(perSite, minGroupSize, limit);
      return { rows: groups.map((group) => rowOf(aggregation.groupBy, group)), suppressed, truncated };
    }
    const { groups, suppressed } = mergeGroups(perSite, minGroupSize);
    groups.sort(order);
    return {
      rows: groups.slice(0, limit).map((group) => rowOf(aggregation.groupBy, group)),
      suppressed,
      truncated: groups.length > limit,
    };
  }

  #visibleSites(principal: Principal, siteName: string | undefined): SiteClient[] {
    if (siteName === undefined) return visibleSites(principal, this.#o.sites);
    const site = this.#o.sites.get(siteName);
    if (site === undefined) {
      throw new StatsError('INVALID_STATS_QUERY', `no site named ${siteName}`, {
        details: { field: 'site', value: siteName },
      });
    }
    assertSiteAccess(principal, siteName);
    return [site];
  }

  #siteNamed(name: string): SiteClient {
    const site = this.#o.sites.get(name);
    if (site === undefined)
      throw new StatsError('SITE_NOT_RUNNING', `the registry names site ${name}, which is not running`);
    return site;
  }
}

function rowOf(groupBy: readonly StatsGroupKey[], group: StatsGroup): StatsRow {
  const row: StatsRow = {};
  groupBy.forEach((key, i) => {
    row[key] = group.key[i] ?? null;
  });
  row.events = group.events;
  row.installations = group.installations;
  return row;
}
