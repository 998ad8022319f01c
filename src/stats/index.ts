export { EventWal, type WalRecord } from './event-wal.js';
export { type ParsedBatch, parseEventBatch, rowsWithCountry } from './ndjson-batch.js';
export { StatsBuffer, type StatsBufferOptions } from './stats-buffer.js';
export { StatsError, type StatsErrorCode } from './stats-errors.js';
export { mergeGroups, parseGroupBy, parseRange } from './stats-query.js';
export { type IngestResult, type StatsAnswer, StatsRouter, type StatsSettings } from './stats-router.js';
export { NDJSON_CONTENT_TYPE, statsRoutes } from './stats-routes.js';
export {
  EVENT_TYPES,
  type EventType,
  encodeEventRow,
  type TelemetryEvent,
  validateEvent,
} from './telemetry-event.js';
