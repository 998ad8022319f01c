import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Migration } from 'kysely';
import { openPostgresMetadataStore } from '../../src/adapters/storage/postgres/postgres-metadata-store.js';
import { openSqliteMetadataStore } from '../../src/adapters/storage/sqlite/sqlite-metadata-store.js';
import type { MetadataStore } from '../../src/ports/storage.js';
import { type PostgresServer, postgresAvailable, startPostgres } from './engines/postgres.js';
import { filesContaining } from './raw-scan.js';

/**
 * One engine behind the `MetadataStore` port, for the contract suite: fresh, empty places to
 * open stores at (a file, a database), and where their raw bytes lie on disk.
 */
export interface MetadataBackend {
  readonly name: string;
  /** Whether it can run here; `false` has already said so loudly. */
  readonly available: boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A new, empty location (a SQLite file, a PostgreSQL database URL). */
  location(): Promise<string>;
  open<Tables>(
    location: string,
    migrations: Readonly<Record<string, Migration>>,
  ): Promise<MetadataStore<Tables>>;
  /** The files on disk whose bytes hold `needle` (the whole server's, for PostgreSQL). */
  filesHolding(needle: Buffer): string[];
}

/** Every backend of the port: SQLite (the default), PostgreSQL. */
export function metadataBackends(): MetadataBackend[] {
  return [sqliteBackend(), postgresBackend()];
}

function sqliteBackend(): MetadataBackend {
  let dir = '';
  let files = 0;
  return {
    name: 'SQLite',
    available: true,
    async start() {
      dir = mkdtempSync(join(tmpdir(), 'glasshouse-metadata-'));
    },
    async stop() {
      rmSync(dir, { recursive: true, force: true });
    },
    async location() {
      files += 1;
      return join(dir, `store-${files}.db`);
    },
    open: (file, migrations) => openSqliteMetadataStore({ file, migrations }),
    filesHolding: (needle) => filesContaining(dir, { needle }),
  };
}

function postgresBackend(): MetadataBackend {
  let server: PostgresServer | undefined;
  let databases = 0;
  return {
    name: 'PostgreSQL',
    available: postgresAvailable(),
    async start() {
      server = await startPostgres();
    },
    async stop() {
      await server?.stop();
    },
    async location() {
      databases += 1;
      return (server as PostgresServer).createDatabase(`store_${databases}`);
    },
    // A short poll so that the tests of `externalVersion` wait less.
    open: (url, migrations) => openPostgresMetadataStore({ url, migrations, versionPollMs: 50 }),
    // Tables and indexes only: the WAL keeps deleted rows until it is recycled (see
    // docs/storage-postgres.md), which a test cannot wait for.
    filesHolding: (needle) => filesContaining(join((server as PostgresServer).dataDir, 'base'), { needle }),
  };
}
