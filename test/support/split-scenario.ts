import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configure, Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync } from './cli.js';
import { filesContaining, idNeedles } from './raw-scan.js';
import { SPLIT_SITES, type SplitDeployment, startSplitDeployment } from './split-deployment.js';

configure({ useWebWorkers: false });

/** Stores of the deployment's own (engines), set up before anything starts. */
export interface ScenarioStorage {
  /** Points the control plane and every site at the engines (`storage:` keys). */
  readonly configure: (config: Record<string, unknown>) => void;
  readonly close: () => Promise<void>;
}

export interface SplitScenarioOptions {
  readonly deployment: string;
  /** Without it every node uses its embedded stores in its data directory. */
  readonly storage?: () => Promise<ScenarioStorage>;
}

/**
 * The whole product as separate processes: `glasshouse control` and two `glasshouse site`
 * processes on 127.0.0.1, each with its own data directory and certificate, driven through
 * the control plane's HTTP API and the CLI only. One ordered scenario: the README's first
 * session, a legal disclosure under the jurisdiction rule, a privacy erasure, a relocation
 * whose source site is killed (SIGKILL) and restarted mid-flight, a residency audit, and a
 * scan of every raw file: each site holds its own installations' bytes only, the control
 * plane none. With `storage`, every node keeps its stores in the engines instead, and the
 * scan shows that no data directory holds another node's data.
 */
