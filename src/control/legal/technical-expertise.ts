import { writeCsv } from '../../shared/csv.js';
import { GlasshouseError } from '../../shared/errors.js';
import type { Principal } from '../auth/roles.js';
import { formatSeenTime, type VerdictHashKind } from '../lookup/verdict.js';
import type { VerdictService } from '../lookup/verdict-service.js';
import type { StatsRouter, StatsRow } from '../telemetry/stats-router.js';
import type { LegalScope } from './legal-request.js';
import { buildStixBundle, type HashIndicator } from './stix-bundle.js';

/** Most hashes one package lists; the manifest says when there were more. */
export const MAX_PACKAGE_HASHES = 100_000;
const MAX_STATS_ROWS = 10_000;

export interface TechnicalSources {
  readonly verdicts: VerdictService;
  readonly stats: StatsRouter;
  readonly producer: string;
}

export interface TechnicalContent {
  /** Nothing known about the scope: the request is rejected with `no_data`. */
  readonly empty: boolean;
  readonly files: ReadonlyMap<string, Buffer>;
  readonly summary: {
    readonly indicators: number;
    readonly threats: number;
    readonly truncated: boolean;
    readonly statistics: 'included' | 'unavailable';
  };
}

/**
 * Technical expertise for a scope: the hashes named (when a verdict is on record) and the
 * hashes of the threats named, as a STIX 2.1 bundle and as CSV, with suppressed aggregate
 * statistics where the statistics buffer runs. Reads only technical stores (verdicts,
 * aggregates): no site is asked for anything of an installation.
 */
export async function gatherTechnicalExpertise(
  scope: LegalScope,
  range: { from?: Date; to?: Date },
  sources: TechnicalSources,
  principal: Principal,
  now: Date,
  title: string,
): Promise<TechnicalContent> {
  const { indicators, truncated } = await indicatorsOf(scope, sources.verdicts);
  const families = new Set([...scope.threats, ...indicators.map((i) => i.threat).filter((t) => t !== '')]);
  const statistics = await statisticsOf([...families], range, sources.stats, principal);
  const knownThreats = scope.threats.filter(
    (t) => indicators.some((i) => i.threat === t) || (statistics?.some((row) => row.threat === t) ?? false),
  );
  const empty = indicators.length === 0 && knownThreats.length === 0 && (statistics?.length ?? 0) === 0;
  const files = new Map<string, Buffer>();
  if (!empty) {
    const bundle = buildStixBundle({
      producer: sources.producer,
      title,
      indicators,
      threats: knownThreats,
      now,
    });
    files.set('indicators.stix.json', Buffer.from(`${JSON.stringify(bundle, null, 2)}\n`));
    files.set('hashes.csv', Buffer.from(hashesCsv(indicators)));
    if (statistics !== undefined) {
      files.set('statistics.json', Buffer.from(`${JSON.stringify({ rows: statistics }, null, 2)}\n`));
    }
  }
  return {
    empty,
    files,
    summary: {
      indicators: indicators.length,
      threats: new Set([...knownThreats, ...indicators.map((i) => i.threat).filter((t) => t !== '')]).size,
      truncated,
      statistics: statistics === undefined ? 'unavailable' : 'included',
    },
  };
}

async function indicatorsOf(
  scope: LegalScope,
  verdicts: VerdictService,
): Promise<{ indicators: HashIndicator[]; truncated: boolean }> {
  const byHash = new Map<string, HashIndicator>();
  for (const hash of scope.hashes) {
    const answer = verdicts.lookup(hash);
    if (answer.verdict === 'unknown') continue;
    byHash.set(hash, {
      kind: kindOf(hash),
      hash,
      verdict: answer.verdict,
      threat: answer.threat ?? '',
      firstSeen: answer.firstSeen ?? formatSeenTime(0),
    });
  }
  const ofThreats = await verdicts.verdictsOfThreats(scope.threats, MAX_PACKAGE_HASHES + 1);
  for (const v of ofThreats) {
    if (byHash.size >= MAX_PACKAGE_HASHES) break;
    byHash.set(v.hash, {
      kind: v.kind,
      hash: v.hash,
      verdict: v.verdict,
      threat: v.threat,
      firstSeen: formatSeenTime(v.firstSeen),
    });
  }
  return { indicators: [...byHash.values()], truncated: ofThreats.length > MAX_PACKAGE_HASHES };
}

/** Detections by day and threat, suppressed as the stats routes suppress them; `undefined` without a buffer. */
async function statisticsOf(
  threats: readonly string[],
  range: { from?: Date; to?: Date },
  stats: StatsRouter,
  principal: Principal,
): Promise<StatsRow[] | undefined> {
  if (threats.length === 0) return [];
  try {
    const answer = await stats.detections(principal, {
      groupBy: 'day,threat',
      type: 'detection',
      limit: MAX_STATS_ROWS,
      ...(range.from === undefined ? {} : { from: range.from.toISOString() }),
      ...(range.to === undefined ? {} : { to: range.to.toISOString() }),
    });
    return answer.rows.filter((row) => typeof row.threat === 'string' && threats.includes(row.threat));
  } catch (error) {
    if (error instanceof GlasshouseError && error.code === 'STATS_CLOSED') return undefined;
    throw error;
  }
}

/** The package's hash list; threat names come from feeds, so formulas are escaped. */
function hashesCsv(indicators: readonly HashIndicator[]): string {
  return writeCsv([
    ['hash', 'kind', 'verdict', 'threat', 'first_seen'],
    ...indicators.map((i) => [i.hash, i.kind, i.verdict, i.threat, i.firstSeen]),
  ]);
}

function kindOf(hash: string): VerdictHashKind {
  return hash.length === 32 ? 'md5' : hash.length === 40 ? 'sha1' : 'sha256';
}
