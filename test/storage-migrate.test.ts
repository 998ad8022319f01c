/*
 * `glasshouse storage migrate` end to end: a deployment made on its embedded stores (the
 * control plane and two sites, as `glasshouse up` runs them), stopped; config.yaml then names
 * PostgreSQL, S3 and ClickHouse for the control plane and one site; the CLI (a child process)
 * moves each; the deployment starts on the engines and serves what it held before.
 */

import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { copyMetadataToPostgres } from '../src/adapters/storage/migrate/copy-metadata.js';
import { openPostgresMetadataStore } from '../src/adapters/storage/postgres/postgres-metadata-store.js';
import { openSqliteMetadataStore } from '../src/adapters/storage/sqlite/sqlite-metadata-store.js';
import type { Config } from '../src/config/config.js';
import { initDataDir } from '../src/config/data-dir.js';
import { loadConfig, resolvePaths } from '../src/config/load.js';
import { buildApp } from '../src/http/app.js';
import { nodeSigner } from '../src/ledger/open-node-log.js';
import { verifyPublishedLog } from '../src/ledger/verify-published-log.js';
import { type Glasshouse, openGlasshouse } from '../src/main.js';
import type { SiteNode, SiteTables } from '../src/site/site-node.js';
import { SITE_MIGRATIONS } from '../src/site-main.js';
import { runCli, runCliAsync } from './support/cli.js';
import { engineAvailable } from './support/engines/availability.js';
import {
  CLICKHOUSE_INSTALL,
  type ClickHouseTestServer,
  clickhouseExecutable,
  startClickHouse,
} from './support/engines/clickhouse.js';
import { type PostgresServer, postgresAvailable, startPostgres } from './support/engines/postgres.js';
import { type S3Engine, startS3Engine } from './support/engines/s3.js';
import { bearer } from './support/harness.js';
import { type RegisteredInstallation, registerInstallation, submitSample } from './support/installations.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const now = () => NOW;
const STATS_QUERY = '/v1/stats/detections?groupBy=country,threat,day&from=2026-11-01&to=2026-12-01';

const engines =
  postgresAvailable() && engineAvailable('ClickHouse', clickhouseExecutable, CLICKHOUSE_INSTALL);

