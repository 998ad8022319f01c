/*
 * The child process of test/metadata-store-contract.test.ts: opens the control plane's
 * metadata store at LOCATION (a SQLite file, or a PostgreSQL URL) exactly as a server or
 * the CLI would, which migrates it, writes one row, prints `opened`, and returns WITHOUT
 * closing the store: the process must still exit on its own.
 *
 *   node --import tsx test/support/metadata-store-child.ts LOCATION
 */
import { openPostgresMetadataStore } from '../../src/adapters/storage/postgres/postgres-metadata-store.js';
import { openSqliteMetadataStore } from '../../src/adapters/storage/sqlite/sqlite-metadata-store.js';
import type { MetadataStore } from '../../src/ports/storage.js';
import { type ContractTables, controlMigrations } from './metadata-migrations.js';

const [location] = process.argv.slice(2);
if (location === undefined) throw new Error('usage: metadata-store-child.ts LOCATION');
const store: MetadataStore<ContractTables> = location.startsWith('postgres://')
  ? await openPostgresMetadataStore({ url: location, migrations: controlMigrations })
  : await openSqliteMetadataStore({ file: location, migrations: controlMigrations });
await store.db
  .insertInto('published_reports')
  .values({ period: `child-${process.pid}`, published_at: new Date().toISOString(), published_by: 'child' })
  .execute();
store.externalVersion();
process.stdout.write('opened\n');
