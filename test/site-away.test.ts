import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configure, Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { type CliProcess, killAllCliProcesses, startCliProcess } from './support/cli-process.js';
import { cliOrThrow as cli } from './support/split-deployment.js';

/*
 * A site that goes away in the middle: `glasshouse site` for zurich and moscow and
 * `glasshouse control`, real processes over mutual TLS. Moscow is killed (SIGKILL), what
 * needs it answers 503 SITE_UNAVAILABLE and nothing else fails; it comes back on the same
 * port with everything it acknowledged, and the erasure that waited for it completes.
 */

configure({ useWebWorkers: false });

const scratch = mkdtempSync(join(tmpdir(), 'glasshouse-away-'));
const controlDir = join(scratch, 'control');
const configFile = join(controlDir, 'config.yaml');
const siteDir = (site: string) => join(scratch, `${site}-data`);
const SITES = ['zurich', 'moscow'] as const;
/** The bound of a call to a site that is away (SITE_CALL_TIMEOUT_MS), and some slack. */
const BOUNDED_MS = 12_000;

const sites = new Map<string, CliProcess>();
let control: CliProcess;
let product: string;
let analyst: string;
let auditor: string;
let privacyOfficer: string;

interface Registered {
  readonly id: string;
  readonly secret: string;
  readonly site: string;
}

function token(role: string): string {
  const person = role === 'product' ? [] : ['--person', `${role} officer`];
  return (
    JSON.parse(cli(['token', 'create', '--role', role, ...person, '--data', controlDir, '--json'])) as {
      token: string;
    }
  ).token;
}

function startSite(site: string, port: number | string): Promise<CliProcess> {
  const bundle = join(scratch, `${site}-tls`);
  return startCliProcess([
    'site',
    '--name',
    site,
    '--data',
    siteDir(site),
    '--tls',
    bundle,
    '--config',
    configFile,
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
  ]);
}

const call = (path: string, init: RequestInit & { token?: string } = {}) =>
  fetch(`${control.url}${path}`, {
    ...init,
    headers: {
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
      ...init.headers,
    },
    signal: AbortSignal.timeout(30_000),
  });

async function register(country: string): Promise<Registered> {
  const response = await call('/v1/installations', {
    method: 'POST',
    token: product,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ country, product: 'endpoint-12' }),
  });
  expect(response.status, control.output()).toBe(201);
  return (await response.json()) as Registered;
}

const upload = (installation: Registered, body: Buffer) =>
  call(`/v1/samples?installation=${installation.id}&filename=sample.exe`, {
    method: 'POST',
    token: product,
    headers: { 'content-type': 'application/octet-stream' },
    body,
  });

function sendEvents(installation: Registered, count: number) {
  const ts = new Date(Date.now() - 60_000).toISOString();
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      ts,
      installation: installation.id,
      type: 'detection',
      sha256: createHash('sha256').update(`${installation.id} ${i}`).digest('hex'),
      verdict: 'malicious',
      threat: 'Trojan.Win32.Agent',
      product: 'endpoint-12',
    }),
  );
  return call('/v1/events', {
    method: 'POST',
    token: product,
    headers: { 'content-type': 'application/x-ndjson' },
    body: `${lines.join('\n')}\n`,
  });
}

async function unzipped(response: Response): Promise<Buffer> {
  const zip = new Uint8Array(await response.arrayBuffer());
  const [entry] = await new ZipReader(new Uint8ArrayReader(zip)).getEntries();
  if (entry === undefined || entry.directory) throw new Error('expected one file entry');
  return Buffer.from(await entry.getData(new Uint8ArrayWriter(), { password: 'infected' }));
}

async function eventsAt(site: string): Promise<number> {
  const response = await call(`/v1/stats/detections?groupBy=type&site=${site}`, { token: analyst });
  expect(response.status).toBe(200);
  const answer = (await response.json()) as { rows: { events: number }[] };
  return answer.rows.reduce((sum, row) => sum + row.events, 0);
}

/** Polls `read` until `done` holds of its value, or fails after `ms`. */
async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, ms: number): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function expectSiteUnavailable(response: Response, startedAt: number): Promise<void> {
  expect(Date.now() - startedAt).toBeLessThan(BOUNDED_MS);
  expect(response.status).toBe(503);
  expect(response.headers.get('content-type')).toContain('application/problem+json');
  const problem = (await response.json()) as { code: string; sites: string[] };
  expect(problem.code).toBe('SITE_UNAVAILABLE');
  expect(problem.sites).toEqual(['moscow']);
}

beforeAll(async () => {
  cli(['pki', 'init', '--data', controlDir, '--deployment', 'away-test']);
  for (const site of SITES) {
    cli(['pki', 'issue', '--data', controlDir, '--site', site, '--out', join(scratch, `${site}-tls`)]);
    sites.set(site, await startSite(site, 0));
  }
  const config = parseYaml(readFileSync(configFile, 'utf8')) as {
    sites: Record<string, { url?: string }>;
    stats: { minGroupSize?: number };
  };
  for (const site of SITES) config.sites[site]!.url = sites.get(site)!.url;
  // One installation per site here: its counts must not be suppressed.
  config.stats.minGroupSize = 1;
  writeFileSync(configFile, stringifyYaml(config));
  product = token('product');
  analyst = token('analyst');
  auditor = token('auditor');
  privacyOfficer = token('privacy');
  control = await startCliProcess([
    'control',
    '--data',
    controlDir,
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--log-level',
    'fatal',
  ]);
}, 300_000);

