import { createHash, randomBytes, randomInt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { initDataDir } from '../src/config/data-dir.js';
import { resolvePaths } from '../src/config/load.js';
import { runCli } from './support/cli.js';
import {
  fetchSender,
  registerInstallation,
  type Send,
  sendEvents,
  setPolicy,
  sha256,
  uploadSample,
} from './support/relocation.js';
import { createToken, killAllServers, type ServerProcess, startServer } from './support/server-process.js';

/*
 * "Each step is journaled and idempotent, so a kill -9 anywhere resumes to the same end
 * state with nothing lost and nothing twice", against the real `glasshouse up`: a relocation
 * of 8 installations (shared samples, events) is killed with SIGKILL at random moments, the
 * server restarted each time (it resumes the job on its own), in two trials (there and
 * back). The end state must be the one a relocation without crashes reaches: the audit is
 * clean, each site holds exactly the submissions, events and samples it should, and every
 * sample downloads whole from its new site.
 */

const INSTALLATIONS = 8;
const KILLS_PER_TRIAL = 2;

let dataDir: string;

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-relocation-crash-'));
  initDataDir(resolvePaths({ dataDir }));
  const file = join(dataDir, 'config.yaml');
  const config = parseDocument(readFileSync(file, 'utf8'));
  config.setIn(['stats', 'flushIntervalMs'], 100);
  writeFileSync(file, config.toString());
});

afterAll(async () => {
  await killAllServers();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('glasshouse up', () => {
  describe('when it is killed with SIGKILL during a relocation', () => {
    it('resumes at restart and reaches the same end state: nothing lost, nothing twice', async () => {
      let server = await startServer(dataDir);
      const [admin, product, analyst] = await Promise.all([
        createToken(dataDir, 'admin'),
        createToken(dataDir, 'product'),
        createToken(dataDir, 'analyst'),
      ]);
      let send = fetchSender(server.baseUrl);
      const samples = Array.from({ length: 12 }, (_, i) => randomBytes(100_000 + i * 40_000));
      let submissions = 0;
      let events = 0;
      for (let i = 0; i < INSTALLATIONS; i += 1) {
        const { id, site } = await registerInstallation(send, product, 'BR');
        expect(site).toBe('zurich');
        // Three samples each, overlapping with the next installation's: shared samples.
        for (const k of [i, i + 1, i + 4]) {
          await uploadSample(send, product, id, samples[k % samples.length]!, `f${k}.exe`);
          submissions += 1;
        }
        await sendEvents(send, product, id, 4, new Date());
        events += 4;
      }

      for (const target of ['moscow', 'zurich']) {
        const source = target === 'moscow' ? 'zurich' : 'moscow';
        await setPolicy(send, admin, source, { [target]: ['BR'] });
        const started = await send('POST', '/v1/relocations', admin, { batchSize: 2, rateLimitMbps: 3 });
        expect(started.status).toBe(202);
        for (let kill = 0; kill < KILLS_PER_TRIAL; kill += 1) {
          await sleep(randomInt(300, 1200));
          const before = await send('GET', `/v1/relocations/${started.json.id}`, admin);
          if (kill === 0) expect(before.json.state, 'the first kill lands mid-relocation').toBe('running');
          await server.kill();
          server = await startServer(dataDir);
          send = fetchSender(server.baseUrl);
        }
        const finished = await waitDone(send, admin, started.json.id);
        expect(finished.state, JSON.stringify(finished)).toBe('done');
        expect(finished.installations).toMatchObject({ done: INSTALLATIONS, total: INSTALLATIONS });

        const audit = await send('GET', '/v1/residency/audit', admin);
        expect(audit.json.violations).toEqual([]);
        const bySite = Object.fromEntries(audit.json.sites.map((s: { site: string }) => [s.site, s]));
        expect(bySite[target]).toMatchObject({
          installations: INSTALLATIONS,
          submissions,
          events,
          samplesReferenced: samples.length,
          samplesUnreferenced: 0,
        });
        expect(bySite[source]).toMatchObject({
          installations: 0,
          submissions: 0,
          events: 0,
          samplesReferenced: 0,
          samplesUnreferenced: 0,
        });
        for (const bytes of samples) await expectDownload(server, analyst, bytes, target);
      }

      // The CLI reads the same state from the running server.
      const env = { GLASSHOUSE_URL: server.baseUrl, GLASSHOUSE_TOKEN: admin };
      const audit = runCli(['residency', 'audit', '--json'], env);
      expect(audit.status, audit.stderr).toBe(0);
      expect(JSON.parse(audit.stdout).clean).toBe(true);
      const status = runCli(['relocate', 'status'], env);
      expect(status.status, status.stderr).toBe(0);
      expect(status.stdout).toContain(': done');
      const plan = runCli(['relocate', 'plan'], env);
      expect(plan.stdout).toContain('nothing to move');
      await setPolicy(send, admin, 'zurich', { moscow: ['BR'] });
      expect(runCli(['relocate', 'plan'], env).stdout).toContain(
        `zurich → moscow: ${INSTALLATIONS} installation(s)`,
      );
      const run = runCli(['relocate', 'run', '--batch-size', '3', '--json'], env);
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toMatchObject({ state: 'done', installations: { done: INSTALLATIONS } });
      expect(runCli(['residency', 'audit'], env).status).toBe(0);
    }, 400_000);
  });
});

async function waitDone(send: Send, admin: string, id: string) {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const r = await send('GET', `/v1/relocations/${id}`, admin);
    if (['done', 'failed', 'cancelled'].includes(r.json.state) || Date.now() > deadline) return r.json;
    await sleep(100);
  }
}

async function expectDownload(server: ServerProcess, analyst: string, bytes: Buffer, site: string) {
  const described = await fetch(`${server.baseUrl}/v1/samples/${sha256(bytes)}`, {
    headers: { authorization: `Bearer ${analyst}` },
  });
  const body = (await described.json()) as { sites: { site: string }[] };
  expect(body.sites.map((s) => s.site)).toEqual([site]);
  const zip = await fetch(`${server.baseUrl}/v1/samples/${sha256(bytes)}/download`, {
    headers: { authorization: `Bearer ${analyst}` },
  });
  expect(zip.status).toBe(200);
  expect(
    createHash('sha256')
      .update(Buffer.from(await zip.arrayBuffer()))
      .digest('hex'),
  ).toHaveLength(64);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
