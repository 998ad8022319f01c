import { STATS_ROW_COLUMNS, type StatsAggregation, type StatsGroupKey } from '../../../ports/storage.js';

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

/**
 * The `through` of the load running, for the view below to stamp on its rows as `load_seq`.
 * The store empties it and writes one row before each load (loads are serialized); `Memory`,
 * since it is rewritten before every use.
 */
export const LOAD_PENDING_DDL = `CREATE TABLE IF NOT EXISTS load_pending (
  through UInt64
) ENGINE = Memory`;

/**
 * What a load inserts into: each row of the load format as `TabSeparated`, one `String`
 * column per field (see `tabSeparatedRows`), so ClickHouse's own parser splits the fields
 * (ClickHouse reads the load format itself, `CustomSeparated`, only from 20.5 on). Text
 * columns, not typed ones: the text parser of 18.16 takes any 36 bytes for a `UUID`
 * (`zzzzzzzz-…` becomes `efefefef-…`), so the view checks each field before it converts it.
 * The columns are named apart from the events' own: an alias of the view would shadow them.
 * `Null`: the table keeps nothing, its view writes `events`.
 */
export const LOAD_ROWS_DDL = `CREATE TABLE IF NOT EXISTS load_rows (
  ${STATS_ROW_COLUMNS.map((column) => `${loadField(column)} String`).join(',\n  ')}
) ENGINE = Null`;

/** The objects of the load path before `load_rows`: dropped at open, nothing inserts into them. */
export const FORMER_LOAD_OBJECTS = ['load_lines_into_events', 'load_lines'] as const;

function loadField(column: (typeof STATS_ROW_COLUMNS)[number]): string {
  return `field_${column}`;
}

/** The columns of `load_rows`, in the order of the load format's fields. */
export const LOAD_ROW_FIELDS = STATS_ROW_COLUMNS.map(loadField) as [string, ...string[]];

const NULLABLE = ['sha256', 'md5', 'verdict', 'threat', 'product', 'os'] as const;
/**
 * A row that is not the load format and that the parser let through (it refuses another
 * number of fields itself): a `ts` other than `YYYY-MM-DD HH:MM:SS.mmm`, an empty
 * installation, type or country (not nullable). Only functions that cannot fail on any text.
 */
const NOT_LOAD_FORMAT = [
  `NOT match(${loadField('ts')}, '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}[.][0-9]{3}$')`,
  `empty(${loadField('installation')})`,
  `empty(${loadField('type')})`,
  `empty(${loadField('country')})`,
];

/**
 * Converts each row's fields into the events' columns: `ts` into seconds and milliseconds, an
 * empty nullable field into null, `load_seq` from `load_pending`. The tables are named with
 * their database: the view's query runs in the context of whichever session inserts.
 *
 * Every converted field is read as `substring(field, 1 + throwIf(…))`: the check
 * (`NOT_LOAD_FORMAT`, and one `through` in `load_pending`) runs before any conversion, so a
 * row that is not the load format fails the insert with `throwIf`'s error (see
 * `THROW_IF_ERROR`), never with a conversion's or, worse, a wrong value. A failed insert
 * leaves the load uncommitted: its rows are deleted before the next one (see the store).
 */
export function loadViewDdl(database: string): string {
  // `length(…) * 0 +`: a condition on the subquery alone is a constant, which ClickHouse
  // evaluates when it creates the view (with `load_pending` empty) and would refuse then.
  const refused = [
    ...NOT_LOAD_FORMAT,
    `length(${loadField('ts')}) * 0 + (SELECT count() FROM ${database}.load_pending) != 1`,
  ].join(' OR ');
  const checked = (column: (typeof STATS_ROW_COLUMNS)[number], from = 1, length?: number): string =>
    `substring(${loadField(column)}, ${from} + throwIf(${refused})${length === undefined ? '' : `, ${length}`})`;
  return `CREATE MATERIALIZED VIEW IF NOT EXISTS ${database}.load_rows_into_events TO ${database}.events AS SELECT
  toDateTime(${checked('ts', 1, 19)}, 'UTC') AS ts,
  toUInt16(${checked('ts', 21, 3)}) AS ts_ms,
  toUUID(${checked('installation')}) AS installation,
  ${loadField('type')} AS type,
  ${loadField('country')} AS country,
  ${NULLABLE.map((column) => `nullIf(${loadField(column)}, '') AS ${column}`).join(',\n  ')},
  (SELECT max(through) FROM ${database}.load_pending) AS load_seq
FROM ${database}.load_rows`;
}

/** How ClickHouse words the failure of `throwIf`: in a load, a row the view refused. */
export const THROW_IF_ERROR = "Value passed to 'throwIf' function is non zero";

/**
 * ClickHouse's code for a `TabSeparated` row whose fields do not end where the table's
 * columns do (`CANNOT_PARSE_INPUT_ASSERTION_FAILED`): in a load, a row with another number
 * of fields than the load format.
 */
export const PARSE_INPUT_FAILED = '27';

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
