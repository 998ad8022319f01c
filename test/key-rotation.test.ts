/*
 * `glasshouse keys rotate` and `keys list` end to end: a deployment with installations and
 * samples, stopped; the site's master key rotated (in process with a clock, and by the CLI
 * as a child process killed with SIGKILL midway, then run again); the deployment started
 * again serves every sample byte for byte and opens every installation's file names.
 */

import { type ChildProcess, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/config.js';
import { initDataDir, keysDirectory } from '../src/config/data-dir.js';
import { loadConfig, resolvePaths } from '../src/config/load.js';
import { masterKeyFiles, masterKeyId } from '../src/config/master-key-files.js';
import { buildApp } from '../src/http/app.js';
import { type Glasshouse, openGlasshouse } from '../src/main.js';
import { rotateMasterKey } from '../src/operations/keys/key-rotation.js';
import { CLI_ENTRY, REPO_ROOT, runCli } from './support/cli.js';
import { bearer } from './support/harness.js';
import { type RegisteredInstallation, registerInstallation, submitSample } from './support/installations.js';

const NOW = new Date('2026-11-24T12:00:00Z');
const ROTATED_AT = new Date('2026-11-30T08:00:00Z');
const ACTOR = { role: 'admin', token: 'test' } as const;

interface Running {
  readonly glasshouse: Glasshouse;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

function configOf(dataDir: string): Config {
  const loaded = loadConfig({ dataDir, logLevel: 'silent' });
  const off = { max: 0, windowMs: 60_000 };
  return {
    ...loaded,
    rateLimits: {
      perAddress: off,
      perToken: off,
      failedAuthPerAddress: off,
      registrationsPerAddress: off,
      registrationsPerToken: off,
    },
  };
}

/** The deployment as `glasshouse up` runs it. */
async function start(dataDir: string): Promise<Running> {
  const glasshouse = await openGlasshouse(configOf(dataDir), { publish: true, now: () => NOW });
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

async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Buffer));
  return Buffer.concat(chunks);
}

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The site's log entries of a given type prefix, as the journal holds them. */
async function logEntries(dataDir: string, site: string, prefix: string): Promise<Record<string, unknown>[]> {
  const running = await openGlasshouse(configOf(dataDir), { now: () => NOW });
  try {
    const log = running.logs.get(site);
    if (log === undefined) throw new Error(`no log of ${site}`);
    const all = await log.readEntries(0, await log.size());
    return all
      .map((bytes) => JSON.parse(bytes.toString('utf8')) as Record<string, unknown>)
      .filter((entry) => String(entry.type).startsWith(prefix));
  } finally {
    await running.close();
  }
}

function spawnRotation(dataDir: string, site: string, pauseMs: number): ChildProcess {
  return spawn(
    process.execPath,
    [...CLI_ENTRY, 'keys', 'rotate', '--site', site, '--data', dataDir, '--json'],
    {
      cwd: REPO_ROOT,
      env: { ...process.env, GLASSHOUSE_TEST_ROTATION_PAUSE_MS: String(pauseMs) },
      stdio: 'ignore',
    },
  );
}