export function describeSplitScenario(title: string, options: SplitScenarioOptions): void {
  const SEVEN_ZIP = '/usr/bin/7z';
  const RELOCATED = 4;
  const RELOCATED_SAMPLE_BYTES = 384 * 1024;
  const EVENTS_EACH = 12;

  let d: SplitDeployment;
  let storage: ScenarioStorage | undefined;
  const tokens: Record<'product' | 'analyst' | 'admin' | 'legalA' | 'legalB' | 'privacy', string> = {
    product: '',
    analyst: '',
    admin: '',
    legalA: '',
    legalB: '',
    privacy: '',
  };

  /** What was sent for one installation, to compare with what the sites hold. */
  interface Sent {
    readonly id: string;
    readonly secret: string;
    readonly country: string;
    site: string;
    erased: boolean;
    readonly samples: { filename: string; bytes: Buffer; sha256: string }[];
    events: number;
    readonly threat: string;
  }
  const installations: Sent[] = [];

  /** A token made as the README makes them: the CLI, against the control plane's data directory. */
  async function tokenFor(role: string, person?: string): Promise<string> {
    const args = ['token', 'create', '--role', role, '--label', 'split-deployment', '--data', d.controlDir];
    const created = await d.cli([...args, ...(person === undefined ? [] : ['--person', person]), '--json']);
    return (JSON.parse(created) as { token: string }).token;
  }

  beforeAll(async () => {
    storage = await options.storage?.();
    d = await startSplitDeployment({
      deployment: options.deployment,
      ...(storage === undefined ? {} : { configure: storage.configure }),
    });
    // The control plane is running, as in the README (tokens are made beside a running server).
    [tokens.product, tokens.analyst, tokens.admin, tokens.legalA, tokens.legalB, tokens.privacy] =
      await Promise.all([
        tokenFor('product'),
        tokenFor('analyst'),
        tokenFor('admin'),
        tokenFor('legal', 'Anna Legal'),
        tokenFor('legal', 'Bruno Legal'),
        tokenFor('privacy', 'Petra Privacy'),
      ]);
  }, 120_000);

  afterAll(async () => {
    await d?.close();
    await storage?.close();
  });

  // biome-ignore lint/suspicious/noExplicitAny: answers are read field by field
  type Json = any;

  async function call(
    path: string,
    init: {
      method?: string;
      token?: string;
      auth?: string;
      json?: unknown;
      body?: Buffer | string;
      type?: string;
    } = {},
  ): Promise<{ status: number; json: Json; bytes: Buffer; headers: Headers }> {
    const headers: Record<string, string> = {};
    if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`;
    if (init.auth !== undefined) headers.authorization = init.auth;
    let body: Buffer | string | undefined = init.body;
    if (init.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.json);
    } else if (body !== undefined) headers['content-type'] = init.type ?? 'application/octet-stream';
    const response = await fetch(`${d.control.url}${path}`, {
      method: init.method ?? (body === undefined ? 'GET' : 'POST'),
      headers,
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(60_000),
    });
    const bytes = Buffer.from(await response.arrayBuffer());
    let json: Json;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      json = undefined;
    }
    return { status: response.status, json, bytes, headers: response.headers };
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${d.control.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async function register(country: string, threat: string): Promise<Sent> {
    const r = await call('/v1/installations', {
      token: tokens.product,
      json: { country, product: 'endpoint-12' },
    });
    expect(r.status, JSON.stringify(r.json)).toBe(201);
    const sent: Sent = {
      id: r.json.id,
      secret: r.json.secret,
      country,
      site: r.json.site,
      erased: false,
      samples: [],
      events: 0,
      threat,
    };
    installations.push(sent);
    return sent;
  }

  async function upload(installation: Sent, filename: string, bytes: Buffer) {
    const r = await call(
      `/v1/samples?installation=${installation.id}&filename=${encodeURIComponent(filename)}`,
      { token: tokens.product, body: bytes },
    );
    expect([200, 201], JSON.stringify(r.json)).toContain(r.status);
    expect(r.json.site).toBe(installation.site);
    installation.samples.push({ filename, bytes, sha256: r.json.sha256 });
    return r.json.sha256 as string;
  }

  async function sendEvents(installation: Sent, count: number) {
    const now = Date.now();
    const lines = Array.from({ length: count }, (_, i) =>
      JSON.stringify({
        ts: new Date(now - i * 60_000).toISOString(),
        installation: installation.id,
        type: i % 2 === 0 ? 'detection' : 'scan',
        verdict: 'malicious',
        threat: installation.threat,
      }),
    );
    const r = await call('/v1/events', {
      token: tokens.product,
      body: lines.join('\n'),
      type: 'application/x-ndjson',
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(r.json.accepted, JSON.stringify(r.json)).toBe(count);
    installation.events += count;
  }

  async function readZip(bytes: Buffer, password: string): Promise<Map<string, Buffer>> {
    const files = new Map<string, Buffer>();
    for (const entry of await new ZipReader(new Uint8ArrayReader(bytes)).getEntries()) {
      if (entry.directory) continue;
      files.set(entry.filename, Buffer.from(await entry.getData(new Uint8ArrayWriter(), { password })));
    }
    return files;
  }

  /** A privacy request of the user, answered by the control plane's worker. */
  async function userRequest(installation: Sent, type: string): Promise<Json> {
    const filed = await call('/v1/privacy-requests', {
      auth: `Installation ${installation.id}:${installation.secret}`,
      json: { type },
    });
    expect(filed.status, JSON.stringify(filed.json)).toBe(202);
    return until(`privacy ${type} ${filed.json.id}`, async () => {
      const r = await call(`/v1/privacy-requests/${filed.json.id}`, { token: tokens.privacy });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      return ['completed', 'rejected'].includes(r.json.state) ? r.json : undefined;
    });
  }

  /** The inventory's records per site and category, as the user sees them. */
  async function inventory(installation: Sent): Promise<Record<string, Record<string, number>>> {
    const done = await userRequest(installation, 'inventory');
    expect(done.state, JSON.stringify(done)).toBe('completed');
    return Object.fromEntries(
      done.answer.sites.map((s: { site: string; categories: { category: string; records: number }[] }) => [
        s.site,
        Object.fromEntries(s.categories.map((c) => [c.category, c.records])),
      ]),
    );
  }

  /** A legal request about `scope`, verified under `jurisdictions` by two people, then fulfilled. */
  async function verifiedAndFulfilled(scope: string[], jurisdictions: string[]): Promise<Json> {
    const today = new Date().toISOString().slice(0, 10);
    const created = await call('/v1/legal-requests', {
      token: tokens.legalA,
      json: {
        receivedAt: today,
        requesterCountry: 'CH',
        authorityKind: 'court',
        authority: 'Bezirksgericht Zürich',
        legalBasis: 'Art. 273 StPO',
        reference: `E2E ${randomBytes(4).toString('hex')}`,
        category: 'user_data',
        scope: { installations: scope, hashes: [], threats: [], from: null, to: null, text: '' },
        dueAt: today,
      },
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    const id = created.json.id as string;
    const act = async (token: string, body: Record<string, unknown>) => {
      const r = await call(`/v1/legal-requests/${id}/actions`, { token, json: body });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      return r.json;
    };
    await act(tokens.legalA, { action: 'start_verification' });
    await act(tokens.legalA, { action: 'propose_verification', valid: true, jurisdictions });
    // Four eyes: the proposer cannot confirm.
    const self = await call(`/v1/legal-requests/${id}/actions`, {
      token: tokens.legalA,
      json: { action: 'confirm_verification' },
    });
    expect(self.json.code).toBe('FOUR_EYES_REQUIRED');
    expect((await act(tokens.legalB, { action: 'confirm_verification' })).state).toBe('verified');
    return act(tokens.legalA, { action: 'fulfil' });
  }

  /** Needles for an installation: its id in every encoding, its file names, its threat name. */
  function needlesOf(installation: Sent): Record<string, Buffer> {
    const needles: Record<string, Buffer> = {
      ...idNeedles(installation.id, installation.id),
      [`${installation.id} threat`]: Buffer.from(installation.threat),
    };
    for (const sample of installation.samples)
      needles[`${installation.id} file ${sample.filename}`] = Buffer.from(sample.filename);
    return needles;
  }

  describe(title, () => {
    it("runs the README's first session through the control plane", async () => {
      const readme = await register('BR', 'Trojan.E2E.Readme');
      expect(readme.site).toBe('zurich');
      const invoice = Buffer.from(`a harmless test file, made at ${new Date().toISOString()}\n`);
      const hash = await upload(readme, 'invoice.exe', invoice);
      const download = await call(`/v1/samples/${hash}/download`, { token: tokens.analyst });
      expect(download.status).toBe(200);
      expect(download.headers.get('x-glasshouse-site')).toBe('zurich');
      if (!existsSync(SEVEN_ZIP)) {
        console.warn(`${SEVEN_ZIP} is not installed: the archive is opened with zip.js instead of 7-Zip`);
        const files = await readZip(download.bytes, 'infected');
        expect(files.get(hash)?.equals(invoice)).toBe(true);
        return;
      }
      const dir = mkdtempSync(join(d.scratch, 'first-session-'));
      writeFileSync(join(dir, 'sample.zip'), download.bytes);
      const unzip = spawnSync(SEVEN_ZIP, ['x', '-pinfected', '-y', 'sample.zip'], {
        cwd: dir,
        encoding: 'utf8',
      });
      expect(unzip.status, unzip.stdout + unzip.stderr).toBe(0);
      expect(readFileSync(join(dir, hash)).equals(invoice)).toBe(true);
    });

    it('stores data of Swiss and Russian installations at their sites, with telemetry events', async () => {
      const swiss = await register('CH', 'Trojan.E2E.Helvetia');
      const russian = await register('RU', 'Trojan.E2E.Volga');
      expect([swiss.site, russian.site]).toEqual(['zurich', 'moscow']);
      await upload(swiss, 'C:\\Users\\heidi\\zurich-invoice.exe', randomBytes(2048));
      await upload(russian, 'C:\\Users\\ivan\\moscow-report.exe', randomBytes(3072));
      await sendEvents(swiss, 3);
      await sendEvents(russian, 5);
      for (const installation of [swiss, russian]) {
        expect(await inventory(installation)).toEqual({
          [installation.site]: {
            submissions: 1,
            samples: 1,
            telemetry_events: installation.events,
            data_key: 1,
          },
        });
      }
    });

    it('hunts with a YARA rule set at both sites, each scanning its own samples, and matches what arrives later', async () => {
      const rules = 'rule any_sample { condition: filesize > 0 }';
      const started = await call('/v1/hunts', { token: tokens.analyst, json: { rules } });
      expect(started.status, JSON.stringify(started.json)).toBe(202);
      const id = started.json.id as string;
      await until('the hunt through the stored samples', async () => {
        const hunt = (await call(`/v1/hunts/${id}`, { token: tokens.analyst })).json;
        return hunt.state === 'active' ? hunt : undefined;
      });
      const stored = installations.flatMap((i) => i.samples.map((s) => ({ sha256: s.sha256, site: i.site })));
      const later = await register('CH', 'Trojan.E2E.Hunted');
      const lateSample = await upload(later, 'late.exe', randomBytes(1000));
      const expected = [...stored, { sha256: lateSample, site: 'zurich' }];
      const matches = await until('the live match', async () => {
        const page = (await call(`/v1/hunts/${id}/matches?limit=1000`, { token: tokens.analyst })).json;
        return page.matches.length === new Set(expected.map((e) => e.sha256)).size ? page.matches : undefined;
      });
      expect(new Map(matches.map((m: Json) => [m.sha256, m.site]))).toEqual(
        new Map(expected.map((e) => [e.sha256, e.site])),
      );
      expect(matches.every((m: Json) => m.rules.length === 1 && m.rules[0] === 'any_sample')).toBe(true);
      const stopped = await call(`/v1/hunts/${id}/stop`, { token: tokens.analyst, method: 'POST' });
      expect(stopped.json.state).toBe('stopped');
    });

    it('tags, comments on and searches samples kept at the HTTP sites', async () => {
      const swiss = installations.find((i) => i.country === 'CH')!;
      const russian = installations.find((i) => i.country === 'RU')!;
      const sha256 = swiss.samples[0]!.sha256;
      const tagged = await call(`/v1/samples/${sha256}/tags/family:e2e`, {
        method: 'PUT',
        token: tokens.analyst,
      });
      expect(tagged.status, JSON.stringify(tagged.json)).toBe(200);
      expect(tagged.json.sites).toEqual(['zurich']);
      const commented = await call(`/v1/samples/${sha256}/comments`, {
        token: tokens.analyst,
        json: { text: 'seen in the e2e run' },
      });
      expect(commented.status, JSON.stringify(commented.json)).toBe(201);
      const comments = await call(`/v1/samples/${sha256}/comments`, { token: tokens.analyst });
      expect(comments.json.comments.map((c: { text: string }) => c.text)).toEqual(['seen in the e2e run']);
      const found = await call('/v1/samples?tag=family:e2e', { token: tokens.analyst });
      expect(found.json.samples.map((s: { sha256: string }) => s.sha256)).toEqual([sha256]);
      const all = await call('/v1/samples?limit=1000', { token: tokens.analyst });
      const sites = new Set(all.json.samples.map((s: { site: string }) => s.site));
      expect([...sites].sort()).toEqual(['moscow', 'zurich']);
      expect(all.json.samples.some((s: { sha256: string }) => s.sha256 === russian.samples[0]!.sha256)).toBe(
        true,
      );
    });

    it('discloses what Zurich holds only on a request verified under Swiss law, and withholds the rest', async () => {
      const [, swiss, russian] = installations as [Sent, Sent, Sent];
      const swissOnly = await verifiedAndFulfilled([swiss.id, russian.id], ['CH']);
      expect(swissOnly.state, JSON.stringify(swissOnly)).toBe('partially_fulfilled');
      const pkg = await call(`/v1/legal-requests/${swissOnly.id}/package`, { token: tokens.legalA });
      expect(pkg.status).toBe(200);
      const files = await readZip(pkg.bytes, swissOnly.package.password);
      const manifest = JSON.parse(files.get('manifest.json')!.toString('utf8'));
      expect(manifest.disclosed).toEqual([
        expect.objectContaining({
          installation: swiss.id,
          site: 'zurich',
          jurisdiction: 'CH',
          submissions: 1,
        }),
      ]);
      expect(manifest.withheld).toEqual([
        expect.objectContaining({
          installation: russian.id,
          site: 'moscow',
          jurisdiction: 'RU',
          reason: 'jurisdiction_not_verified',
        }),
      ]);
      const disclosed = JSON.parse(files.get(`user-data/zurich/${swiss.id}.json`)!.toString('utf8'));
      expect(disclosed.submissions.map((s: { filename: string }) => s.filename)).toEqual([
        swiss.samples[0]!.filename,
      ]);
      expect(disclosed.submissions[0].sha256).toBe(swiss.samples[0]!.sha256);
      const everything = [...files.values()].map((b) => b.toString('utf8')).join('\n');
      expect(everything).not.toContain(russian.samples[0]!.filename);
      expect(everything).not.toContain(russian.samples[0]!.sha256);

      // Verified under German law: Zurich (CH) and Moscow (RU) both withhold; only counts left them.
      const german = await verifiedAndFulfilled([swiss.id, russian.id], ['DE']);
      expect(german).toMatchObject({
        state: 'rejected',
        reason: 'legal_requirements_not_met',
        package: null,
      });
      const history = (await call(`/v1/legal-requests/${german.id}`, { token: tokens.legalA })).json.history;
      const withheld = history.at(-1).data.withheld as Record<string, unknown>[];
      expect(withheld.map((w) => `${w.site}:${w.installation}`).sort()).toEqual(
        [`moscow:${russian.id}`, `zurich:${swiss.id}`].sort(),
      );
      const said = JSON.stringify(history);
      for (const installation of [swiss, russian]) {
        expect(said).not.toContain(installation.samples[0]!.filename);
        expect(said).not.toContain(installation.samples[0]!.sha256);
      }
    });

    it("publishes the half-year's transparency report, which anyone recomputes from the published control log", async () => {
      const now = new Date();
      const period = `${now.getUTCFullYear()}-H${now.getUTCMonth() < 6 ? 1 : 2}`;
      const published = await call(`/v1/reports/${period}/publication`, {
        method: 'PUT',
        token: tokens.admin,
      });
      expect(published.status, JSON.stringify(published.json)).toBe(200);
      // Reports are computed at the control log's latest checkpoint: wait until it has both requests.
      const report = await until('the report to count both legal requests', async () => {
        const r = await call(`/reports/${period}/report.json`);
        expect(r.status, r.bytes.toString('utf8')).toBe(200);
        return r.json.legal.total === 2 ? r : undefined;
      });
      expect(report.json.period).toBe(period);
      const file = join(mkdtempSync(join(d.scratch, 'report-')), 'report.json');
      writeFileSync(file, report.bytes);
      const key = (await d.cli(['ledger', 'key', '--node', 'control', '--data', d.controlDir])).trim();
      const verify = await runCliAsync(['report', 'verify', file, '--url', d.control.url, '--key', key]);
      expect(verify.status, verify.stdout + verify.stderr).toBe(0);
    });

    it("erases an installation at the user's request, leaving no byte of it at its site", async () => {
      const leaving = await register('DE', 'Trojan.E2E.Vergessen');
      expect(leaving.site).toBe('zurich');
      await upload(leaving, 'C:\\Users\\greta\\steuererklaerung-2026.exe', randomBytes(5000));
      await sendEvents(leaving, 4);
      const done = await userRequest(leaving, 'erasure');
      expect(done.state, JSON.stringify(done)).toBe('completed');
      leaving.erased = true;
      const again = await call('/v1/privacy-requests', {
        auth: `Installation ${leaving.id}:${leaving.secret}`,
        json: { type: 'inventory' },
      });
      expect(again.status).toBe(401);
      const needles = { ...needlesOf(leaving), sample: leaving.samples[0]!.bytes };
      for (const site of SPLIT_SITES) expect(filesContaining(d.siteDir(site), needles), site).toEqual([]);
    });

    it('relocates Russian installations to Zurich while Moscow is killed and restarted, losing nothing', async () => {
      const moving = [installations.find((i) => i.country === 'RU')!];
      for (let i = 0; i < RELOCATED; i += 1) {
        const installation = await register('RU', `Trojan.E2E.Taiga${i}`);
        await upload(
          installation,
          `C:\\Users\\olga${i}\\otchet-${i}.exe`,
          randomBytes(RELOCATED_SAMPLE_BYTES),
        );
        await upload(
          installation,
          `C:\\Users\\olga${i}\\shared.dll`,
          Buffer.from('MZ shared by every Russian installation'),
        );
        await sendEvents(installation, EVENTS_EACH);
        moving.push(installation);
      }
      // Effective now by the control plane's clock: the complete mapping, RU now at Zurich.
      const policy = await call('/v1/policy/versions', {
        token: tokens.admin,
        json: {
          default: 'moscow',
          assign: [
            {
              regions: ['EU', 'NORTH_AMERICA', 'APAC', 'LATAM', 'MIDDLE_EAST'],
              countries: ['GB', 'RU'],
              site: 'zurich',
            },
          ],
        },
      });
      expect(policy.status, JSON.stringify(policy.json)).toBe(201);
      const plan = await call('/v1/relocations', { token: tokens.admin, json: { dryRun: true } });
      expect(plan.status, JSON.stringify(plan.json)).toBe(200);

      const started = await call('/v1/relocations', {
        token: tokens.admin,
        json: { batchSize: 1, rateLimitMbps: 0.5 },
      });
      expect(started.status, JSON.stringify(started.json)).toBe(202);
      const relocation = started.json.id as string;
      // Mid-flight: at least one installation switched, at least one to go.
      const midway = await until('the first batch', async () => {
        const r = await call(`/v1/relocations/${relocation}`, { token: tokens.admin });
        return r.json.installations.done >= 1 ? r.json : undefined;
      });
      expect(midway.state).toBe('running');
      expect(midway.installations.done).toBeLessThan(midway.installations.total);
      await d.site('moscow').kill();
      // The job waits for the source rather than failing, and says so.
      const waiting = await until('the job to wait for moscow', async () => {
        const r = await call(`/v1/relocations/${relocation}`, { token: tokens.admin });
        expect(r.json.state, JSON.stringify(r.json)).toBe('running');
        return r.json.waitingFor.includes('moscow') ? r.json : undefined;
      });
      expect(waiting.installations.done).toBeLessThan(waiting.installations.total);
      await d.restartSite('moscow');

      const finished = await until(
        'the relocation',
        async () => {
          const r = await call(`/v1/relocations/${relocation}`, { token: tokens.admin });
          return ['done', 'failed', 'cancelled'].includes(r.json.state) ? r.json : undefined;
        },
        120_000,
      );
      expect(finished.state, `${JSON.stringify(finished)}\n${d.control.output()}`).toBe('done');
      expect(finished.installations).toMatchObject({ done: moving.length, total: moving.length });
      for (const installation of moving) installation.site = 'zurich';

      for (const installation of moving) {
        expect(await inventory(installation), installation.id).toEqual({
          zurich: {
            submissions: installation.samples.length,
            samples: installation.samples.length,
            telemetry_events: installation.events,
            data_key: 1,
          },
        });
        for (const sample of installation.samples) {
          const download = await call(`/v1/samples/${sample.sha256}/download`, { token: tokens.analyst });
          expect(download.status).toBe(200);
          expect(download.headers.get('x-glasshouse-site')).toBe('zurich');
          expect((await readZip(download.bytes, 'infected')).get(sample.sha256)?.equals(sample.bytes)).toBe(
            true,
          );
        }
      }
    }, 180_000);

    it('passes the residency audit', async () => {
      const audit = await runCliAsync([
        'residency',
        'audit',
        '--url',
        d.control.url,
        '--token',
        tokens.admin,
        '--json',
      ]);
      expect(audit.status, audit.stdout + audit.stderr).toBe(0);
      const report = JSON.parse(audit.stdout);
      expect(report.clean).toBe(true);
      expect(report.violations).toEqual([]);
    });

    it("leaves each site's data directory with its own installations' bytes only, and the control plane's with none", () => {
      for (const installation of installations) {
        const needles = needlesOf(installation);
        for (const site of SPLIT_SITES) {
          const found = filesContaining(d.siteDir(site), needles);
          if (site === installation.site && !installation.erased) {
            // Its file names are sealed under its key: its id is there, in the clear, the names
            // not. With engines, the site's directory keeps only the telemetry write-ahead log.
            if (storage === undefined)
              expect(found.length, `${installation.id} at ${site}`).toBeGreaterThan(0);
          } else expect(found, `${installation.id} (at ${installation.site}) found at ${site}`).toEqual([]);
        }
      }
      const control: Record<string, Buffer> = {};
      for (const installation of installations) {
        control[`${installation.id} threat`] = Buffer.from(installation.threat);
        for (const sample of installation.samples) {
          control[`file name ${sample.filename}`] = Buffer.from(sample.filename);
          control[`sample ${sample.sha256}`] = sample.bytes;
        }
      }
      expect(filesContaining(d.controlDir, control)).toEqual([]);
    });

    it('stops every process cleanly', async () => {
      expect(await d.control.stop()).toBe(0);
      for (const site of SPLIT_SITES) expect(await d.site(site).stop()).toBe(0);
    });
  });
}
