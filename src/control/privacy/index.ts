export type { ErasureReceipt } from './erasure-job.js';
export type { ExportDocument } from './export-archive.js';
export { HISTORY_COLUMNS, type HistoryImport, type HistoryRow, parseHistory } from './history-import.js';
export type { Inventory } from './inventory.js';
export { type Filer, PrivacyDesk, type RequestFilter, type Viewer } from './privacy-desk.js';
export { PrivacyError, type PrivacyErrorCode } from './privacy-errors.js';
export { DESK_ACTOR, type PrivacyLogEvent, privacyLogEntry, USER_ACTOR } from './privacy-log.js';
export {
  DUE_DAYS,
  type PrivacyRequest,
  REJECTION_REASONS,
  REQUEST_STATES,
  REQUEST_TYPES,
  type RejectionReason,
  type RequestState,
  type RequestType,
} from './privacy-request.js';
export { privacyRoutes } from './privacy-routes.js';
export { type PrivacyTables, privacyMigrations } from './privacy-tables.js';
export { PrivacyWorker } from './privacy-worker.js';