async function waitFor(condition: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function killHard(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

describe('glasshouse keys rotate', () => {
  let dataDir: string;
  let site: string;
  const installations: RegisteredInstallation[] = [];
  const samples: { sha256: string; bytes: Buffer; site: string }[] = [];
  const fileNames = new Map<string, unknown>();
  let analyst = '';

  /** Every sample of the site reads back byte for byte; every installation's file names open. */
  async function expectEverythingOpens(running: Running): Promise<void> {
    const node = running.glasshouse.sites.get(site)!;
    for (const sample of samples.filter((s) => s.site === site)) {
      const plaintext = await readAll(await node.vault.openForDownload(sample.sha256, ACTOR));
      expect(plaintext.equals(sample.bytes)).toBe(true);
      const download = await running.app.inject({
        url: `/v1/samples/${sample.sha256}/download`,
        headers: bearer(analyst),
      });
      expect(download.statusCode, download.body).toBe(200);
      expect(await node.vault.verifySample(sample.sha256)).toBe(true);
      expect(await node.vault.authenticateSample(sample.sha256)).toBe(true);
    }
    for (const installation of installations.filter((i) => i.site === site)) {
      expect(await node.vault.submissionsOf(installation.id)).toEqual(fileNames.get(installation.id));
    }
    // A hunt opens each blob on the worker threads with the same re-wrapped key as a download.
    const scan = await running.glasshouse.siteClients
      .get(site)!
      .scanSamples({ rules: 'rule every_sample { condition: true }', after: 0, limit: 1000 });
    const held = samples.filter((s) => s.site === site).map((s) => s.sha256);
    expect({ scanned: scan.scanned, skipped: scan.skipped }).toEqual({
      scanned: new Set(held).size,
      skipped: 0,
    });
    expect(scan.matches.map((m) => m.sha256).sort()).toEqual([...new Set(held)].sort());
  }

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-keys-'));
    initDataDir(resolvePaths({ dataDir }));
    const running = await start(dataDir);
    const { glasshouse, app } = running;
    const product = (await glasshouse.tokens.create({ role: 'product' }, ACTOR)).token;
    analyst = (await glasshouse.tokens.create({ role: 'analyst', person: 'Ana Lyst' }, ACTOR)).token;
    for (const country of ['DE', 'FR', 'CH', 'AT', 'IT', 'DE', 'FR', 'CH']) {
      installations.push(await registerInstallation(app, product, country));
    }
    site = installations[0]!.site;
    for (const [i, installation] of installations.entries()) {
      for (let n = 0; n < (i % 3) + 1; n++) {
        const bytes = randomBytes(1000 + i * 7000 + n);
        const stored = await submitSample(app, product, installation.id, `sample-${i}-${n}.exe`, bytes);
        expect(stored.statusCode, stored.body).toBeLessThan(300);
        samples.push({ sha256: sha256(bytes), bytes, site: installation.site });
      }
    }
    const node = glasshouse.sites.get(site)!;
    for (const installation of installations.filter((i) => i.site === site)) {
      fileNames.set(installation.id, await node.vault.submissionsOf(installation.id));
    }
    await running.close();
  }, 300_000);
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('documents the steps in --help', () => {
    const help = runCli(['keys', 'rotate', '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: glasshouse keys rotate/);
    expect(help.stdout).toContain('stop the site');
  });

  it('refuses a site that does not exist, changing nothing', () => {
    const result = runCli(['keys', 'rotate', '--site', 'atlantis', '--data', dataDir, '--json']);
    expect(result.status).toBe(1);
    const error = JSON.parse(result.stdout).error;
    expect(error.code).toBe('MASTER_KEY_NOT_FOUND');
    expect(error.message).toContain('no site atlantis');
    expect(error.message).toContain(site);
  });

  it('refuses while a server runs on the data directory', async () => {
    const running = await start(dataDir);
    try {
      const before = readFileSync(masterKeyFiles(keysDirectory(dataDir), site).key);
      const result = runCli(['keys', 'rotate', '--site', site, '--data', dataDir, '--json']);
      expect(result.status).toBe(1);
      expect(JSON.parse(result.stdout).error.code).toBe('DATA_DIR_IN_USE');
      const files = masterKeyFiles(keysDirectory(dataDir), site);
      expect(readFileSync(files.key).equals(before)).toBe(true);
      expect(existsSync(files.next)).toBe(false);
      expect(existsSync(files.rotation)).toBe(false);
    } finally {
      await running.close();
    }
  });

  it('re-wraps every key under a new master key; the site serves everything as before, the old key is gone', async () => {
    const files = masterKeyFiles(keysDirectory(dataDir), site);
    const oldKey = readFileSync(files.key);
    const report = await rotateMasterKey(configOf(dataDir), { site, actor: ACTOR, now: () => ROTATED_AT });
    const newKey = readFileSync(files.key);
    expect(newKey.equals(oldKey)).toBe(false);
    expect(report).toMatchObject({
      site,
      from: masterKeyId(oldKey),
      to: masterKeyId(newKey),
      resumed: false,
      installationKeys: installations.filter((i) => i.site === site).length,
      sampleKeys: new Set(samples.filter((s) => s.site === site).map((s) => s.sha256)).size,
    });
    expect(existsSync(files.next)).toBe(false);
    expect(existsSync(files.rotation)).toBe(false);
    // The old key is nowhere in the keys directory any more.
    expect(runCli(['keys', 'list', '--data', dataDir, '--json']).stdout).not.toContain(masterKeyId(oldKey));

    const running = await start(dataDir);
    try {
      await expectEverythingOpens(running);
    } finally {
      await running.close();
    }

    const list = runCli(['keys', 'list', '--data', dataDir, '--json', '--at', '2026-12-10T08:00:00Z']);
    expect(list.status, list.stderr).toBe(0);
    const keys = JSON.parse(list.stdout).keys as Record<string, unknown>[];
    expect(keys).toContainEqual(
      expect.objectContaining({
        kind: 'site-master',
        node: site,
        id: masterKeyId(newKey),
        created: ROTATED_AT.toISOString(),
        lastRotation: ROTATED_AT.toISOString(),
        ageDays: 10,
      }),
    );
    expect(keys.filter((k) => k.kind === 'log-signing').map((k) => k.node)).toContain('control');
    expect(JSON.stringify(keys)).not.toContain(newKey.toString('hex'));

    const logged = await logEntries(dataDir, site, 'master-key.rotation.');
    expect(logged.map((e) => e.type)).toEqual([
      'master-key.rotation.started',
      'master-key.rotation.finished',
    ]);
    expect(logged[1]).toMatchObject({
      from: report.from,
      to: report.to,
      installationKeys: report.installationKeys,
    });
    expect(JSON.stringify(logged)).not.toContain(newKey.toString('hex'));
  }, 120_000);

  it('resumes after kill -9 at any point: the site refuses to start meanwhile, a second run completes it', async () => {
    const files = masterKeyFiles(keysDirectory(dataDir), site);
    const oldId = masterKeyId(readFileSync(files.key));
    /** Rows the killed rotation moved to the new key, read beside it. */
    const movedTo = (table: 'subject_keys' | 'blob_key_wraps'): number => {
      if (!existsSync(files.rotation)) return 0;
      const to = JSON.parse(readFileSync(files.rotation, 'utf8')).to as string;
      const db = new Database(join(dataDir, 'sites', site, 'site.db'), { readonly: true });
      try {
        db.pragma('busy_timeout = 1000');
        return (db.prepare(`SELECT count(*) AS n FROM ${table} WHERE key_id = ?`).get(to) as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const siteSamples = new Set(samples.filter((s) => s.site === site).map((s) => s.sha256)).size;
    // Killed twice: amid the installation keys, then amid the samples' data keys.
    const stages = [
      { table: 'subject_keys', moved: 1 },
      { table: 'blob_key_wraps', moved: 2 },
    ] as const;
    for (const stage of stages) {
      const child = spawnRotation(dataDir, site, 80);
      await waitFor(() => existsSync(files.rotation) && movedTo(stage.table) >= stage.moved, 90_000);
      await killHard(child);
      expect(existsSync(files.rotation)).toBe(true);
    }
    expect(movedTo('blob_key_wraps')).toBeLessThan(siteSamples);
    expect(existsSync(files.key)).toBe(true);
    expect(existsSync(files.next)).toBe(true);
    await expect(start(dataDir)).rejects.toMatchObject({ code: 'KEY_ROTATION_UNFINISHED' });
    const listed = JSON.parse(runCli(['keys', 'list', '--data', dataDir, '--json']).stdout).keys;
    expect(listed).toContainEqual(
      expect.objectContaining({ node: site, id: oldId, rotatingTo: expect.any(String) }),
    );

    const resumed = runCli(['keys', 'rotate', '--site', site, '--data', dataDir, '--json']);
    expect(resumed.status, resumed.stderr).toBe(0);
    const report = JSON.parse(resumed.stdout);
    expect(report).toMatchObject({ from: oldId, resumed: true });
    expect(masterKeyId(readFileSync(files.key))).toBe(report.to);
    expect(existsSync(files.next)).toBe(false);
    expect(existsSync(files.rotation)).toBe(false);

    const running = await start(dataDir);
    try {
      await expectEverythingOpens(running);
    } finally {
      await running.close();
    }
    const logged = await logEntries(dataDir, site, 'master-key.rotation.');
    expect(logged.map((e) => e.type).slice(-4)).toEqual([
      'master-key.rotation.started',
      'master-key.rotation.resumed',
      'master-key.rotation.resumed',
      'master-key.rotation.finished',
    ]);
  }, 180_000);
});
