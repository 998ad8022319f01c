import fc from 'fast-check';
import {
  STATS_ROW_COLUMNS,
  type StatsAggregation,
  type StatsEventRow,
  type StatsGroup,
  type StatsGroupKey,
} from '../../src/ports/storage.js';

/*
 * Telemetry rows for the stats contract suite, and the counts a store must give for them,
 * computed here from the rows themselves (never by a store).
 */

export interface GeneratedEvent {
  readonly ts: Date;
  readonly installation: string;
  readonly type: string;
  readonly country: string;
  readonly sha256: string | null;
  readonly md5: string | null;
  readonly verdict: string | null;
  readonly threat: string | null;
  readonly product: string | null;
  readonly os: string | null;
}

export const INSTALLATIONS = [
  '0b7c1a52-9d1e-4f3a-8c2b-1a2b3c4d5e01',
  '1c8d2b63-0e2f-4a4b-9d3c-2b3c4d5e6f02',
  '2d9e3c74-1f30-4b5c-8e4d-3c4d5e6f7a03',
  '3eaf4d85-2041-4c6d-9f5e-4d5e6f7a8b04',
  '4fb05e96-3152-4d7e-806f-5e6f7a8b9c05',
  '50c16fa7-4263-4e8f-9170-6f7a8b9c0d06',
  '61d270b8-5374-4f90-a281-7a8b9c0d1e07',
  '72e381c9-6485-40a1-b392-8b9c0d1e2f08',
] as const;
export const COUNTRIES = ['DE', 'BR', 'RU', 'CH'] as const;
export const TYPES = ['detection', 'scan', 'lookup', 'update'] as const;
/** Threat names that stress quoting and escaping in each engine's text formats. */
export const THREATS = [
  null,
  'Trojan.A',
  'Worm.B',
  'Back\\slash \'quote\' "dq"',
  'Ünïcödé ✓',
  ' spaced ',
] as const;
export const VERDICTS = [null, 'malicious', 'clean', 'suspicious'] as const;
/** Events fall in these days, many at midnight and on the same millisecond (boundaries). */
const FIRST_DAY = Date.UTC(2026, 9, 28);
const DAYS = 10;
const DAY_MS = 24 * 3600 * 1000;

const hex = (length: number) =>
  fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: length, maxLength: length });

const timestamp = fc.oneof(
  fc.integer({ min: 0, max: DAYS * DAY_MS - 1 }).map((ms) => new Date(FIRST_DAY + ms)),
  // Exactly at a day's start, or one millisecond either side.
  fc
    .tuple(fc.integer({ min: 1, max: DAYS - 1 }), fc.constantFrom(-1, 0, 1))
    .map(([day, offset]) => new Date(FIRST_DAY + day * DAY_MS + offset)),
);

export const eventArbitrary: fc.Arbitrary<GeneratedEvent> = fc.record({
  ts: timestamp,
  installation: fc.constantFrom(...INSTALLATIONS),
  type: fc.constantFrom(...TYPES),
  country: fc.constantFrom(...COUNTRIES),
  sha256: fc.option(hex(64), { nil: null }),
  md5: fc.option(hex(32), { nil: null }),
  verdict: fc.constantFrom(...VERDICTS),
  threat: fc.constantFrom(...THREATS),
  product: fc.option(fc.constantFrom('av-desktop', 'av-mobile'), { nil: null }),
  os: fc.option(fc.constantFrom('linux', 'windows 11'), { nil: null }),
});

const GROUP_KEYS: readonly StatsGroupKey[] = ['day', 'country', 'threat', 'verdict', 'type'];

export const aggregationArbitrary: fc.Arbitrary<StatsAggregation> = fc
  .record(
    {
      groupBy: fc
        .subarray([...GROUP_KEYS])
        .chain((keys) => fc.shuffledSubarray(keys, { minLength: keys.length })),
      from: timestamp,
      to: timestamp,
      types: fc.subarray([...TYPES], { minLength: 1 }),
      country: fc.constantFrom(...COUNTRIES),
      withThreat: fc.boolean(),
    },
    { requiredKeys: ['groupBy'] },
  )
  .map((query) => query as StatsAggregation);

/** One event as a row of the load format. */
export function encodeRow(event: GeneratedEvent): string {
  const values: Record<(typeof STATS_ROW_COLUMNS)[number], string | null> = {
    ...event,
    ts: loadTimestamp(event.ts),
  };
  return `${STATS_ROW_COLUMNS.map((column) => values[column] ?? '').join('\u001f')}\n`;
}

/** The rows as a load's chunks, cut at arbitrary bytes (a row may span two chunks). */
export function chunksOf(events: readonly GeneratedEvent[], cuts: readonly number[]): Buffer[] {
  const bytes = Buffer.from(events.map(encodeRow).join(''));
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    if (point > start) chunks.push(bytes.subarray(start, point));
    start = Math.max(start, point);
  }
  return chunks;
}

/** What `aggregate` must answer, from the events themselves. */
export function expectedGroups(events: readonly GeneratedEvent[], query: StatsAggregation): StatsGroup[] {
  const groups = new Map<string, { key: (string | null)[]; events: number; installations: Set<string> }>();
  for (const event of events) {
    if (query.from !== undefined && event.ts < query.from) continue;
    if (query.to !== undefined && event.ts >= query.to) continue;
    if (query.types !== undefined && !query.types.includes(event.type)) continue;
    if (query.country !== undefined && event.country !== query.country) continue;
    if (query.withThreat === true && event.threat === null) continue;
    const key = query.groupBy.map((k) => (k === 'day' ? event.ts.toISOString().slice(0, 10) : event[k]));
    const id = JSON.stringify(key);
    const group = groups.get(id) ?? { key, events: 0, installations: new Set<string>() };
    group.events += 1;
    group.installations.add(event.installation);
    groups.set(id, group);
  }
  // Without GROUP BY, SQL answers one row even over no events.
  if (query.groupBy.length === 0 && groups.size === 0) return [{ key: [], events: 0, installations: 0 }];
  return sortGroups(
    [...groups.values()].map((g) => ({ key: g.key, events: g.events, installations: g.installations.size })),
  );
}

export function sortGroups(groups: readonly StatsGroup[]): StatsGroup[] {
  return [...groups].sort((a, b) => (JSON.stringify(a.key) < JSON.stringify(b.key) ? -1 : 1));
}

/** What `eventsOf` must answer for the installation, oldest first (ties in any order). */
export function expectedEventsOf(
  events: readonly GeneratedEvent[],
  installation: string,
  range: { from?: Date; to?: Date } = {},
): StatsEventRow[] {
  return events
    .filter(
      (e) =>
        e.installation === installation &&
        (range.from === undefined || e.ts >= range.from) &&
        (range.to === undefined || e.ts < range.to),
    )
    .map((e) => ({ ...e, ts: e.ts.toISOString() }))
    .sort(byRow);
}

/** Rows in a canonical order: by `ts`, then by every other column. */
export function byRow(a: StatsEventRow, b: StatsEventRow): number {
  const x = JSON.stringify(STATS_ROW_COLUMNS.map((c) => a[c]));
  const y = JSON.stringify(STATS_ROW_COLUMNS.map((c) => b[c]));
  return x < y ? -1 : x > y ? 1 : 0;
}

function loadTimestamp(date: Date): string {
  const iso = date.toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
