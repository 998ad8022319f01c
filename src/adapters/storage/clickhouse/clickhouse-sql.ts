import type { StatsAggregation, StatsGroupKey } from '../../../ports/storage.js';

/*
 * SQL for ClickHouse 18.16, which has no query parameters (`{name:Type}` came in 19.x): every
 * value is a literal built here, from a Date, a checked UUID or a string quoted by `quote`.
 */

/** The events table. `ts` is split in seconds and milliseconds: 18.16 has no DateTime64. */
export const EVENTS_TABLE_DDL = `CREATE TABLE IF NOT EXISTS events (
  ts DateTime('UTC'),
  ts_ms UInt16,
  installation UUID,
  type String,
  country String,
  sha256 Nullable(String),
  md5 Nullable(String),
  verdict Nullable(String),
  threat Nullable(String),
  product Nullable(String),
  os Nullable(String),
  load_seq UInt64
) ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (ts, installation)`;

/** One row per load; merges keep the highest `through`, readers take `max(through)` anyway. */
export const LOAD_MARKER_DDL = `CREATE TABLE IF NOT EXISTS load_marker (
  id UInt8,
  through UInt64
) ENGINE = ReplacingMergeTree(through)
ORDER BY id`;

/** The columns a load inserts, in the order of `TabSeparatedRows`' output. */
export const TAB_SEPARATED_COLUMNS = [
  'ts',
  'ts_ms',
  'installation',
  'type',
  'country',
  'sha256',
  'md5',
  'verdict',
  'threat',
  'product',
  'os',
  'load_seq',
] as const;

/** The SQL of each group key, never caller text. */
const GROUP_KEY_SQL: Readonly<Record<StatsGroupKey, string>> = {
  day: 'toString(toDate(ts))',
  country: 'country',
  threat: 'threat',
  verdict: 'verdict',
  type: 'type',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A string literal: ClickHouse reads backslash escapes inside quotes, so both are escaped. */
export function quote(text: string): string {
  return `'${text.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
}

/** The installation id in lower case (as `toString(UUID)` prints it), or `undefined` if it is none. */
export function installationId(id: string): string | undefined {
  const lower = id.toLowerCase();
  return UUID.test(lower) ? lower : undefined;
}

/** Events at or after `date`, to the millisecond; the `ts` comparisons let the primary key prune. */
export function atOrAfter(date: Date): string {
  const { seconds, ms } = split(date);
  return `(ts > ${seconds} OR (ts = ${seconds} AND ts_ms >= ${ms}))`;
}

/** Events strictly before `date`, to the millisecond. */
export function before(date: Date): string {
  const { seconds, ms } = split(date);
  return `(ts < ${seconds} OR (ts = ${seconds} AND ts_ms < ${ms}))`;
}

function split(date: Date): { seconds: string; ms: number } {
  if (Number.isNaN(date.getTime())) throw new RangeError('not a valid date');
  const iso = date.toISOString();
  return {
    seconds: `toDateTime(${quote(`${iso.slice(0, 10)} ${iso.slice(11, 19)}`)}, 'UTC')`,
    ms: date.getUTCMilliseconds(),
  };
}

/**
 * The aggregate, like DuckDB's: `count()` events and exact distinct installations per group
 * (`uniqExact`, the meaning of `count(DISTINCT …)`; never the approximate `uniq`).
 */
export function aggregateSql(query: StatsAggregation): string {
  const where: string[] = [];
  if (query.from !== undefined) where.push(atOrAfter(query.from));
  if (query.to !== undefined) where.push(before(query.to));
  if (query.types !== undefined)
    where.push(query.types.length === 0 ? '0' : `type IN (${query.types.map(quote).join(', ')})`);
  if (query.country !== undefined) where.push(`country = ${quote(query.country)}`);
  if (query.withThreat === true) where.push('isNotNull(threat)');
  const keys = query.groupBy.map((key, i) => `${GROUP_KEY_SQL[key]} AS k${i}`);
  const names = query.groupBy.map((_, i) => `k${i}`).join(', ');
  return [
    `SELECT ${[...keys, 'count() AS events', 'uniqExact(installation) AS installations'].join(', ')}`,
    'FROM events',
    where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`,
    keys.length === 0 ? '' : `GROUP BY ${names}`,
    keys.length === 0 ? '' : `ORDER BY ${names}`,
  ].join(' ');
}
