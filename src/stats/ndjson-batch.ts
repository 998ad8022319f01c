import { isUtf8 } from 'node:buffer';
import { StatsError } from './stats-errors.js';
import { type EventRules, type TelemetryEvent, validateEvent } from './telemetry-event.js';

const NEWLINE = 0x0a;
const CARRIAGE_RETURN = 0x0d;

export interface BatchLimits {
  readonly maxBatchLines: number;
  readonly maxLineBytes: number;
}

export interface LineRejection {
  /** 1-based line number in the body. */
  readonly line: number;
  readonly error: string;
}

export interface ParsedBatch {
  readonly events: readonly { readonly line: number; readonly event: TelemetryEvent }[];
  readonly rejected: LineRejection[];
}

/**
 * Splits an NDJSON body into validated events and per-line rejections. Blank lines are
 * skipped. A body in which no line is a JSON object is not NDJSON at all and is refused
 * whole (`INVALID_EVENT_BATCH`), as is one with more than `maxBatchLines` lines
 * (`EVENT_BATCH_TOO_LARGE`).
 *
 * @example
 * const { events, rejected } = parseEventBatch(body, { maxBatchLines: 10_000, maxLineBytes: 4096 }, rules);
 */
export function parseEventBatch(body: Buffer, limits: BatchLimits, rules: EventRules): ParsedBatch {
  const events: { line: number; event: TelemetryEvent }[] = [];
  const rejected: LineRejection[] = [];
  const checkUtf8 = !isUtf8(body);
  let objects = 0;
  let lines = 0;
  let line = 0;
  for (let start = 0; start < body.length; ) {
    const newline = body.indexOf(NEWLINE, start);
    const stop = newline === -1 ? body.length : newline;
    const end = stop > start && body[stop - 1] === CARRIAGE_RETURN ? stop - 1 : stop;
    const from = start;
    line += 1;
    start = stop + 1;
    if (isBlank(body, from, end)) continue;
    lines += 1;
    if (lines > limits.maxBatchLines) {
      throw new StatsError('EVENT_BATCH_TOO_LARGE', `a batch holds at most ${limits.maxBatchLines} events`, {
        details: { limit: limits.maxBatchLines },
      });
    }
    if (end - from > limits.maxLineBytes) {
      rejected.push({ line, error: `the line is longer than ${limits.maxLineBytes} bytes` });
      continue;
    }
    if (checkUtf8 && !isUtf8(body.subarray(from, end))) {
      rejected.push({ line, error: 'the line is not UTF-8' });
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(body.toString('utf8', from, end));
    } catch {
      rejected.push({ line, error: 'the line is not JSON' });
      continue;
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) objects += 1;
    const result = validateEvent(value, rules);
    if (result.ok) events.push({ line, event: result.event });
    else rejected.push({ line, error: result.error });
  }
  if (objects === 0) {
    throw new StatsError(
      'INVALID_EVENT_BATCH',
      lines === 0
        ? 'the body holds no event'
        : 'no line of the body is a JSON object: send NDJSON, one event a line',
    );
  }
  return { events, rejected };
}

function isBlank(body: Buffer, from: number, end: number): boolean {
  for (let i = from; i < end; i += 1) {
    const c = body[i];
    if (c !== 0x20 && c !== 0x09 && c !== CARRIAGE_RETURN) return false;
  }
  return true;
}
