import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type DatabaseIntrospector, type Kysely, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresMetadataStore } from '../src/adapters/storage/postgres/postgres-metadata-store.js';
import type { AuthTables } from '../src/control/auth/auth-tables.js';
import { TokenService } from '../src/control/auth/token-service.js';
import { legalMigrations } from '../src/control/legal/legal-tables.js';
import type { AuditSink } from '../src/ports/audit-sink.js';
import type { MetadataStore } from '../src/ports/storage.js';
import { insertionOrder } from '../src/shared/sql-dialect.js';
import { StorageError } from '../src/shared/storage-errors.js';
import { REPO_ROOT } from './support/cli.js';
import { type MetadataBackend, metadataBackends } from './support/metadata-backends.js';
import { type ContractTables, controlMigrations, siteMigrations } from './support/metadata-migrations.js';

const run = promisify(execFile);
const CHILD = join(REPO_ROOT, 'test', 'support', 'metadata-store-child.ts');
const NO_AUDIT: AuditSink = { append: async () => undefined, close: async () => undefined };
const ADMIN = { role: 'admin', token: 'contract-test' };
const NOW = new Date('2026-03-01T09:00:00.000Z');

const CONTROL_TABLES = [
  'hunt_matches',
  'hunt_sites',
  'hunts',
  'installations',
  'legal_imports',
  'legal_request_events',
  'legal_requests',
  'people',
  'policy_versions',
  'privacy_imports',
  'privacy_requests',
  'privacy_steps',
  'published_reports',
  'relocation_items',
  'relocations',
  'tokens',
];

