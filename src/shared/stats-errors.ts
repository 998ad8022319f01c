import { GlasshouseError } from './errors.js';

export type StatsErrorCode =
  | 'INVALID_EVENT_BATCH'
  | 'EVENT_BATCH_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_STATS_QUERY'
  | 'STATS_CLOSED'
  | 'STATS_WAL_CORRUPT'
  | 'SITE_NOT_RUNNING'
  | 'STATS_SNAPSHOT_FAILED';

export class StatsError extends GlasshouseError<StatsErrorCode> {}
