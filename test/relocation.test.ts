import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { BlobFilePool } from '../src/site/vault/crypto/blob-file-pool.js';
import { CLI_ENTRY, REPO_ROOT } from './support/cli.js';
import { type Harness, startHarness } from './support/harness.js';
import {
  injectSender,
  registerInstallation,
  type Send,
  sendEvents,
  setPolicy,
  sha256,
  uploadSample,
  waitForRelocation,
} from './support/relocation.js';

const SITES = ['zurich', 'moscow'] as const;
const COUNTRIES = ['BR', 'AR', 'SA', 'DE', 'US', 'JP', 'CN', 'IN'] as const;

let h: Harness;
let send: Send;
let admin: string;
let product: string;
/** What each installation was sent, over every test of the file: the end state must hold it all. */
const sent = new Map<
  string,
  { country: string; submissions: number; events: number; samples: Set<string> }
>();

beforeAll(async () => {
  h = await startHarness({ stats: { flushIntervalMs: 100, minGroupSize: 1 } });
  send = injectSender(h.app);
  admin = await h.token('admin');
  product = await h.token('product');
});
afterAll(() => h.close());
// A test that fails must not leave its relocation active for the next ones (409).
afterEach(async () => {
  const { relocations } = (await send('GET', '/v1/relocations', admin)).json;
  for (const r of relocations) {
    if (['running', 'paused', 'failed', 'cancelling'].includes(r.state)) {
      await send('POST', `/v1/relocations/${r.id}/cancel`, admin);
    }
  }
});

/** Every country the tests use: a policy change keeps all but the changed ones where they are. */
const ALL_COUNTRIES = [...COUNTRIES, 'MX', 'KR', 'CA', 'EG'];

/** A new policy version that moves only `country` to `site` (so other tests' data stays put). */
async function movePolicy(country: string, site: string) {
  const fallback = (await h.glasshouse.policy.resolve('ZA')).site;
  const assign: Record<string, string[]> = { zurich: [], moscow: [] };
  for (const c of ALL_COUNTRIES) {
    assign[c === country ? site : (await h.glasshouse.policy.resolve(c)).site]!.push(c);
  }
  await setPolicy(send, admin, fallback, assign);
}

async function register(country: string) {
  const installation = await registerInstallation(send, product, country);
  sent.set(installation.id, { country, submissions: 0, events: 0, samples: new Set() });
  return installation.id;
}

async function upload(id: string, bytes: Buffer) {
  const stored = await uploadSample(send, product, id, bytes, `file-${randomBytes(4).toString('hex')}.exe`);
  const record = sent.get(id)!;
  record.submissions += 1;
  record.samples.add(stored.sha256);
  return stored;
}

async function events(id: string, count: number) {
  await sendEvents(send, product, id, count, new Date());
  sent.get(id)!.events += count;
}

async function relocate(body: Record<string, unknown> = {}) {
  const started = await send('POST', '/v1/relocations', admin, body);
  expect(started.status, JSON.stringify(started.json)).toBe(202);
  return started.json.id as string;
}

/**
 * The end state every relocation must reach: the audit is clean, and each installation's
 * submissions and events exist exactly once, at the site the policy in force names.
 */
async function expectWholeAndResident() {
  const audit = await send('GET', '/v1/residency/audit', admin);
  expect(audit.status).toBe(200);
  expect(audit.json.violations).toEqual([]);
  await expectWhole(true);
}

/** Each installation's records exist exactly once, at its registry site (and the policy's, if `resident`). */
async function expectWhole(resident: boolean) {
  const scans = await Promise.all([...h.glasshouse.sites.values()].map((s) => s.scanResidency()));
  for (const [id, expected] of sent) {
    const holders = scans
      .map((scan) => ({ site: scan.site, held: scan.installations.find((i) => i.id === id) }))
      .filter((x) => x.held !== undefined && (x.held.key || x.held.submissions > 0 || x.held.events > 0));
    const registered = (await h.glasshouse.registry.get(id)).site;
    const policySite = resident ? (await h.glasshouse.policy.resolve(expected.country)).site : registered;
    expect(holders.map((x) => x.site)).toEqual([policySite]);
    expect(holders[0]!.held!.submissions).toBe(expected.submissions);
    expect(holders[0]!.held!.events).toBe(expected.events);
    expect(registered).toBe(policySite);
    const site = h.glasshouse.sites.get(policySite)!;
    for (const sha256 of expected.samples) expect(await site.verifySample(sha256)).toBe(true);
  }
  // Nothing left behind: a sample stays at a site only while a submission there references it.
  for (const scan of scans) expect(scan.samples.unreferenced).toBe(0);
}