afterAll(async () => {
  await killAllCliProcesses();
  rmSync(scratch, { recursive: true, force: true });
});

describe('a site that goes away and comes back', () => {
  it('fails only what needs it, keeps what it acknowledged, and lets an erasure wait for it', async () => {
    const inZurich = await register('CH');
    const inMoscow = await register('RU');
    const leaving = await register('DE');
    expect([inZurich.site, inMoscow.site, leaving.site]).toEqual(['zurich', 'moscow', 'zurich']);

    // Acknowledged before moscow goes away.
    const zurichSample = Buffer.from('MZ a sample kept in Zurich');
    const moscowSample = Buffer.from('MZ a sample kept in Moscow');
    const sha256Of = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    expect((await upload(inZurich, zurichSample)).status).toBe(201);
    expect((await upload(inMoscow, moscowSample)).status).toBe(201);
    expect((await upload(leaving, Buffer.from('MZ the leaver’s file'))).status).toBe(201);
    expect(await (await sendEvents(inMoscow, 3)).json()).toEqual({ accepted: 3, rejected: [] });
    expect(await (await sendEvents(inZurich, 2)).json()).toEqual({ accepted: 2, rejected: [] });

    const moscowPort = new URL(sites.get('moscow')!.url).port;
    await sites.get('moscow')!.kill();

    // What needs moscow: 503 SITE_UNAVAILABLE, within the bound.
    let started = Date.now();
    await expectSiteUnavailable(await upload(inMoscow, Buffer.from('MZ sent while away')), started);
    started = Date.now();
    await expectSiteUnavailable(await sendEvents(inMoscow, 1), started);
    started = Date.now();
    await expectSiteUnavailable(
      await call(`/v1/samples/${sha256Of(moscowSample)}/download`, { token: analyst }),
      started,
    );
    started = Date.now();
    await expectSiteUnavailable(await call('/v1/stats/detections?groupBy=type', { token: analyst }), started);

    // What does not: zurich's uploads, events and downloads, look-ups, reports, /readyz.
    expect((await upload(inZurich, Buffer.from('MZ sent while moscow is away'))).status).toBe(201);
    expect(await (await sendEvents(inZurich, 1)).json()).toEqual({ accepted: 1, rejected: [] });
    const download = await call(`/v1/samples/${sha256Of(zurichSample)}/download`, { token: analyst });
    expect(download.status).toBe(200);
    expect((await unzipped(download)).equals(zurichSample)).toBe(true);
    const described = await call(`/v1/samples/${sha256Of(zurichSample)}`, { token: analyst });
    expect(described.status).toBe(200);
    expect(await described.json()).toMatchObject({
      sites: [{ site: 'zurich' }],
      unavailableSites: ['moscow'],
    });
    expect(await eventsAt('zurich')).toBe(3);
    const lookup = await call(`/v1/lookup/${sha256Of(zurichSample)}`, { token: product });
    expect(lookup.status).toBe(200);
    const report = await call('/v1/reports/2021', { token: auditor });
    expect(report.status).toBe(200);
    const ready = await call('/readyz');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({
      status: 'ready',
      sites: { zurich: 'ready', moscow: 'unavailable' },
    });

    // An erasure must ask every site (data may be left at a former one): it waits for moscow.
    const filed = await call('/v1/privacy-requests', {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Installation ${leaving.id}:${leaving.secret}`,
      },
      body: JSON.stringify({ type: 'erasure' }),
    });
    expect(filed.status, control.output()).toBe(202);
    const { id: erasure } = (await filed.json()) as { id: string };
    const readErasure = async () => {
      const response = await call(`/v1/privacy-requests/${erasure}`, { token: privacyOfficer });
      expect(response.status).toBe(200);
      return (await response.json()) as { state: string; waitingFor: string[] };
    };
    const waiting = await eventually(readErasure, (r) => r.waitingFor.length > 0, 15_000);
    expect(waiting).toMatchObject({ state: 'in_progress', waitingFor: ['moscow'] });

    // Back on the same port: everything it acknowledged is there.
    sites.set('moscow', await startSite('moscow', moscowPort));
    expect(sites.get('moscow')!.url).toBe(`https://127.0.0.1:${moscowPort}`);
    const back = await eventually(
      () => call(`/v1/samples/${sha256Of(moscowSample)}/download`, { token: analyst }),
      (r) => r.status === 200,
      BOUNDED_MS,
    );
    expect(back.status).toBe(200);
    expect((await unzipped(back)).equals(moscowSample)).toBe(true);
    expect(
      await eventually(
        () => eventsAt('moscow'),
        (n) => n === 3,
        10_000,
      ),
    ).toBe(3);
    expect((await upload(inMoscow, Buffer.from('MZ sent once moscow is back'))).status).toBe(201);
    expect(await (await call('/readyz')).json()).toEqual({
      status: 'ready',
      sites: { zurich: 'ready', moscow: 'ready' },
    });

    // The erasure resumed where it waited (at most the longest pause, 30 s, later) and completed.
    const erased = await eventually(readErasure, (r) => r.state === 'completed', 45_000);
    expect(erased).toMatchObject({ state: 'completed', waitingFor: [] });
    expect((await upload(leaving, Buffer.from('MZ after the erasure'))).status).toBe(404);
  }, 180_000);
});