/** Resolves once `condition` holds; fails after `ms`. */
async function eventually(condition: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('the condition never held');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

// One suite, every backend of the port (the way Kysely runs one suite per dialect).
const backends = metadataBackends();
const postgres = backends.find((b) => b.name === 'PostgreSQL') as MetadataBackend;

for (const backend of backends) {
  describe.runIf(backend.available)(`MetadataStore contract: ${backend.name}`, () => {
    const opened: MetadataStore<unknown>[] = [];
    beforeAll(() => backend.start(), 60_000);
    afterAll(async () => {
      for (const store of opened) await store.close();
      await backend.stop();
    });

    async function open<Tables = ContractTables>(
      location: string,
      migrations: Parameters<MetadataBackend['open']>[1] = controlMigrations,
    ): Promise<MetadataStore<Tables>> {
      const store = await backend.open<Tables>(location, migrations);
      opened.push(store as MetadataStore<unknown>);
      return store;
    }

    async function tableNames(store: { db: { introspection: DatabaseIntrospector } }): Promise<string[]> {
      const tables = await store.db.introspection.getTables();
      return tables
        .map((t) => t.name)
        .filter((name) => !name.startsWith('kysely_'))
        .sort();
    }

    describe('migrations', () => {
      it("apply every domain's, and opening again changes nothing", async () => {
        const control = await backend.location();
        const first = await open(control);
        expect(await tableNames(first)).toEqual(CONTROL_TABLES);
        await first.close();
        const again = await open(control);
        expect(await tableNames(again)).toEqual(CONTROL_TABLES);
        const site = await open(await backend.location(), siteMigrations);
        expect(await tableNames(site)).toEqual([
          'blob_key_wraps',
          'sample_comments',
          'sample_tags',
          'samples',
          'subject_keys',
          'submissions',
        ]);
      });

      it('let two processes open a new store at once: one migrates, both work, neither keeps running', async () => {
        const location = await backend.location();
        const child = () =>
          run(process.execPath, ['--import', 'tsx', CHILD, location], { cwd: REPO_ROOT, timeout: 60_000 });
        // The children return without closing their stores: they must exit on their own.
        const outputs = await Promise.all([child(), child()]);
        expect(outputs.map((o) => o.stdout)).toEqual(['opened\n', 'opened\n']);
        const store = await open(location);
        const rows = await store.db.selectFrom('published_reports').select('published_by').execute();
        expect(rows.map((r) => r.published_by)).toEqual(['child', 'child']);
      }, 90_000);

      it('fill a table that a later migration adds from rows an earlier one kept (legal imports)', async () => {
        const location = await backend.location();
        const before = await open<ContractTables>(location, {
          '0300_legal_requests': legalMigrations['0300_legal_requests']!,
        });
        await before.db
          .insertInto('legal_request_events')
          .values(
            ['2026-01-02T00:00:00.000Z', '2026-01-01T00:00:00.000Z'].map((at) => ({
              request_id: `r-${at}`,
              at,
              action: 'imported',
              actor_role: 'admin',
              actor_token: 't',
              state: 'received',
              reason: null,
              data: JSON.stringify({ file: 'a'.repeat(64) }),
            })),
          )
          .execute();
        await before.close();
        const after = await open<ContractTables>(location, legalMigrations);
        expect(await after.db.selectFrom('legal_imports').selectAll().execute()).toEqual([
          { sha256: 'a'.repeat(64), attempt: 0, rows: 2, imported_at: '2026-01-01T00:00:00.000Z' },
        ]);
      });
    });

    describe('transactions', () => {
      it('commit together, visible to another store, or roll back whole', async () => {
        const location = await backend.location();
        const [a, b] = [await open(location), await open(location)];
        await a.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('published_reports')
            .values({ period: '2025', published_at: 'x', published_by: 'a' })
            .execute();
          await trx
            .insertInto('published_reports')
            .values({ period: '2025-H1', published_at: 'x', published_by: 'a' })
            .execute();
        });
        await a.durable();
        const failing = a.db.transaction().execute(async (trx) => {
          await trx
            .insertInto('published_reports')
            .values({ period: '2024', published_at: 'x', published_by: 'a' })
            .execute();
          // The primary key refuses the second row: the first goes with it.
          await trx
            .insertInto('published_reports')
            .values({ period: '2025', published_at: 'x', published_by: 'a' })
            .execute();
        });
        await expect(failing).rejects.toThrow();
        const periods = await b.db
          .selectFrom('published_reports')
          .select('period')
          .orderBy('period')
          .execute();
        expect(periods.map((r) => r.period)).toEqual(['2025', '2025-H1']);
      });

      it('run one at a time in a process, so a read-then-write one never sees another half done', async () => {
        const store = await open(await backend.location());
        // Each transaction reads the highest version and adds the next: run concurrently, they
        // would collide on the key (SQLite serializes them; so must every backend).
        await Promise.all(
          Array.from({ length: 8 }, () =>
            store.db.transaction().execute(async (trx) => {
              const { latest } = await trx
                .selectFrom('policy_versions')
                .select((eb) => eb.fn.max('version').as('latest'))
                .executeTakeFirstOrThrow();
              await new Promise((resolve) => setTimeout(resolve, 5));
              await trx
                .insertInto('policy_versions')
                .values({
                  version: (latest ?? 0) + 1,
                  effective_from: 'x',
                  default_site: 's',
                  assign: '[]',
                  created_at: 'x',
                })
                .execute();
            }),
          ),
        );
        const versions = await store.db
          .selectFrom('policy_versions')
          .select('version')
          .orderBy('version')
          .execute();
        expect(versions.map((r) => r.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      });

      it('are durable when durable() resolves', async () => {
        const store = await open(await backend.location());
        await store.db
          .insertInto('published_reports')
          .values({ period: '2026', published_at: 'x', published_by: 'a' })
          .execute();
        await expect(store.durable()).resolves.toBeUndefined();
      });
    });

    describe('values', () => {
      it('come back as numbers: integers past 2^31, counts and sums', async () => {
        const store = await open(await backend.location());
        const big = 2 ** 40 + 1;
        await store.db
          .insertInto('relocations')
          .values({
            id: 'r',
            state: 'running',
            created_at: 'x',
            updated_at: 'x',
            finished_at: null,
            actor: '{}',
            policy_version: 1,
            batch_size: 10,
            rate_limit_mbps: 0.125,
            errors: '[]',
          })
          .execute();
        await store.db
          .insertInto('relocation_items')
          .values(
            ['a', 'b'].map((installation_id) => ({
              relocation_id: 'r',
              installation_id,
              source: 's',
              target: 't',
              batch: 0,
              step: 'pending' as const,
              submissions: 1,
              samples: 1,
              bytes: big,
              events: 0,
              updated_at: 'x',
            })),
          )
          .execute();
        const totals = await store.db
          .selectFrom('relocation_items')
          .select((eb) => [eb.fn.countAll<number>().as('items'), eb.fn.sum<number>('bytes').as('bytes')])
          .executeTakeFirstOrThrow();
        expect(totals).toEqual({ items: 2, bytes: 2 * big });
        const row = await store.db
          .selectFrom('relocations')
          .select(['batch_size', 'rate_limit_mbps'])
          .executeTakeFirstOrThrow();
        expect(row).toEqual({ batch_size: 10, rate_limit_mbps: 0.125 });
      });

      it('text sorts and compares byte by byte, whatever the locale', async () => {
        const store = await open(await backend.location());
        const keys = ['b', 'B', 'a', '_a', 'aa', 'é', 'Z', 'a b', 'a-b', '0'];
        await store.db
          .insertInto('people')
          .values(keys.map((key) => ({ key, name: key, salt: '00', created_at: 'x' })))
          .execute();
        const sorted = await store.db.selectFrom('people').select('key').orderBy('key').execute();
        expect(sorted.map((r) => r.key)).toEqual([...keys].sort());
        const after = await store.db
          .selectFrom('people')
          .select('key')
          .where('key', '>', 'a')
          .orderBy('key')
          .execute();
        expect(after.map((r) => r.key)).toEqual([...keys].sort().filter((k) => k > 'a'));
      });

      it('keep the order rows were inserted in, for the tables that ask (privacy steps)', async () => {
        const store = await open(await backend.location());
        for (const step of ['plan', 'registry', 'zurich:events', 'a-last']) {
          await store.db
            .insertInto('privacy_steps')
            .values({ request_id: 'q', step, result: '{}', done_at: 'same' })
            .execute();
        }
        await store.db
          .updateTable('privacy_steps')
          .set({ result: 'null' })
          .where('step', '=', 'plan')
          .execute();
        const steps = await store.db
          .selectFrom('privacy_steps')
          .select('step')
          .where('request_id', '=', 'q')
          .orderBy(insertionOrder(store.db))
          .execute();
        expect(steps.map((s) => s.step)).toEqual(['plan', 'registry', 'zurich:events', 'a-last']);
      });
    });

    describe('externalVersion', () => {
      it('changes once another process commits', async () => {
        const location = await backend.location();
        const [a, b] = [await open(location), await open(location)];
        // Settled: nothing else writes.
        await new Promise((resolve) => setTimeout(resolve, 200));
        const before = a.externalVersion();
        expect(typeof before).toBe('number');
        await b.db
          .insertInto('published_reports')
          .values({ period: '2026', published_at: 'x', published_by: 'b' })
          .execute();
        await eventually(() => a.externalVersion() !== before);
      });
    });

    describe('compact', () => {
      it('leaves no byte of a deleted row in the store’s tables and indexes', async () => {
        const store = await open(await backend.location());
        const needle = `needle-${randomBytes(8).toString('hex')}`;
        await store.db
          .insertInto('people')
          .values({ key: needle, name: needle, salt: '00', created_at: 'x' })
          .execute();
        await store.db
          .insertInto('people')
          .values({ key: 'kept', name: 'kept', salt: '00', created_at: 'x' })
          .execute();
        // Written through to the files (PostgreSQL: checkpointed, and its statistics sampled).
        await store.compact();
        expect(backend.filesHolding(Buffer.from(needle))).not.toEqual([]);
        await store.db.deleteFrom('people').where('key', '=', needle).execute();
        await store.compact();
        expect(backend.filesHolding(Buffer.from(needle))).toEqual([]);
        expect((await store.db.selectFrom('people').select('key').execute()).map((r) => r.key)).toEqual([
          'kept',
        ]);
      }, 30_000);
    });

    describe('a domain service on it (TokenService)', () => {
      it('issues, authenticates and revokes; a revoke by another process ends the cached token', async () => {
        const location = await backend.location();
        const [server, cli] = [await open(location), await open(location)];
        const tokensOf = (store: MetadataStore<ContractTables>) =>
          new TokenService({
            db: store.db as unknown as Kysely<AuthTables>,
            externalVersion: () => store.externalVersion(),
            knownSites: new Set(['zurich', 'moscow']),
            audit: NO_AUDIT,
            now: () => NOW,
          });
        const [served, admin] = [tokensOf(server), tokensOf(cli)];
        const legal = await admin.create({ role: 'legal', person: 'Ada Lovelace', sites: ['zurich'] }, ADMIN);
        await expect(admin.create({ role: 'legal', person: ' ada  LOVELACE ' }, ADMIN)).rejects.toMatchObject(
          {
            code: 'ACTIVE_TOKEN_EXISTS',
          },
        );
        expect((await served.authenticate(legal.token))?.tokenId).toBe(legal.id);
        expect(served.authenticateCached(legal.token)?.tokenId).toBe(legal.id);
        await admin.revoke(legal.id, ADMIN);
        await eventually(() => served.authenticateCached(legal.token) === undefined);
        expect(await served.authenticate(legal.token)).toBeUndefined();
        expect((await served.list()).map((t) => [t.id, t.state])).toEqual([[legal.id, 'revoked']]);
        await served.close();
        await admin.close();
      });
    });
  });
}

describe.runIf(postgres.available)('PostgreSQL metadata store, when the server cannot be used', () => {
  async function closedPort(): Promise<number> {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    await new Promise((resolve) => server.close(resolve));
    return address.port;
  }

  it('fails to open with STORAGE_UNAVAILABLE, naming the engine and its message, never the password', async () => {
    const url = `postgres://glasshouse:s3cret-password@127.0.0.1:${await closedPort()}/glasshouse`;
    const error = await openPostgresMetadataStore({ url, migrations: controlMigrations }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('STORAGE_UNAVAILABLE');
    expect((error as Error).message).toMatch(
      /^PostgreSQL metadata store at postgres:\/\/glasshouse:\*\*\*@127\.0\.0\.1:\d+\/glasshouse cannot be used: .*ECONNREFUSED/,
    );
    expect((error as Error).message).not.toContain('s3cret');
  });
});

describe.runIf(postgres.available)('PostgreSQL metadata store, on a running server', () => {
  const backend = postgres;
  beforeAll(() => backend.start(), 60_000);
  afterAll(() => backend.stop());

  it('fails to open a database that does not exist with STORAGE_UNAVAILABLE and the server’s message', async () => {
    const url = (await backend.location()).replace(/\/[^/]+$/, '/no_such_database');
    await expect(openPostgresMetadataStore({ url, migrations: controlMigrations })).rejects.toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringMatching(/PostgreSQL .*database "no_such_database" does not exist/),
    });
  });

  it('opens as an ordinary role that owns its database, its password from PGPASSWORD, and compacts without CHECKPOINT', async () => {
    const admin = await backend.open<ContractTables>(await backend.location(), {});
    const password = randomBytes(12).toString('hex');
    await sql.raw(`create role glasshouse login password '${password}'`).execute(admin.db);
    await sql.raw('create database glasshouse owner glasshouse').execute(admin.db);
    await admin.close();
    const url = `postgres://glasshouse@127.0.0.1:${new URL(await backend.location()).port}/glasshouse`;
    const refused = await openPostgresMetadataStore({
      url: url.replace('glasshouse@', 'glasshouse:wrong@'),
      migrations: controlMigrations,
    }).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'STORAGE_UNAVAILABLE',
      message: expect.stringMatching(/password authentication failed for user "glasshouse"/),
    });
    expect((refused as Error).message).not.toContain('wrong');
    process.env.PGPASSWORD = password;
    try {
      const store = await openPostgresMetadataStore<ContractTables>({ url, migrations: controlMigrations });
      try {
        await store.db
          .insertInto('people')
          .values({ key: 'k', name: 'n', salt: '00', created_at: 'x' })
          .execute();
        await store.db.deleteFrom('people').execute();
        // Not a superuser, no pg_checkpoint: the checkpoint is left to the server.
        await expect(store.compact()).resolves.toBeUndefined();
      } finally {
        await store.close();
      }
    } finally {
      delete process.env.PGPASSWORD;
    }
  });

  it('commits synchronously even where the server is set not to', async () => {
    const url = await backend.location();
    const database = new URL(url).pathname.slice(1);
    const admin = await backend.open<ContractTables>(url, {});
    await sql.raw(`alter database "${database}" set synchronous_commit = off`).execute(admin.db);
    await admin.close();
    const store = await backend.open<ContractTables>(url, controlMigrations);
    try {
      const shown = await sql<{ synchronous_commit: string }>`show synchronous_commit`.execute(store.db);
      expect(shown.rows).toEqual([{ synchronous_commit: 'on' }]);
    } finally {
      await store.close();
    }
  });

  it('lets transactions wait for their turn without holding the pool', async () => {
    const url = await backend.location();
    const store = await openPostgresMetadataStore<ContractTables>({
      url,
      migrations: controlMigrations,
      maxConnections: 2,
    });
    try {
      // More transactions than connections, each also reading outside itself while it runs.
      const counts = await Promise.all(
        Array.from({ length: 6 }, (_, i) =>
          store.db.transaction().execute(async (trx) => {
            await trx
              .insertInto('published_reports')
              .values({ period: `${2000 + i}`, published_at: 'x', published_by: 'a' })
              .execute();
            const outside = await store.db
              .selectFrom('published_reports')
              .select((eb) => eb.fn.countAll<number>().as('n'))
              .executeTakeFirstOrThrow();
            return outside.n;
          }),
        ),
      );
      // Outside the transaction, its own uncommitted row is not seen: the rows before it are.
      expect(counts).toEqual([0, 1, 2, 3, 4, 5]);
    } finally {
      await store.close();
    }
  });

  it('fails a query whose integer JavaScript cannot hold exactly, rather than round it', async () => {
    const store = await backend.open<ContractTables>(await backend.location(), controlMigrations);
    try {
      await expect(sql`select 9007199254740993::bigint as n`.execute(store.db)).rejects.toThrow(/2\^53/);
      expect((await sql<{ n: number }>`select 9007199254740991::bigint as n`.execute(store.db)).rows).toEqual(
        [{ n: 9007199254740991 }],
      );
    } finally {
      await store.close();
    }
  });
});