describe('relocation', () => {
  describe('when data across sites meets random policy versions', () => {
    it('moves every record exactly once to where the policy says, keeping shared samples where still referenced', async () => {
      const pool = Array.from({ length: 6 }, (_, i) => randomBytes(1000 + i * 37_000));
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({
              country: fc.constantFrom(...COUNTRIES),
              samples: fc.array(fc.nat(pool.length - 1), { maxLength: 4 }),
              events: fc.nat(4),
            }),
            { minLength: 1, maxLength: 6 },
          ),
          fc.record({
            fallback: fc.constantFrom(...SITES),
            assign: fc.array(fc.tuple(fc.constantFrom(...COUNTRIES), fc.constantFrom(...SITES)), {
              maxLength: 8,
            }),
          }),
          fc.integer({ min: 1, max: 4 }),
          async (installations, policy, batchSize) => {
            for (const spec of installations) {
              const id = await register(spec.country);
              for (const index of spec.samples) await upload(id, pool[index]!);
              if (spec.events > 0) await events(id, spec.events);
            }
            const bySite: Record<string, string[]> = { zurich: [], moscow: [] };
            for (const [country, site] of new Map(policy.assign)) bySite[site]!.push(country);
            await setPolicy(send, admin, policy.fallback, bySite);
            const plan = await send('POST', '/v1/relocations', admin, { dryRun: true });
            expect(plan.status).toBe(200);
            const id = await relocate({ batchSize });
            const finished = await waitForRelocation(send, admin, id);
            expect(finished.state).toBe('done');
            expect(finished.installations.done).toBe(plan.json.installations);
            await expectWholeAndResident();
          },
        ),
        { numRuns: 8 },
      );
    });
  });

  describe('when products keep uploading during a relocation', () => {
    it('lands every upload and event at the right site, and reads find the samples throughout', async () => {
      await movePolicy('MX', 'zurich');
      const ids = [await register('MX'), await register('MX'), await register('MX')];
      const first = await upload(ids[0]!, randomBytes(400_000));
      for (const id of ids) await upload(id, randomBytes(300_000));
      await movePolicy('MX', 'moscow');
      const analyst = await h.token('analyst');
      // 0.5 MB/s: the copy takes seconds, during which the loop below writes and reads.
      const relocation = await relocate({ batchSize: 1, rateLimitMbps: 0.5 });
      let during = 0;
      for (;;) {
        const status = await send('GET', `/v1/relocations/${relocation}`, admin);
        if (status.json.state !== 'running') break;
        const found = await send('GET', `/v1/samples/${first.sha256}`, analyst);
        expect(found.status).toBe(200);
        // Enough writes to cross every step; more would only lengthen the copy on a busy machine.
        if (during < 12) {
          const id = ids[during % ids.length]!;
          await upload(id, randomBytes(20_000));
          await events(id, 2);
          during += 1;
        } else {
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      expect(during).toBeGreaterThan(3);
      expect((await send('GET', `/v1/relocations/${relocation}`, admin)).json.state).toBe('done');
      await expectWholeAndResident();
      const download = await h.app.inject({
        url: `/v1/samples/${first.sha256}/download`,
        headers: { authorization: `Bearer ${analyst}` },
      });
      expect(download.statusCode).toBe(200);
    }, 120_000);
  });

  describe('when a relocation is paused, resumed and cancelled', () => {
    it('pauses between copies and finishes after resume', async () => {
      await movePolicy('KR', 'zurich');
      const ids = [await register('KR'), await register('KR')];
      for (const id of ids) await upload(id, randomBytes(300_000));
      await movePolicy('KR', 'moscow');
      const relocation = await relocate({ batchSize: 1, rateLimitMbps: 0.2 });
      const paused = await send('POST', `/v1/relocations/${relocation}/pause`, admin);
      expect(paused.status).toBe(200);
      expect(paused.json.state).toBe('paused');
      await h.glasshouse.relocations.settled();
      const still = await send('GET', `/v1/relocations/${relocation}`, admin);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await send('GET', `/v1/relocations/${relocation}`, admin)).json).toMatchObject({
        state: 'paused',
        installations: still.json.installations,
      });
      expect((await send('POST', `/v1/relocations/${relocation}/resume`, admin)).json.state).toBe('running');
      expect((await waitForRelocation(send, admin, relocation)).state).toBe('done');
      await expectWholeAndResident();
    });

    it('leaves every installation whole at exactly one site when cancelled', async () => {
      await movePolicy('CA', 'zurich');
      const ids = [await register('CA'), await register('CA'), await register('CA')];
      for (const id of ids) {
        await upload(id, randomBytes(200_000));
        await events(id, 3);
      }
      await movePolicy('CA', 'moscow');
      const relocation = await relocate({ batchSize: 1, rateLimitMbps: 0.3 });
      for (;;) {
        const status = await send('GET', `/v1/relocations/${relocation}`, admin);
        if (status.json.installations.done >= 1) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const cancelled = await send('POST', `/v1/relocations/${relocation}/cancel`, admin);
      expect(cancelled.status).toBe(200);
      expect(cancelled.json.state).toBe('cancelled');
      expect(cancelled.json.installations.done).toBeLessThan(3);
      const audit = await send('GET', '/v1/residency/audit', admin);
      // Only the installations not moved are where the policy does not want them: nothing is split.
      expect(new Set(audit.json.violations.map((v: { kind: string }) => v.kind))).toEqual(
        new Set(['NOT_WHERE_POLICY_SAYS']),
      );
      await expectWhole(false);
      const sites = await Promise.all(ids.map(async (id) => (await h.glasshouse.registry.get(id)).site));
      const stayed = audit.json.violations.filter((v: { installation: string }) =>
        ids.includes(v.installation),
      );
      expect(stayed).toHaveLength(sites.filter((s) => s === 'zurich').length);
      expect(sites.filter((s) => s === 'zurich').length).toBeGreaterThan(0);
      // A new relocation finishes the job.
      expect((await waitForRelocation(send, admin, await relocate())).state).toBe('done');
      await expectWholeAndResident();
    });
  });

  describe('when the request is bad', () => {
    it('answers 4xx and starts nothing', async () => {
      const before = (await send('GET', '/v1/relocations', admin)).json.relocations.length;
      for (const body of [{ batchSize: 0 }, { rateLimitMbps: -1 }, { dryRun: 'yes' }, { extra: 1 }]) {
        const response = await send('POST', '/v1/relocations', admin, body);
        expect(response.status, JSON.stringify(body)).toBe(400);
      }
      expect((await send('GET', '/v1/relocations/not-an-id', admin)).status).toBe(400);
      const unknown = await send('GET', '/v1/relocations/00000000-0000-4000-8000-000000000000', admin);
      expect(unknown.status).toBe(404);
      expect(unknown.json.code).toBe('RELOCATION_NOT_FOUND');
      expect((await send('GET', '/v1/relocations', admin)).json.relocations.length).toBe(before);
    });

    it('refuses to resume a finished relocation or to start a second one while one is active', async () => {
      const done = await waitForRelocation(send, admin, await relocate());
      const resumed = await send('POST', `/v1/relocations/${done.id}/resume`, admin);
      expect(resumed.status).toBe(409);
      expect(resumed.json.code).toBe('RELOCATION_STATE');
      await movePolicy('EG', 'zurich');
      const id = await register('EG');
      await upload(id, randomBytes(300_000));
      await movePolicy('EG', 'moscow');
      const slow = await relocate({ rateLimitMbps: 0.1 });
      await send('POST', `/v1/relocations/${slow}/pause`, admin);
      const second = await send('POST', '/v1/relocations', admin, {});
      expect(second.status).toBe(409);
      expect(second.json.code).toBe('RELOCATION_ACTIVE');
      await h.glasshouse.relocations.settled();
      expect((await send('POST', `/v1/relocations/${slow}/resume`, admin)).json.state).toBe('running');
      expect((await waitForRelocation(send, admin, slow, 30_000)).state).toBe('done');
      await expectWholeAndResident();
    });
  });

  describe('when the log is read', () => {
    it('holds an entry per batch at the control plane, the source and the target, without installation ids', async () => {
      const entries = async (node: string) => {
        const log = h.glasshouse.logs.get(node)!;
        return (await log.readEntries(0, await log.size())).map((e) =>
          JSON.parse(Buffer.from(e).toString('utf8')),
        );
      };
      const control = (await entries('control')).filter((e) => e.type === 'relocation.batch');
      expect(control.length).toBeGreaterThan(0);
      const received = [...(await entries('zurich')), ...(await entries('moscow'))].filter(
        (e) => e.type === 'relocation.received',
      );
      const sentEntries = [...(await entries('zurich')), ...(await entries('moscow'))].filter(
        (e) => e.type === 'relocation.sent',
      );
      expect(received.length).toBe(control.length);
      expect(sentEntries.length).toBe(control.length);
      const text = JSON.stringify([control, received, sentEntries]);
      for (const id of sent.keys()) expect(text).not.toContain(id);
    });
  });
});

