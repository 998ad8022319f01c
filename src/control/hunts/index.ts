export { huntRoutes } from './hunt-routes.js';
export { HuntService, type HuntServiceOptions } from './hunt-service.js';
export type { HuntStatus } from './hunt-status.js';
export type { HuntMatch } from './hunt-store.js';
export { type HuntTables, huntMigrations } from './hunt-tables.js';
