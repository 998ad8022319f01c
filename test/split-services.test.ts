import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configure, Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { decodeEntryBundle, entriesPath, hashLeaf, verifyInclusion } from '../src/ledger/merkle/index.js';
import { runCli } from './support/cli.js';
import type { CliProcess } from './support/cli-process.js';
import { SPLIT_SITES, type SplitDeployment, startSplitDeployment } from './support/split-deployment.js';

/*
 * Sites as services of their own: `glasshouse site` (zurich, moscow), each in a data directory
 * of its own with a certificate of its own, and `glasshouse control` reaching them over mutual
 * TLS. Each is a real process on 127.0.0.1, port 0.
 */

configure({ useWebWorkers: false });

let d: SplitDeployment;
let scratch: string;
let controlDir: string;
const siteDir = (site: string) => d.siteDir(site);
let control: CliProcess;
let product: string;
let analyst: string;
let auditor: string;
let admin: string;

function cli(args: readonly string[]): string {
  const result = runCli(args);
  if (result.status !== 0) throw new Error(`glasshouse ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

function token(role: string): string {
  const person = role === 'product' ? [] : ['--person', `${role} officer`];
  return (
    JSON.parse(cli(['token', 'create', '--role', role, ...person, '--data', controlDir, '--json'])) as {
      token: string;
    }
  ).token;
}

beforeAll(async () => {
  d = await startSplitDeployment({
    deployment: 'split-test',
    // Tokens before the control plane starts: it then makes no initial admin token.
    beforeControl: async (dir) => {
      controlDir = dir;
      product = token('product');
      analyst = token('analyst');
      auditor = token('auditor');
      admin = token('admin');
    },
  });
  scratch = d.scratch;
  control = d.control;
}, 300_000);

afterAll(async () => {
  await d?.close();
});

const call = (path: string, init: RequestInit & { token?: string } = {}) =>
  fetch(`${control.url}${path}`, {
    ...init,
    headers: {
      ...(init.token === undefined ? {} : { authorization: `Bearer ${init.token}` }),
      ...init.headers,
    },
    signal: AbortSignal.timeout(30_000),
  });

describe('glasshouse site and glasshouse control', () => {
  describe('when an installation uploads a sample through the control plane', () => {
    it('stores it at its site and downloads it back through the control plane', async () => {
      const registered = await call('/v1/installations', {
        method: 'POST',
        token: product,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ country: 'CH', product: 'endpoint-12' }),
      });
      expect(registered.status, control.output()).toBe(201);
      const installation = (await registered.json()) as { id: string; site: string };
      expect(installation.site).toBe('zurich');

      const body = Buffer.from('MZ a sample that lives in Zurich');
      const sha256 = createHash('sha256').update(body).digest('hex');
      const stored = await call(`/v1/samples?installation=${installation.id}&filename=a.exe`, {
        method: 'POST',
        token: product,
        headers: { 'content-type': 'application/octet-stream' },
        body,
      });
      expect(stored.status, control.output()).toBe(201);

      const download = await call(`/v1/samples/${sha256}/download?site=zurich`, { token: analyst });
      expect(download.status).toBe(200);
      expect(download.headers.get('x-glasshouse-site')).toBe('zurich');
      const zip = new Uint8Array(await download.arrayBuffer());
      const [entry] = await new ZipReader(new Uint8ArrayReader(zip)).getEntries();
      if (entry === undefined || entry.directory) throw new Error('expected one file entry');
      const bytes = await entry.getData(new Uint8ArrayWriter(), { password: 'infected' });
      expect(Buffer.from(bytes).equals(body)).toBe(true);
      // The blob is in the site's own data directory.
      expect(readdirSync(join(siteDir('zurich'), 'sites', 'zurich', 'blobs'), { recursive: true })).toEqual(
        expect.arrayContaining([expect.stringContaining(sha256)]),
      );
    });
  });

  describe("when the public asks the control plane for a site's log", () => {
    it("serves the checkpoint the site signed, under the site's origin", async () => {
      // The site publishes within a second (ledger.checkpointIntervalMs) of the upload's entries.
      let checkpoint = '';
      for (let tries = 0; tries < 50; tries += 1) {
        const response = await call('/log/zurich/checkpoint');
        expect([200, 404]).toContain(response.status);
        checkpoint = response.status === 200 ? await response.text() : '';
        if (Number(checkpoint.split('\n')[1] ?? 0) > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const [origin, size] = checkpoint.split('\n');
      expect(origin).toBe('split-test/zurich');
      // A young log's only level-0 tile is partial: `tile/0/000.p/<size>` (C2SP tlog-tiles).
      const tile = await call(`/log/zurich/tile/0/000.p/${size}`);
      expect(tile.status).toBe(200);
      expect((await tile.arrayBuffer()).byteLength).toBe(32 * Number(size));
      const key = cli([
        'ledger',
        'key',
        '--data',
        siteDir('zurich'),
        '--config',
        join(controlDir, 'config.yaml'),
        '--node',
        'zurich',
      ]).trim();
      expect(key).toMatch(/^split-test\/zurich\+[0-9a-f]{8}\+/);
      // An auditor verifies the site's log, served by the control plane, with the site's own key.
      const verified = runCli([
        'ledger',
        'verify',
        '--url',
        control.url,
        '--node',
        'zurich',
        '--key',
        key,
        '--json',
      ]);
      expect(verified.status, verified.stderr).toBe(0);
    });
  });

  describe("when an auditor asks the control plane for a proof in a site's log", () => {
    it("answers with an inclusion proof, computed from the site's tiles, that the checkpoint verifies", async () => {
      const checkpoint = await (await call('/log/zurich/checkpoint')).text();
      const [, sizeLine, rootLine] = checkpoint.split('\n');
      const size = Number(sizeLine);
      const entries = decodeEntryBundle(
        Buffer.from(await (await call(`/log/zurich/${entriesPath(0, size)}`)).arrayBuffer()),
      );
      const index = size - 1;
      const response = await call(`/v1/log/zurich/proof/inclusion?index=${index}&size=${size}`, {
        token: auditor,
      });
      expect(response.status).toBe(200);
      const { proof } = (await response.json()) as { proof: string[] };
      expect(() =>
        verifyInclusion(
          proof.map((hash) => Buffer.from(hash, 'base64')),
          index,
          size,
          hashLeaf(entries[index]!),
          Buffer.from(rootLine!, 'base64'),
        ),
      ).not.toThrow();
      const beyond = await call(`/v1/log/zurich/proof/inclusion?index=0&size=${size + 1}`, {
        token: auditor,
      });
      expect((await beyond.json()) as { code: string }).toMatchObject({ code: 'INVALID_PROOF_REQUEST' });
    });
  });

  describe('when /readyz is asked', () => {
    it('lists both sites as ready', async () => {
      const response = await call('/readyz');
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ status: 'ready', sites: { zurich: 'ready', moscow: 'ready' } });
    });
  });

  describe('when the data directories are looked at', () => {
    it('keeps every site store and site key at its site, none with the control plane', () => {
      expect(existsSync(join(controlDir, 'sites'))).toBe(false);
      expect(readdirSync(join(controlDir, 'keys'))).toEqual(['control.ed25519.pem']);
      for (const site of SPLIT_SITES) {
        expect(readdirSync(join(siteDir(site), 'keys')).sort()).toEqual([
          `${site}.ed25519.pem`,
          `${site}.master.key`,
        ]);
        expect(existsSync(join(siteDir(site), 'sites', site, 'site.db'))).toBe(true);
      }
    });
  });

  describe("when a one-shot command is given a site's data directory", () => {
    it("is a usage error that points to the control plane's", () => {
      const configFile = join(controlDir, 'config.yaml');
      const result = runCli(['token', 'list', '--data', siteDir('zurich'), '--config', configFile]);
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("is a site's data directory");
      expect(existsSync(join(siteDir('zurich'), 'control'))).toBe(false);
    });
  });

  describe('when installations are relocated between the sites', () => {
    it('has the target site copy the samples from the source site, and removes them there', async () => {
      const json = (method: string, path: string, body: unknown, as = admin) =>
        call(path, {
          method,
          token: as,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        });
      const registered = await json(
        'POST',
        '/v1/installations',
        { country: 'BR', product: 'endpoint-12' },
        product,
      );
      const installation = (await registered.json()) as { id: string; site: string };
      expect(installation.site).toBe('zurich');
      // Large enough to take many TLS records; the small one shares nothing with it.
      const samples = [randomBytes(3 * 1024 * 1024 + 5), Buffer.from('MZ a small one from Brazil')];
      for (const [i, body] of samples.entries()) {
        const stored = await call(`/v1/samples?installation=${installation.id}&filename=br-${i}.exe`, {
          method: 'POST',
          token: product,
          headers: { 'content-type': 'application/octet-stream' },
          body,
        });
        expect(stored.status, control.output()).toBe(201);
      }
      const policy = await json('POST', '/v1/policy/versions', {
        default: 'zurich',
        assign: [{ countries: ['BR'], site: 'moscow' }],
      });
      expect(policy.status, await policy.clone().text()).toBe(201);
      // No rate limit: the copy goes site to site (`importSampleFrom`).
      const started = await json('POST', '/v1/relocations', {});
      expect(started.status, await started.clone().text()).toBe(202);
      const { id } = (await started.json()) as { id: string };
      let status: { state: string; errors: string[] } = { state: 'running', errors: [] };
      for (let tries = 0; tries < 300 && status.state === 'running'; tries += 1) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        status = (await (await call(`/v1/relocations/${id}`, { token: admin })).json()) as typeof status;
      }
      expect(status, control.output()).toMatchObject({ state: 'done', errors: [] });
      const blobs = (site: string) =>
        readdirSync(join(siteDir(site), 'sites', site, 'blobs'), { recursive: true }).map(String);
      for (const body of samples) {
        const sha256 = createHash('sha256').update(body).digest('hex');
        const download = await call(`/v1/samples/${sha256}/download`, { token: analyst });
        expect(download.status).toBe(200);
        expect(download.headers.get('x-glasshouse-site')).toBe('moscow');
        const zip = new Uint8Array(await download.arrayBuffer());
        const [entry] = await new ZipReader(new Uint8ArrayReader(zip)).getEntries();
        if (entry === undefined || entry.directory) throw new Error('expected one file entry');
        const bytes = await entry.getData(new Uint8ArrayWriter(), { password: 'infected' });
        expect(Buffer.from(bytes).equals(body)).toBe(true);
        expect(blobs('moscow').some((name) => name.includes(sha256))).toBe(true);
        expect(blobs('zurich').some((name) => name.includes(sha256))).toBe(false);
      }
      const audit = await call('/v1/residency/audit', { token: admin });
      expect(((await audit.json()) as { clean: boolean }).clean).toBe(true);
    }, 60_000);
  });

  describe('when a site stops', () => {
    it('stops cleanly, and /readyz lists it as unavailable while the control plane stays ready', async () => {
      expect(await d.site('moscow').stop()).toBe(0);
      const response = await call('/readyz');
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({
        status: 'ready',
        sites: { zurich: 'ready', moscow: 'unavailable' },
      });
      // Metrics show the missing site down rather than fail the scrape.
      const metrics = await call('/metrics');
      expect(metrics.status).toBe(200);
      const text = await metrics.text();
      expect(text).toContain('glasshouse_samples_stored{site="zurich"} 1');
      expect(text).toContain('glasshouse_site_up{site="zurich"} 1');
      expect(text).toContain('glasshouse_site_up{site="moscow"} 0');
    });
  });

  describe('when a site is started with the bundle of another site', () => {
    it('refuses before opening anything', () => {
      const dir = join(scratch, 'impostor');
      const result = runCli([
        'site',
        '--name',
        'zurich',
        '--data',
        dir,
        '--tls',
        join(scratch, 'moscow-tls'),
        '--config',
        join(controlDir, 'config.yaml'),
        '--port',
        '0',
      ]);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('speaks for site moscow, not for site zurich');
      expect(existsSync(dir)).toBe(false);
    });
  });

  describe('when a configured site has no URL', () => {
    it('refuses to start the control plane and names the key', () => {
      const config = parseYaml(readFileSync(join(controlDir, 'config.yaml'), 'utf8')) as {
        sites: Record<string, { url?: string }>;
      };
      delete config.sites.moscow!.url;
      const partial = join(scratch, 'partial.yaml');
      writeFileSync(partial, stringifyYaml(config));
      const result = runCli(['control', '--data', controlDir, '--config', partial, '--port', '0']);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('sites.moscow.url');
      expect(result.stderr).toContain('[INVALID_CONFIG]');
    });
  });

  describe('when --site is not NAME=https://host:port of a configured site', () => {
    it('is a usage error', () => {
      for (const site of ['nowhere=https://127.0.0.1:1', 'zurich=http://127.0.0.1:1']) {
        const result = runCli(['control', '--data', controlDir, '--site', site, '--port', '0']);
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain(`--site ${site.split('=')[0]}`);
      }
    });
  });

  describe('when the control plane and the last site are stopped', () => {
    it('both stop cleanly', async () => {
      expect(await control.stop()).toBe(0);
      expect(await d.site('zurich').stop()).toBe(0);
    });
  });
});