/** A sample's record as a copy carries it, for `bytes` named `name` (their own SHA-256 by default). */
function sampleRecord(bytes: Buffer, name = sha256(bytes)) {
  const now = new Date().toISOString();
  return {
    sha256: name,
    sha1: '0'.repeat(40),
    md5: '0'.repeat(32),
    sha512: '0'.repeat(128),
    size: bytes.length,
    firstSeen: now,
    lastSeen: now,
  };
}

describe('a sample copied to another site', () => {
  describe('when its bytes do not hash to its name', () => {
    it('is refused and nothing is published or left behind at the target', async () => {
      const moscow = h.glasshouse.sites.get('moscow')!;
      const bytes = randomBytes(300_000);
      const claimed = sha256(randomBytes(8));
      const record = sampleRecord(bytes, claimed);
      await expect(moscow.importSample(record, Readable.from([bytes]))).rejects.toThrow(/arrived as/);
      expect(await moscow.authenticateSample(claimed)).toBe(false);
      expect(readdirSync(join(h.dataDir, 'sites', 'moscow', 'tmp'))).toEqual([]);
      expect(await moscow.findSample({ kind: 'sha256', value: claimed })).toBeUndefined();
      // The same bytes under their own name are copied, and read back authentic.
      expect(await moscow.importSample({ ...record, sha256: sha256(bytes) }, Readable.from([bytes]))).toEqual(
        {
          copied: true,
        },
      );
      expect(await moscow.verifySample(sha256(bytes))).toBe(true);
      // No submission references it: leave the site as the other tests expect it.
      expect(await moscow.vault.removeUnreferencedSamples([sha256(bytes)])).toEqual([sha256(bytes)]);
    });
  });
});

