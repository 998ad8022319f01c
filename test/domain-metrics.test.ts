import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpSiteClient } from '../src/adapters/site-http/http-site-client.js';
import { initDataDir } from '../src/config/data-dir.js';
import { loadConfig, resolvePaths } from '../src/config/load.js';
import { parsePeriod } from '../src/control/reports/period.js';
import { buildApp } from '../src/http/app.js';
import { type Glasshouse, openRemoteControlPlane } from '../src/main.js';
import { sha256OfFile } from '../src/operations/backup/backup-manifest.js';
import { makeBackup } from '../src/operations/backup/index.js';
import { startSiteApi } from '../src/site/api/site-api-server.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import {
  injectSender,
  registerInstallation,
  type Send,
  sendEvents,
  setPolicy,
  uploadSample,
  waitForRelocation,
} from './support/relocation.js';
import { openTestSite, type TestSite } from './support/site-node.js';
import { createTestPki } from './support/site-pki.js';

/*
 * `/metrics` after real actions (uploads, events, privacy and legal requests, a relocation, a
 * verdict import), read by parsing the exposition text; the domain events in the JSON log,
 * without the personal data of the actions that caused them; and a scrape while a site is away.
 */

const DAY_MS = 86_400_000;

/** One sample of the exposition text: `name{labels} value`. */
function sampleOf(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)].map((m) => [
        m[1],
        m[2],
      ]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}

