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