describe('a sample copied from another local site', () => {
  describe('when its blob file is resealed on one worker', () => {
    it('checks the plaintext against the name at the target, and publishes only what hashes to it', async () => {
      const zurich = h.glasshouse.sites.get('zurich')!;
      const moscow = h.glasshouse.sites.get('moscow')!;
      const bytes = randomBytes(1_500_000);
      const record = sampleRecord(bytes);
      // At zurich through the streaming path, as another site's copy would arrive.
      expect(await zurich.importSample(record, Readable.from([bytes]))).toEqual({ copied: true });
      const reseal = vi.spyOn(BlobFilePool.prototype, 'reseal');
      try {
        const claimed = sha256(randomBytes(8));
        await expect(
          moscow.importSample(
            { ...record, sha256: claimed },
            await zurich.openSamplePlaintext(record.sha256),
          ),
        ).rejects.toThrow(/arrived as/);
        expect(reseal).toHaveBeenCalledTimes(1);
        expect(await moscow.authenticateSample(claimed)).toBe(false);
        expect(readdirSync(join(h.dataDir, 'sites', 'moscow', 'tmp'))).toEqual([]);

        expect(await moscow.importSample(record, await zurich.openSamplePlaintext(record.sha256))).toEqual({
          copied: true,
        });
        expect(reseal).toHaveBeenCalledTimes(2);
        expect(await moscow.verifySample(record.sha256)).toBe(true);
        expect(await zurich.verifySample(record.sha256)).toBe(true);
      } finally {
        reseal.mockRestore();
        // No submission references it: leave both sites as the other tests expect them.
        for (const site of [zurich, moscow]) await site.vault.removeUnreferencedSamples([record.sha256]);
      }
    });
  });
});

