export { type ActionInput, type ActionResult, type HistoryImport, LegalDesk } from './legal-desk.js';
export { LegalError, type LegalErrorCode } from './legal-errors.js';
export { HISTORY_COLUMNS } from './legal-history.js';
export type { LegalRequest, LegalState } from './legal-request.js';
export { legalRoutes } from './legal-routes.js';
export { type LegalTables, legalMigrations } from './legal-tables.js';