/** Every sample of a metric, as its labels. */
function seriesOf(text: string, name: string): string[] {
  return text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

describe('domain metrics and events', () => {
  let h: Harness;
  let send: Send;
  let admin: string;
  let product: string;
  let officer: string;
  let offsetMs = 0;
  const logLines: string[] = [];
  const events = () =>
    logLines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((entry) => typeof entry.event === 'string');
  const scrape = async () => {
    const response = await h.app.inject({ url: '/metrics' });
    expect(response.statusCode).toBe(200);
    return response.body;
  };

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    h = await startHarness({
      // Real time, moved forward where a deadline must pass.
      now: () => new Date(Date.now() + offsetMs),
      // Telemetry stays in the write-ahead log until a test flushes it.
      stats: { flushIntervalMs: 0, minGroupSize: 1 },
      logger: pino({ level: 'info' }, sink),
      metrics: { ttlMs: 0 },
    });
    send = injectSender(h.app);
    admin = await h.token('admin');
    product = await h.token('product');
    officer = await h.token('privacy');
  });
  afterAll(() => h.close());

  it('counts samples, telemetry accepted and the backlog not loaded yet, per site', async () => {
    const user = await registerInstallation(send, product, 'CH');
    await uploadSample(send, product, user.id, randomBytes(1234), 'Rechnung März.exe');
    await sendEvents(send, product, user.id, 3, new Date());
    let text = await scrape();
    expect(sampleOf(text, 'glasshouse_site_up', { site: user.site })).toBe(1);
    expect(sampleOf(text, 'glasshouse_samples_stored', { site: user.site })).toBe(1);
    expect(sampleOf(text, 'glasshouse_sample_bytes_stored', { site: user.site })).toBe(1234);
    expect(sampleOf(text, 'glasshouse_telemetry_events_accepted_total', { site: user.site })).toBe(3);
    expect(sampleOf(text, 'glasshouse_telemetry_backlog_batches', { site: user.site })).toBe(1);
    expect(sampleOf(text, 'glasshouse_telemetry_backlog_bytes', { site: user.site })).toBeGreaterThan(0);

    await h.glasshouse.sites.get(user.site)!.stats!.flush();
    text = await scrape();
    expect(sampleOf(text, 'glasshouse_telemetry_backlog_batches', { site: user.site })).toBe(0);
    expect(sampleOf(text, 'glasshouse_telemetry_backlog_bytes', { site: user.site })).toBe(0);
  });

  it('shows each node’s log entries and a checkpoint that covers them once published', async () => {
    const control = h.glasshouse.logs.get('control')!;
    await control.publish();
    const text = await scrape();
    const size = await control.size();
    expect(sampleOf(text, 'glasshouse_log_entries', { node: 'control' })).toBe(size);
    expect(sampleOf(text, 'glasshouse_log_checkpoint_size', { node: 'control' })).toBe(size);
    const at = sampleOf(text, 'glasshouse_log_checkpoint_current_timestamp_seconds', { node: 'control' })!;
    expect(Math.abs(at - Date.now() / 1000)).toBeLessThan(60);
    for (const [node, log] of h.glasshouse.logs) {
      expect(sampleOf(text, 'glasshouse_log_entries', { node })).toBe(await log.size());
    }
  });

  it('counts privacy requests open, and overdue once their deadline has passed', async () => {
    const user = await registerInstallation(send, product, 'BR');
    const filed = await h.app.inject({
      method: 'POST',
      url: '/v1/privacy-requests',
      headers: bearer(officer),
      payload: { type: 'export', installation: user.id },
    });
    expect(filed.json().state).toBe('received');
    let text = await scrape();
    expect(sampleOf(text, 'glasshouse_privacy_requests_open')).toBe(1);
    expect(sampleOf(text, 'glasshouse_privacy_requests_overdue')).toBe(0);
    offsetMs += 31 * DAY_MS;
    try {
      text = await scrape();
    } finally {
      offsetMs -= 31 * DAY_MS;
    }
    expect(sampleOf(text, 'glasshouse_privacy_requests_overdue')).toBe(1);
    const rejected = await h.app.inject({
      method: 'POST',
      url: `/v1/privacy-requests/${filed.json().id}/reject`,
      headers: bearer(officer),
      payload: { reason: 'other', note: 'filed by the test' },
    });
    expect(rejected.statusCode).toBe(200);
    expect(sampleOf(await scrape(), 'glasshouse_privacy_requests_open')).toBe(0);
  });

  it('logs an erasure completed by its request id, without the installation', async () => {
    const user = await registerInstallation(send, product, 'DE');
    const filed = await h.app.inject({
      method: 'POST',
      url: '/v1/privacy-requests',
      headers: bearer(officer),
      payload: { type: 'erasure', installation: user.id, verificationNote: 'called back' },
    });
    expect(filed.statusCode, filed.body).toBe(202);
    const id = filed.json().id as string;
    for (let tries = 0; !events().some((e) => e.event === 'privacy.erasure_completed'); tries += 1) {
      if (tries > 400) throw new Error('the erasure did not complete');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(events().find((e) => e.event === 'privacy.erasure_completed')).toMatchObject({ request: id });
    expect(logLines.join('\n')).not.toContain(user.id);
  });

  it('logs a privacy history import by the file’s hash and its row count', async () => {
    const csv = 'received_at,type,outcome,closed_at\n2021-01-04,erasure,completed,2021-01-20\n';
    const imported = await h.app.inject({
      method: 'POST',
      url: '/v1/privacy-requests/import',
      headers: { ...bearer(officer), 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(imported.statusCode, imported.body).toBe(200);
    expect(events().find((e) => e.event === 'privacy.history_imported')).toMatchObject({
      sha256: imported.json().sha256,
      rows: 1,
    });
  });

  it('counts legal requests open by state', async () => {
    const legal = await h.token('legal');
    const received = await h.app.inject({
      method: 'POST',
      url: '/v1/legal-requests',
      headers: bearer(legal),
      payload: {
        receivedAt: '2021-08-03',
        requesterCountry: 'DE',
        authorityKind: 'law_enforcement',
        authority: 'Bundeskriminalamt, Referat SO 41',
        legalBasis: '§ 100a StPO',
        reference: 'AZ 1',
        category: 'technical_expertise',
        scope: { installations: [], hashes: [], threats: [], from: null, to: null, text: '' },
        dueAt: '2021-09-03',
      },
    });
    expect(received.statusCode, received.body).toBe(201);
    expect(sampleOf(await scrape(), 'glasshouse_legal_requests_open', { state: 'received' })).toBe(1);
  });

  it('counts verdicts after an import, and logs the import', async () => {
    const analyst = await h.token('analyst');
    const feed = [randomBytes(32), randomBytes(32)]
      .map((hash) => JSON.stringify({ hash: hash.toString('hex'), verdict: 'malicious', threat: 'A' }))
      .join('\n');
    const response = await h.app.inject({
      method: 'POST',
      url: '/v1/verdicts/import',
      headers: { ...bearer(analyst), 'content-type': 'application/x-ndjson' },
      payload: feed,
    });
    expect(response.statusCode, response.body).toBe(200);
    expect(sampleOf(await scrape(), 'glasshouse_verdicts')).toBe(2);
    expect(events().find((e) => e.event === 'verdicts.imported')).toMatchObject({ loaded: 2, records: 2 });
  });

  it('shows a relocation’s progress while it runs, and logs it when it finishes', async () => {
    const user = await registerInstallation(send, product, 'AR');
    await uploadSample(send, product, user.id, randomBytes(100_000), 'Kontoauszug Müller.pdf');
    const target = user.site === 'zurich' ? 'moscow' : 'zurich';
    await setPolicy(send, admin, target, {});
    // 0.02 MB/s: the 100 kB sample takes about five seconds to copy.
    const started = await send('POST', '/v1/relocations', admin, { rateLimitMbps: 0.02 });
    expect(started.status, JSON.stringify(started.json)).toBe(202);
    const id = started.json.id as string;
    const text = await scrape();
    expect(seriesOf(text, 'glasshouse_relocation_bytes_total').join('\n')).toContain(`relocation="${id}"`);
    expect(sampleOf(text, 'glasshouse_relocation_bytes_total', { relocation: id })).toBeGreaterThanOrEqual(
      100_000,
    );
    expect(sampleOf(text, 'glasshouse_relocation_records_total', { relocation: id })).toBeGreaterThan(0);
    expect(['running', 'done']).toContain(
      /relocation="[^"]+",state="([a-z]+)"/.exec(
        seriesOf(text, 'glasshouse_relocation_bytes_done')[0] ?? '',
      )?.[1],
    );
    expect((await waitForRelocation(send, admin, id)).state).toBe('done');
    await h.glasshouse.relocations.settled();
    expect(seriesOf(await scrape(), 'glasshouse_relocation_bytes_total')).toEqual([]);
    expect(events().find((e) => e.event === 'relocation.finished')).toMatchObject({
      relocation: id,
      state: 'done',
    });
  });

  it('logs tokens created and revoked, policy versions and reports, never a secret or a name', async () => {
    const created = await h.glasshouse.tokens.create(
      { role: 'auditor', person: 'Erika Mustermann' },
      { role: 'admin', token: 'test' },
    );
    await h.glasshouse.tokens.revoke(created.id, { role: 'admin', token: 'test' });
    await h.glasshouse.reportPublications.publish(parsePeriod('2025'), { role: 'admin', token: 'test' });
    const names = events().map((e) => e.event);
    expect(names).toEqual(
      expect.arrayContaining(['token.created', 'token.revoked', 'policy.version_added', 'report.published']),
    );
    expect(events().find((e) => e.event === 'token.revoked')).toMatchObject({ token: created.id });
    const all = logLines.join('\n');
    expect(all).not.toContain(created.token);
    expect(all).not.toContain('Erika');
    expect(all).not.toContain('Mustermann');
    expect(all).not.toContain('Rechnung');
    expect(all).not.toContain('Kontoauszug');
    // The logger given to the services receives the domain events and nothing else.
    for (const line of logLines) expect(JSON.parse(line)).toHaveProperty('event');
  });

  it('shows when each node was last backed up and how long ago, by the service clock', async () => {
    expect(seriesOf(await scrape(), 'glasshouse_backup_age_seconds')).toEqual([]);
    const scratch = mkdtempSync(join(tmpdir(), 'glasshouse-metrics-backup-'));
    try {
      const manifest = await makeBackup({
        config: h.glasshouse.config,
        out: join(scratch, 'backup'),
        now: () => new Date(Date.now() + offsetMs),
      });
      const finished = Date.parse(manifest.finishedAt) / 1000;
      // The backup is another process (the CLI): the serving process logs it once it notices
      // it (it looks every few seconds), once per node, and not again at the next look.
      for (let tries = 0; events().filter((e) => e.event === 'backup.made').length < 3; tries += 1) {
        if (tries > 400) throw new Error('the server did not log the backup');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      h.glasshouse.noticeBackups();
      const made = events().filter((e) => e.event === 'backup.made');
      expect(made.map((e) => e.node).sort()).toEqual(['control', 'moscow', 'zurich']);
      const manifestSha256 = await sha256OfFile(join(scratch, 'backup', 'manifest.json'));
      for (const entry of made) {
        expect(entry).toMatchObject({
          backup: manifestSha256,
          logSize: manifest.nodes[entry.node as string]!.size,
          finishedAt: manifest.finishedAt,
        });
        // Identifiers and counts only: nothing an installation, a file or a person is named by.
        expect(Object.keys(entry).sort()).toEqual(
          [
            'backup',
            'event',
            'finishedAt',
            'level',
            'logSize',
            'msg',
            'node',
            'pid',
            'hostname',
            'time',
          ].sort(),
        );
      }
      let text = await scrape();
      for (const node of ['control', 'zurich', 'moscow']) {
        expect(sampleOf(text, 'glasshouse_backup_last_success_timestamp_seconds', { node })).toBe(finished);
        expect(sampleOf(text, 'glasshouse_backup_age_seconds', { node })).toBeLessThan(60);
      }
      // A day and a half later, with no backup since: the example alert's condition holds.
      offsetMs += 1.5 * DAY_MS;
      text = await scrape();
      expect(sampleOf(text, 'glasshouse_backup_age_seconds', { node: 'control' })).toBeGreaterThan(86_400);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 120_000);
});

describe('a scrape while a site is away', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'glasshouse-metrics-'));
  let zurich: TestSite;
  let zurichApi: Awaited<ReturnType<typeof startSiteApi>>;
  let silent: Server;
  const sockets: Socket[] = [];
  let zurichApiOpen = true;
  let glasshouse: Glasshouse;
  let app: FastifyInstance;
  const clients: HttpSiteClient[] = [];
  // The clients are closed by the control plane's close.

  beforeAll(async () => {
    const pki = await createTestPki();
    const control = await pki.material('control', 'control');
    zurich = await openTestSite({ name: 'zurich' });
    zurichApi = await startSiteApi({
      site: zurich.site,
      log: zurich.log,
      tls: await pki.material('site', 'zurich'),
      host: '127.0.0.1',
      port: 0,
    });
    // Moscow accepts connections and never answers: the worst kind of away.
    silent = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentUrl = `https://127.0.0.1:${(silent.address() as { port: number }).port}`;
    clients.push(
      new HttpSiteClient({ name: 'zurich', jurisdiction: 'CH', url: zurichApi.url, tls: control }),
      new HttpSiteClient({ name: 'moscow', jurisdiction: 'RU', url: silentUrl, tls: control }),
    );
    const dataDir = join(scratch, 'control');
    initDataDir(resolvePaths({ dataDir }));
    const config = loadConfig({ dataDir, logLevel: 'silent' });
    glasshouse = await openRemoteControlPlane(
      config,
      new Map(clients.map((client) => [client.name, client])),
    );
    app = await buildApp({ glasshouse, logLevel: 'silent', metrics: { ttlMs: 0, siteTimeoutMs: 300 } });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await glasshouse.close();
    if (zurichApiOpen) await zurichApi.close();
    await zurich.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => silent.close(resolve));
    rmSync(scratch, { recursive: true, force: true });
  });

  it('answers within the site timeout, with the site down and the others’ figures', async () => {
    const started = Date.now();
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(sampleOf(text, 'glasshouse_site_up', { site: 'moscow' })).toBe(0);
    expect(sampleOf(text, 'glasshouse_site_up', { site: 'zurich' })).toBe(1);
    expect(sampleOf(text, 'glasshouse_samples_stored', { site: 'zurich' })).toBe(0);
    expect(sampleOf(text, 'glasshouse_samples_stored', { site: 'moscow' })).toBeUndefined();
  });

  it('keeps a site’s last known figures once it is away', async () => {
    await zurichApi.close();
    zurichApiOpen = false;
    const started = Date.now();
    const text = (await app.inject({ url: '/metrics' })).body;
    expect(Date.now() - started).toBeLessThan(2000);
    expect(sampleOf(text, 'glasshouse_site_up', { site: 'zurich' })).toBe(0);
    expect(sampleOf(text, 'glasshouse_samples_stored', { site: 'zurich' })).toBe(0);
  });
});
