import type { SiteClient } from '../../ports/site-client.js';
import { eachLimited } from '../../shared/each-limited.js';
import type { InstallationRegistry } from '../residency/installation-registry.js';
import type { PolicyService } from '../residency/policy-service.js';
import { RelocationError } from './relocation-errors.js';

/** One installation that moves, with what it holds at its source. */
export interface PlannedMove {
  readonly installationId: string;
  readonly country: string;
  readonly source: string;
  readonly target: string;
  readonly submissions: number;
  readonly samples: number;
  readonly bytes: number;
  readonly events: number;
}

export interface PlanGroup {
  readonly source: string;
  readonly target: string;
  readonly installations: number;
  readonly submissions: number;
  /** Distinct samples the group's submissions reference (a shared sample counts once). */
  readonly samples: { readonly count: number; readonly bytes: number };
  readonly events: number;
  readonly moves: PlannedMove[];
}

export interface RelocationPlan {
  readonly at: string;
  readonly policyVersion: number;
  readonly installations: number;
  readonly groups: PlanGroup[];
}

/** Installations read at once while planning. */
const PLAN_CONCURRENCY = 8;

/**
 * Which installations move, and what: every installation whose registry site differs from
 * the site the policy in force resolves for its country, with its records at that site.
 *
 * @example
 * const plan = await planRelocation({ registry, policy, sites, now: new Date() });
 */
export async function planRelocation(options: {
  readonly registry: Pick<InstallationRegistry, 'placements'>;
  readonly policy: PolicyService;
  readonly sites: ReadonlyMap<string, SiteClient>;
  readonly now: Date;
}): Promise<RelocationPlan> {
  const { registry, policy, sites, now } = options;
  const inForce = await policy.inForce(now);
  if (inForce === undefined) throw new RelocationError('INVALID_RELOCATION', 'no policy version is in force');
  const rows = await registry.placements();
  const siteOf = new Map<string, string>();
  const leaving: {
    readonly row: (typeof rows)[number];
    readonly source: SiteClient;
    readonly target: string;
  }[] = [];
  for (const row of rows) {
    let target = siteOf.get(row.country);
    if (target === undefined) {
      target = (await policy.resolve(row.country, now)).site;
      siteOf.set(row.country, target);
    }
    if (target === row.site) continue;
    const source = sites.get(row.site);
    if (source === undefined || !sites.has(target)) {
      throw new RelocationError(
        'INVALID_RELOCATION',
        `installation of ${row.country} is at ${row.site} and belongs at ${target}, and one of them is not running`,
      );
    }
    leaving.push({ row, source, target });
  }
  // Several reads in flight: a site in another process is a round trip away for each.
  const exported = await eachLimited(leaving, PLAN_CONCURRENCY, ({ row, source }) =>
    source.exportInstallation(row.id),
  );
  const groups = new Map<string, { moves: PlannedMove[]; samples: Map<string, number> }>();
  for (const [i, { row, target }] of leaving.entries()) {
    const records = exported[i]!;
    const key = `${row.site}\n${target}`;
    const group = groups.get(key) ?? { moves: [], samples: new Map<string, number>() };
    groups.set(key, group);
    for (const s of records.samples) group.samples.set(s.sha256, s.size);
    group.moves.push({
      installationId: row.id,
      country: row.country,
      source: row.site,
      target,
      submissions: records.submissions.length,
      samples: records.samples.length,
      bytes: records.samples.reduce((sum, s) => sum + s.size, 0),
      events: records.events.length,
    });
  }
  const planned: PlanGroup[] = [...groups.values()].map(({ moves, samples }) => ({
    source: moves[0]!.source,
    target: moves[0]!.target,
    installations: moves.length,
    submissions: moves.reduce((sum, m) => sum + m.submissions, 0),
    samples: { count: samples.size, bytes: [...samples.values()].reduce((a, b) => a + b, 0) },
    events: moves.reduce((sum, m) => sum + m.events, 0),
    moves,
  }));
  planned.sort((a, b) => `${a.source}\n${a.target}`.localeCompare(`${b.source}\n${b.target}`));
  return {
    at: now.toISOString(),
    policyVersion: inForce.version,
    installations: planned.reduce((sum, g) => sum + g.installations, 0),
    groups: planned,
  };
}
