import { CONTROL_MIGRATIONS, type ControlTables } from '../../src/main.js';
import { SITE_MIGRATIONS } from '../../src/site-main.js';

/** The control plane's migrations, as `main.ts` opens its metadata store. */
export const controlMigrations = CONTROL_MIGRATIONS;

/** A site's migrations, as `site-main.ts` opens its metadata store. */
export const siteMigrations = SITE_MIGRATIONS;

/** The control plane's tables, which the contract suite's domain cases write. */
export type ContractTables = ControlTables;
