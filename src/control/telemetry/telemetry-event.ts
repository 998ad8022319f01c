/** What a product reports; `/v1/stats/*` can group by `type`. */
export const EVENT_TYPES = ['detection', 'scan', 'lookup', 'update'] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * One validated telemetry event, normalized: `ts` as `YYYY-MM-DD HH:MM:SS.mmm` in UTC (what
 * the store parses), hashes and the installation id in lower case, absent fields `null`.
 * `installation` is personal data: it never leaves the site in an answer.
 */
export interface TelemetryEvent {
  readonly ts: string;
  readonly installation: string;
  readonly type: EventType;
  readonly sha256: string | null;
  readonly md5: string | null;
  readonly verdict: string | null;
  readonly threat: string | null;
  readonly product: string | null;
  readonly os: string | null;
}

export type LineResult =
  | { readonly ok: true; readonly event: TelemetryEvent }
  | { readonly ok: false; readonly error: string };

export interface EventRules {
  readonly now: Date;
  /** Events older than this many days would be deleted by retention at once: refused. */
  readonly retentionDays: number;
}

/** Clock skew tolerated for events from the future. */
const FUTURE_SLACK_MS = 24 * 3600 * 1000;
const DAY_MS = 24 * 3600 * 1000;
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SHA256 = /^[0-9a-f]{64}$/i;
const MD5 = /^[0-9a-f]{32}$/i;
const VERDICT = /^[a-z][a-z0-9_-]{0,31}$/;
const TEXT_LIMITS = { threat: 256, product: 64, os: 64 } as const;

/**
 * Validates one decoded JSON value as an event. Unknown members are ignored (newer products
 * may send more); a `country` member is ignored too: countries come from the registry.
 *
 * @example
 * const result = validateEvent(JSON.parse(line), { now: new Date(), retentionDays: 365 });
 * if (!result.ok) rejected.push({ line, error: result.error });
 */
export function validateEvent(value: unknown, rules: EventRules): LineResult {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return fail('an event is a JSON object');
  }
  const raw = value as Record<string, unknown>;
  const ts = parseTimestamp(raw.ts, rules);
  if (ts instanceof Error) return fail(ts.message);
  if (typeof raw.installation !== 'string' || !UUID.test(raw.installation)) {
    return fail('"installation" must be an installation id (a UUID)');
  }
  if (typeof raw.type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(raw.type)) {
    return fail(`"type" must be one of ${EVENT_TYPES.join(', ')}`);
  }
  const sha256 = optionalMatch(raw.sha256, SHA256, '"sha256" must be 64 hex digits');
  if (sha256 instanceof Error) return fail(sha256.message);
  const md5 = optionalMatch(raw.md5, MD5, '"md5" must be 32 hex digits');
  if (md5 instanceof Error) return fail(md5.message);
  const verdict = optionalMatch(
    typeof raw.verdict === 'string' ? raw.verdict.toLowerCase() : raw.verdict,
    VERDICT,
    '"verdict" must be a short word (a-z, 0-9, _ and -, at most 32)',
  );
  if (verdict instanceof Error) return fail(verdict.message);
  const texts: Record<keyof typeof TEXT_LIMITS, string | null> = { threat: null, product: null, os: null };
  for (const field of Object.keys(TEXT_LIMITS) as (keyof typeof TEXT_LIMITS)[]) {
    const text = optionalText(raw[field], field, TEXT_LIMITS[field]);
    if (text instanceof Error) return fail(text.message);
    texts[field] = text;
  }
  return {
    ok: true,
    event: {
      ts,
      installation: raw.installation.toLowerCase(),
      type: raw.type as EventType,
      sha256: sha256?.toLowerCase() ?? null,
      md5: md5?.toLowerCase() ?? null,
      verdict,
      ...texts,
    },
  };
}

/** The oldest and newest event times `rules` accept, in ms since the epoch. */
export function eventWindow(rules: EventRules): { oldestMs: number; newestMs: number } {
  const now = rules.now.getTime();
  return { oldestMs: now - rules.retentionDays * DAY_MS, newestMs: now + FUTURE_SLACK_MS };
}

/** Returns the normalized timestamp, or the reason it is refused. */
function parseTimestamp(value: unknown, rules: EventRules): string | Error {
  if (typeof value !== 'string' || !TIMESTAMP.test(value)) {
    return new Error('"ts" must be an RFC 3339 date-time with a zone, e.g. 2026-11-23T10:00:00Z');
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms) || !isCalendarDate(value)) return new Error('"ts" is not a valid date-time');
  if (ms > rules.now.getTime() + FUTURE_SLACK_MS) return new Error('"ts" is more than a day in the future');
  if (ms < rules.now.getTime() - rules.retentionDays * DAY_MS) {
    return new Error(`"ts" is older than the retention period (${rules.retentionDays} days)`);
  }
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/** Date.parse rolls 2026-02-30 over into March; the calendar does not. */
function isCalendarDate(value: string): boolean {
  const [year, month, day] = [
    Number(value.slice(0, 4)),
    Number(value.slice(5, 7)),
    Number(value.slice(8, 10)),
  ];
  const date = new Date(Date.UTC(year, month - 1, day));
  return date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
}

function optionalMatch(value: unknown, pattern: RegExp, message: string): string | null | Error {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || !pattern.test(value)) return new Error(message);
  return value;
}

function optionalText(value: unknown, field: string, limit: number): string | null | Error {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string' || value.length === 0 || value.length > limit || hasControl(value)) {
    return new Error(`"${field}" must be text of 1 to ${limit} characters without control characters`);
  }
  return value;
}

/**
 * Free text may hold no control character: the store's row format separates fields with
 * U+001F and rows with U+000A, so excluding C0/C1 controls makes escaping unnecessary.
 */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) return true;
  }
  return false;
}

function fail(error: string): LineResult {
  return { ok: false, error };
}

const FIELD = '\u001f';

/**
 * Encodes an event as one row of the store's load format (`StatsStore.load`): the columns
 * of `STATS_ROW_COLUMNS`, separated by U+001F, ended by a newline; an empty field is null.
 */
export function encodeEventRow(event: TelemetryEvent, country: string): string {
  return `${event.ts}${FIELD}${event.installation}${FIELD}${event.type}${FIELD}${country}${FIELD}${
    event.sha256 ?? ''
  }${FIELD}${event.md5 ?? ''}${FIELD}${event.verdict ?? ''}${FIELD}${event.threat ?? ''}${FIELD}${
    event.product ?? ''
  }${FIELD}${event.os ?? ''}\n`;
}