describe('the residency audit', () => {
  describe('when a site is tampered with', () => {
    it('reports a corrupt sample, records at the wrong site, and the CLI exits non-zero listing them', async () => {
      await movePolicy('EG', 'moscow');
      const id = await register('EG');
      const stored = await upload(id, randomBytes(150_000));
      const blob = join(
        h.dataDir,
        'sites',
        'moscow',
        'blobs',
        stored.sha256.slice(0, 2),
        stored.sha256.slice(2, 4),
        stored.sha256,
      );
      const original = readFileSync(blob);
      const flipped = Buffer.from(original);
      flipped[flipped.length - 100]! ^= 1;
      writeFileSync(blob, flipped);
      // A copy of the installation's records where it does not belong.
      const zurich = h.glasshouse.sites.get('zurich')!;
      const records = await h.glasshouse.sites.get('moscow')!.exportInstallation(id);
      await zurich.importInstallation({ ...records, submissions: [] }, { submissions: true, events: true });
      try {
        // The relocation's read-back (authentication without re-hashing) rejects it too, and
        // a blob cut at a segment boundary.
        const moscow = h.glasshouse.sites.get('moscow')!;
        expect(await moscow.authenticateSample(stored.sha256)).toBe(false);
        writeFileSync(blob, original.subarray(0, original.length - (150_000 - 65_536 * 2) - 16));
        expect(await moscow.authenticateSample(stored.sha256)).toBe(false);
        writeFileSync(blob, original);
        expect(await moscow.authenticateSample(stored.sha256)).toBe(true);
        writeFileSync(blob, flipped);
        const audit = await send('GET', '/v1/residency/audit', admin);
        expect(audit.json.clean).toBe(false);
        expect(audit.json.violations).toEqual(
          expect.arrayContaining([
            expect.objectContaining({ kind: 'SAMPLE_CORRUPT', site: 'moscow', sha256: stored.sha256 }),
            expect.objectContaining({ kind: 'RECORDS_AT_WRONG_SITE', site: 'zurich', installation: id }),
          ]),
        );
        const auditor = await h.token('auditor');
        expect((await send('GET', '/v1/residency/audit', auditor)).status).toBe(200);
        const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
        const cli = await promisify(execFile)(
          process.execPath,
          [...CLI_ENTRY, 'residency', 'audit', '--url', address, '--token', auditor],
          { cwd: REPO_ROOT },
        ).then(
          () => ({ code: 0, stdout: '' }),
          (error: { code: number; stdout: string }) => error,
        );
        expect(cli.code).toBe(1);
        expect(cli.stdout).toContain('SAMPLE_CORRUPT at moscow');
        expect(cli.stdout).toContain('RECORDS_AT_WRONG_SITE at zurich');
      } finally {
        writeFileSync(blob, original);
        await zurich.purgeInstallations([id]);
      }
      expect((await send('GET', '/v1/residency/audit', admin)).json.violations).toEqual([]);
    });
  });
});