interface Running {
  readonly glasshouse: Glasshouse;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** The deployment as `glasshouse up` runs it, on the data directory's config.yaml. */
async function start(dataDir: string): Promise<Running> {
  const loaded = loadConfig({ dataDir, logLevel: 'silent' });
  const off = { max: 0, windowMs: 60_000 };
  const config: Config = {
    ...loaded,
    rateLimits: {
      perAddress: off,
      perToken: off,
      failedAuthPerAddress: off,
      registrationsPerAddress: off,
      registrationsPerToken: off,
    },
  };
  const glasshouse = await openGlasshouse(config, { publish: true, now });
  await glasshouse.recover();
  const app = await buildApp({ glasshouse, logLevel: 'silent' });
  await app.ready();
  return {
    glasshouse,
    app,
    async close() {
      await app.close();
      await glasshouse.close();
    },
  };
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

/** The size of every file under `directory` (the stored, encrypted blobs). */
function storedBytes(directory: string): number {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .reduce((sum, entry) => sum + statSync(join(entry.parentPath, entry.name)).size, 0);
}

/** What a site holds by installation (key, submissions, events) and its samples, in a stable order. */
async function residencyOf(site: Pick<SiteNode, 'scanResidency'>) {
  const scan = await site.scanResidency();
  return { ...scan, installations: [...scan.installations].sort((a, b) => a.id.localeCompare(b.id)) };
}

// Without any engine: what the command refuses before it opens anything.
describe('glasshouse storage migrate, refusing', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-migrate-'));
    initDataDir(resolvePaths({ dataDir }));
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('documents the steps in --help', () => {
    const help = runCli(['storage', 'migrate', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: glasshouse storage migrate/);
    expect(help.stdout).toContain('--dry-run');
    expect(help.stdout).toContain('stop the node');
  });

  it('refuses a node that does not exist (usage), and a node with nothing configured to move', () => {
    const unknown = runCli(['storage', 'migrate', '--data', dataDir, '--node', 'paris']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('--node paris: no such node');
    expect(unknown.stderr).toContain('control, zurich, moscow');
    const embedded = runCli(['storage', 'migrate', '--data', dataDir, '--node', 'zurich', '--json']);
    expect(embedded.status).toBe(1);
    const error = JSON.parse(embedded.stdout).error;
    expect(error.code).toBe('NOTHING_TO_MIGRATE');
    expect(error.message).toContain('names no engine for site zurich');
  });
});

describe.runIf(engines)('glasshouse storage migrate', () => {
  let postgres: PostgresServer;
  let s3: S3Engine;
  let clickhouse: ClickHouseTestServer;
  let dataDir: string;
  let env: NodeJS.ProcessEnv;
  const tokens = { product: '', analyst: '', legal: '', privacy: '' };
  const installations: RegisteredInstallation[] = [];
  const samples: { sha256: string; bytes: Buffer; site: string }[] = [];
  /** What the deployment answered before the move, to compare with after. */
  const before = {
    stats: '' as string,
    legal: undefined as unknown,
    privacyId: '',
    residency: new Map<string, unknown>(),
    checkpoints: new Map<string, string>(),
  };
  const urls = {
    controlMetadata: '',
    zurichMetadata: '',
    zurichStats: '',
    zurichBlobs: '',
    zurichTiles: '',
    controlTiles: '',
    bucket: '',
  };

  /** The CLI as an operator runs it, with the engines' credentials in its environment. */
  async function migrate(...args: string[]) {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      return await runCliAsync(['storage', 'migrate', '--data', dataDir, ...args]);
    } finally {
      for (const key of Object.keys(env)) if (saved[key] === undefined) delete process.env[key];
    }
  }

  beforeAll(async () => {
    [postgres, s3, clickhouse] = await Promise.all([startPostgres(), startS3Engine(), startClickHouse()]);
    urls.controlMetadata = await postgres.createDatabase('control');
    urls.zurichMetadata = await postgres.createDatabase('zurich');
    urls.zurichStats = await clickhouse.createDatabase('zurich');
    urls.bucket = await s3.createBucket();
    urls.zurichBlobs = s3.url(urls.bucket, 'zurich/blobs');
    urls.zurichTiles = s3.url(urls.bucket, 'zurich/log');
    urls.controlTiles = s3.url(urls.bucket, 'control/log');
    env = { ...clickhouse.env, AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

    // The embedded deployment, with data in every store.
    dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-migrate-'));
    initDataDir(resolvePaths({ dataDir }));
    const running = await start(dataDir);
    const { glasshouse, app } = running;
    const admin = { role: 'admin', token: 'test' } as const;
    tokens.product = (await glasshouse.tokens.create({ role: 'product' }, admin)).token;
    tokens.analyst = (await glasshouse.tokens.create({ role: 'analyst', person: 'Ana Lyst' }, admin)).token;
    tokens.legal = (await glasshouse.tokens.create({ role: 'legal', person: 'Lea Gal' }, admin)).token;
    tokens.privacy = (await glasshouse.tokens.create({ role: 'privacy', person: 'Priv Acy' }, admin)).token;
    for (const country of ['DE', 'DE', 'FR', 'CH', 'AT', 'IT', 'RU', 'RU']) {
      installations.push(await registerInstallation(app, tokens.product, country));
    }
    for (const [i, installation] of installations.entries()) {
      for (let n = 0; n < (i % 3) + 1; n++) {
        const bytes = randomBytes(1000 + i * 5000 + n);
        const stored = await submitSample(
          app,
          tokens.product,
          installation.id,
          `sample-${i}-${n}.exe`,
          bytes,
        );
        expect(stored.statusCode, stored.body).toBeLessThan(300);
        samples.push({ sha256: sha256(bytes), bytes, site: installation.site });
      }
    }
    const lines = installations.flatMap((installation, i) =>
      Array.from({ length: 3 + i }, (_, n) =>
        JSON.stringify({
          ts: `2026-11-${String(20 + (n % 3)).padStart(2, '0')}T10:00:00Z`,
          installation: installation.id,
          type: 'detection',
          sha256: 'ab'.repeat(32),
          verdict: 'malicious',
          threat: n % 2 === 0 ? 'Trojan.Win32.Agent' : 'Worm.Win32.Net',
          product: 'endpoint-12',
          os: 'windows-11',
        }),
      ),
    );
    const events = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer(tokens.product), 'content-type': 'application/x-ndjson' },
      payload: lines.join('\n'),
    });
    expect(events.statusCode, events.body).toBeLessThan(300);
    const legal = await app.inject({
      method: 'POST',
      url: '/v1/legal-requests',
      headers: bearer(tokens.legal),
      payload: {
        receivedAt: '2026-11-02',
        requesterCountry: 'DE',
        authorityKind: 'law_enforcement',
        authority: 'Bundeskriminalamt',
        legalBasis: '§ 100a StPO',
        reference: 'AZ 1',
        category: 'technical_expertise',
        scope: { installations: [], hashes: [], threats: [], from: null, to: null, text: '' },
      },
    });
    expect(legal.statusCode, legal.body).toBe(201);
    const privacy = await app.inject({
      method: 'POST',
      url: '/v1/privacy-requests',
      headers: bearer(tokens.privacy),
      payload: { type: 'inventory', installation: installations[0]!.id },
    });
    expect(privacy.statusCode, privacy.body).toBe(202);
    before.privacyId = privacy.json().id;
    for (const site of glasshouse.sites.values()) await site.stats!.flush();
    before.stats = (await app.inject({ url: STATS_QUERY, headers: bearer(tokens.analyst) })).body;
    before.legal = (
      await app.inject({ url: `/v1/legal-requests/${legal.json().id}`, headers: bearer(tokens.legal) })
    ).json();
    for (const [name, site] of glasshouse.sites) before.residency.set(name, await residencyOf(site));

    // The operator names the new stores of the control plane and of zurich; moscow stays embedded.
    const configFile = join(dataDir, 'config.yaml');
    const config = parseYaml(readFileSync(configFile, 'utf8'));
    config.storage = { metadata: urls.controlMetadata, tiles: urls.controlTiles };
    config.sites.zurich.storage = {
      metadata: urls.zurichMetadata,
      blobs: urls.zurichBlobs,
      tiles: urls.zurichTiles,
      stats: urls.zurichStats,
    };
    writeFileSync(configFile, stringifyYaml(config));
    // The operator forgot to stop the server: the move is refused.
    for (const node of ['zurich', 'control']) {
      const busy = await migrate('--node', node, '--json');
      expect(busy.status, busy.stderr).toBe(1);
      expect(JSON.parse(busy.stdout).error.code).toBe('DATA_DIR_IN_USE');
      expect(busy.stderr).toContain('stop it before moving');
    }

    await running.close();
    for (const node of ['control', 'zurich']) {
      const file = join(
        dataDir,
        node === 'control' ? 'control' : 'sites/zurich',
        'log',
        'public',
        'checkpoint',
      );
      before.checkpoints.set(node, readFileSync(file, 'utf8'));
    }
  }, 300_000);

  afterAll(async () => {
    await Promise.all([postgres?.stop(), s3?.stop(), clickhouse?.stop()]);
    if (dataDir !== undefined) rmSync(dataDir, { recursive: true, force: true });
  });

  it('copies ids as they are, and continues them past the highest SQLite ever gave (deleted rows too)', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'glasshouse-migrate-ids-'));
    const source = await openSqliteMetadataStore<SiteTables>({
      file: join(directory, 'site.db'),
      migrations: SITE_MIGRATIONS,
    });
    const target = await openPostgresMetadataStore<SiteTables>({
      url: await postgres.createDatabase('ids'),
      migrations: SITE_MIGRATIONS,
    });
    try {
      const hash = 'ab'.repeat(32);
      await source.db
        .insertInto('samples')
        .values({
          sha256: hash,
          sha1: 'a'.repeat(40),
          md5: 'b'.repeat(32),
          sha512: 'c'.repeat(128),
          size: 1,
          ssdeep: null,
          tlsh: null,
          first_seen: NOW.toISOString(),
          last_seen: NOW.toISOString(),
        })
        .execute();
      const submission = (n: number) => ({
        sha256: hash,
        installation_id: `installation-${n}`,
        submitted_at: NOW.toISOString(),
        product: 'endpoint-12',
        filename_sealed: `sealed-${n}`,
      });
      for (const n of [1, 2, 3, 4]) await source.db.insertInto('submissions').values(submission(n)).execute();
      // An erasure deleted the newest: SQLite never gives its id (4) again.
      await source.db.deleteFrom('submissions').where('id', '=', 4).execute();
      const copied = await copyMetadataToPostgres(source.db, target.db, () => undefined);
      expect(copied).toEqual([
        { table: 'blob_key_wraps', rows: 0 },
        { table: 'sample_comments', rows: 0 },
        { table: 'sample_tags', rows: 0 },
        { table: 'samples', rows: 1 },
        { table: 'subject_keys', rows: 0 },
        { table: 'submissions', rows: 3 },
      ]);
      const rows = await target.db
        .selectFrom('submissions')
        .select(['id', 'installation_id'])
        .orderBy('id')
        .execute();
      expect(rows).toEqual([1, 2, 3].map((id) => ({ id, installation_id: `installation-${id}` })));
      const added = await target.db
        .insertInto('submissions')
        .values(submission(5))
        .returning('id')
        .executeTakeFirstOrThrow();
      expect(added.id).toBe(5);
    } finally {
      await source.close();
      await target.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('counts in a dry run what would move, and changes nothing', async () => {
    const dry = await migrate('--node', 'zurich', '--dry-run', '--json');
    expect(dry.status, dry.stderr).toBe(0);
    const report = JSON.parse(dry.stdout);
    const zurich = before.residency.get('zurich') as {
      installations: { submissions: number; events: number }[];
    };
    expect(report.dryRun).toBe(true);
    expect(report.blobs.counts.blobs).toBe(samples.filter((s) => s.site === 'zurich').length);
    expect(report.blobs.counts.bytes).toBe(storedBytes(join(dataDir, 'sites', 'zurich', 'blobs')));
    expect(report.stats.counts.events).toBe(zurich.installations.reduce((sum, i) => sum + i.events, 0));
    expect(report.metadata.counts.tables.map((t: { table: string }) => t.table).sort()).toEqual([
      'blob_key_wraps',
      'sample_comments',
      'sample_tags',
      'samples',
      'subject_keys',
      'submissions',
    ]);
    expect(await postgres.query("select * from pg_tables where schemaname = 'public'", 'zurich')).toEqual([]);
    expect(await s3.keys(urls.bucket)).toEqual([]);
    expect((await clickhouse.query('SHOW TABLES FROM zurich')).trim()).toBe('');
  });

  it('moves a site and the control plane, checking each copy, and says what may be removed', async () => {
    const zurich = await migrate('--node', 'zurich', '--json');
    expect(zurich.status, zurich.stderr).toBe(0);
    const moved = JSON.parse(zurich.stdout);
    expect(moved).toMatchObject({ node: 'zurich', dryRun: false, unchanged: [] });
    expect(moved.blobs.counts.blobs).toBe(samples.filter((s) => s.site === 'zurich').length);
    expect(moved.blobs.counts.bytes).toBe(storedBytes(join(dataDir, 'sites', 'zurich', 'blobs')));
    expect(await s3.keys(urls.bucket, 'zurich/blobs/blobs/')).toHaveLength(moved.blobs.counts.blobs);
    expect(moved.tiles.counts.entries).toBeGreaterThan(0);
    expect(moved.removableOnceVerified).toContain(join(dataDir, 'sites', 'zurich', 'site.db'));
    expect(moved.removableOnceVerified).not.toContain(join(dataDir, 'sites', 'zurich', 'log', 'journal.db'));

    const control = await migrate('--node', 'control');
    expect(control.status, control.stderr).toBe(0);
    expect(control.stdout).toContain('metadata: moved');
    expect(control.stdout).toContain('may be removed');
    expect(control.stdout).toContain(join(dataDir, 'control', 'control.db'));
  });

  it('refuses a second move onto stores that now hold data, and changes nothing', async () => {
    const rows = await postgres.query<{ n: string }>('select count(*) as n from submissions', 'zurich');
    const keys = await s3.keys(urls.bucket);
    const again = await migrate('--node', 'zurich', '--json');
    expect(again.status).toBe(1);
    const error = JSON.parse(again.stdout).error;
    expect(error.code).toBe('STORAGE_NOT_EMPTY');
    expect(error.message).toContain('nothing was copied');
    expect(error.message).toContain('blobs at');
    expect(await postgres.query('select count(*) as n from submissions', 'zurich')).toEqual(rows);
    expect(await s3.keys(urls.bucket)).toEqual(keys);
  });

  it('starts on the engines and serves everything it held before', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, env);
    const running = await start(dataDir);
    try {
      const { glasshouse, app } = running;
      // The tokens live in PostgreSQL now: the analyst's still works.
      const stats = await app.inject({ url: STATS_QUERY, headers: bearer(tokens.analyst) });
      expect(stats.statusCode).toBe(200);
      expect(stats.body).toBe(before.stats);
      for (const [name, site] of glasshouse.sites) {
        expect(await residencyOf(site)).toEqual(before.residency.get(name));
      }
      for (const sample of samples) {
        const site = glasshouse.sites.get(sample.site)!;
        expect((await readAll(await site.openSamplePlaintext(sample.sha256))).equals(sample.bytes)).toBe(
          true,
        );
        const download = await app.inject({
          url: `/v1/samples/${sample.sha256}/download`,
          headers: bearer(tokens.analyst),
        });
        expect(download.statusCode).toBe(200);
      }
      const legalId = (before.legal as { id: string }).id;
      const legal = await app.inject({ url: `/v1/legal-requests/${legalId}`, headers: bearer(tokens.legal) });
      expect(legal.json()).toEqual(before.legal);
      // Its events' ids (an identity column) continue past the copied ones.
      const acted = await app.inject({
        method: 'POST',
        url: `/v1/legal-requests/${legalId}/actions`,
        headers: bearer(tokens.legal),
        payload: { action: 'start_verification', note: 'seen after the move' },
      });
      expect(acted.statusCode, acted.body).toBe(200);
      const privacy = await app.inject({
        url: `/v1/privacy-requests/${before.privacyId}`,
        headers: bearer(tokens.privacy),
      });
      expect(privacy.statusCode).toBe(200);
      expect(privacy.json()).toMatchObject({ id: before.privacyId, type: 'inventory' });
      // New rows get ids past the copied ones (a submission's id is an identity column), and
      // each log grows from where it was.
      await glasshouse.tokens.create(
        { role: 'analyst', person: 'New Comer' },
        { role: 'admin', token: 'test' },
      );
      const newcomer = await registerInstallation(app, tokens.product, 'DE');
      const upload = await submitSample(app, tokens.product, newcomer.id, 'new.exe', randomBytes(2000));
      expect(upload.statusCode, upload.body).toBeLessThan(300);
      for (const node of ['control', 'zurich']) {
        const log = glasshouse.logs.get(node)!;
        await log.publish();
        const verified = await verifyPublishedLog({
          read: (path) => log.readPublished(path),
          verifierKey: nodeSigner(glasshouse.config, node).verifierKey,
          previousCheckpoint: before.checkpoints.get(node)!,
        });
        expect(verified.size).toBeGreaterThan(verified.previous!.size);
      }
      // Every tile is in the bucket: the embedded tiles were not read.
      expect((await s3.keys(urls.bucket, 'zurich/log/')).length).toBeGreaterThan(1);
    } finally {
      await running.close();
      for (const key of Object.keys(env)) if (saved[key] === undefined) delete process.env[key];
    }
  }, 60_000);
});
