import type { StatsGroup, StatsGroupKey } from '../../ports/storage.js';
import { StatsError } from '../../shared/stats-errors.js';
import { EVENT_TYPES, type EventType } from './telemetry-event.js';

export const GROUP_KEYS: readonly StatsGroupKey[] = ['day', 'country', 'threat', 'verdict', 'type'];

/** `day,country` → the keys, each once, in the order given. */
export function parseGroupBy(text: string): StatsGroupKey[] {
  const keys = text.split(',').map((k) => k.trim());
  for (const key of keys) {
    if (!(GROUP_KEYS as readonly string[]).includes(key)) {
      throw invalid('groupBy', text, `"${key}" is not a group key; use ${GROUP_KEYS.join(', ')}`);
    }
  }
  if (new Set(keys).size !== keys.length) throw invalid('groupBy', text, 'a group key is repeated');
  return keys as StatsGroupKey[];
}

/** `detection,scan` → the event types. */
export function parseTypes(text: string): EventType[] {
  const types = text.split(',').map((t) => t.trim());
  for (const type of types) {
    if (!(EVENT_TYPES as readonly string[]).includes(type)) {
      throw invalid('type', text, `"${type}" is not an event type; use ${EVENT_TYPES.join(', ')}`);
    }
  }
  return [...new Set(types)] as EventType[];
}

/**
 * `from` (inclusive) and `to` (exclusive), each a date (`2026-11-23`, midnight UTC) or an
 * RFC 3339 date-time with a zone; either may be absent (unbounded).
 */
export function parseRange(from: string | undefined, to: string | undefined): { from?: Date; to?: Date } {
  const range = {
    ...(from === undefined ? {} : { from: parseInstant('from', from) }),
    ...(to === undefined ? {} : { to: parseInstant('to', to) }),
  };
  if (range.from !== undefined && range.to !== undefined && range.from >= range.to) {
    throw invalid('to', to, '"from" must be before "to"');
  }
  return range;
}

function parseInstant(field: string, text: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
  const shaped = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.exec(iso);
  const date = new Date(iso);
  if (shaped === null || Number.isNaN(date.getTime()) || !calendarDay(shaped)) {
    throw invalid(field, text, `"${text}" is not a date (YYYY-MM-DD) or a date-time with a zone`);
  }
  return date;
}

function calendarDay(match: RegExpExecArray): boolean {
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

export interface MergedGroups {
  readonly groups: StatsGroup[];
  /** Groups withheld because they cover fewer than `minGroupSize` installations. */
  readonly suppressed: number;
}

/**
 * Sums the same group across sites, then withholds groups of fewer than `minGroupSize`
 * distinct installations. Summing distinct counts is exact because an installation lives at
 * one site; suppressing after the sum judges a group split across sites on its total.
 *
 * @example
 * const { groups, suppressed } = mergeGroups([zurichGroups, moscowGroups], 5);
 */
export function mergeGroups(perSite: readonly (readonly StatsGroup[])[], minGroupSize: number): MergedGroups {
  const merged = new Map<
    string,
    { key: readonly (string | null)[]; events: number; installations: number }
  >();
  for (const groups of perSite) {
    for (const group of groups) {
      const id = JSON.stringify(group.key);
      const known = merged.get(id);
      if (known === undefined) merged.set(id, { ...group });
      else {
        known.events += group.events;
        known.installations += group.installations;
      }
    }
  }
  const groups: StatsGroup[] = [];
  let suppressed = 0;
  for (const group of merged.values()) {
    if (group.installations < minGroupSize) suppressed += 1;
    else groups.push(group);
  }
  return { groups, suppressed };
}

export interface FirstGroups {
  /** The first `limit` groups shown, in key order (`byKey`). */
  readonly groups: StatsGroup[];
  /** Groups withheld because they cover fewer than `minGroupSize` installations. */
  readonly suppressed: number;
  /** More groups passed suppression than `limit`. */
  readonly truncated: boolean;
}

/**
 * What `mergeGroups`, then a sort by `byKey` and the first `limit` give, in one pass over the
 * sites' answers when each is in strict key order (the stores sort them; a site's run is
 * checked first): a merge of sorted runs, with no map of every group, no sort, and an object
 * only for each group shown. A run out of order (a site of another kind, or a string order
 * other than JS's) takes the general path, so the answer is the same either way.
 *
 * @example
 * const { groups, suppressed, truncated } = firstGroupsByKey([zurichGroups, moscowGroups], 5, 1000);
 */
export function firstGroupsByKey(
  perSite: readonly (readonly StatsGroup[])[],
  minGroupSize: number,
  limit: number,
): FirstGroups {
  const runs = perSite.filter((run) => run.length > 0);
  if (!runs.every(inStrictKeyOrder)) {
    const { groups, suppressed } = mergeGroups(perSite, minGroupSize);
    groups.sort(byKey);
    return { groups: groups.slice(0, limit), suppressed, truncated: groups.length > limit };
  }
  const next = runs.map(() => 0);
  const shown: StatsGroup[] = [];
  let passed = 0;
  let suppressed = 0;
  for (;;) {
    // The smallest head among the runs (few: one per site), summed over the runs that share it.
    let least = -1;
    for (let r = 0; r < runs.length; r += 1) {
      if (
        next[r]! < runs[r]!.length &&
        (least < 0 || byKey(runs[r]![next[r]!]!, runs[least]![next[least]!]!) < 0)
      )
        least = r;
    }
    if (least < 0) break;
    const head = runs[least]![next[least]!]!;
    let events = 0;
    let installations = 0;
    for (let r = 0; r < runs.length; r += 1) {
      const group = runs[r]![next[r]!];
      if (group !== undefined && (r === least || byKey(group, head) === 0)) {
        events += group.events;
        installations += group.installations;
        next[r]! += 1;
      }
    }
    if (installations < minGroupSize) suppressed += 1;
    else {
      passed += 1;
      if (shown.length < limit) shown.push({ key: head.key, events, installations });
    }
  }
  return { groups: shown, suppressed, truncated: passed > limit };
}

function inStrictKeyOrder(run: readonly StatsGroup[]): boolean {
  for (let i = 1; i < run.length; i += 1) if (byKey(run[i - 1]!, run[i]!) >= 0) return false;
  return true;
}

/** Key order, each key ascending, absent values last. */
export function byKey(a: StatsGroup, b: StatsGroup): number {
  for (let i = 0; i < a.key.length; i += 1) {
    const x = a.key[i] ?? null;
    const y = b.key[i] ?? null;
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Most events first, then key order. */
export function byEvents(a: StatsGroup, b: StatsGroup): number {
  return b.events - a.events || byKey(a, b);
}

function invalid(field: string, value: string | undefined, message: string): StatsError {
  return new StatsError('INVALID_STATS_QUERY', message, { details: { field, value } });
}
