import { createHash, randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { Uint8ArrayReader, Uint8ArrayWriter, ZipReader } from '@zip.js/zip.js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashLeaf, verifyInclusion } from '../src/ledger/merkle/index.js';
import { parseCheckpoint } from '../src/ledger/note/index.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation, submitSample } from './support/installations.js';
import { filesContaining, idNeedles } from './support/raw-scan.js';

/*
 * The privacy desk (issue 7) end to end through the HTTP API: users authenticated by their
 * installation's secret, officers by a privacy token; inventory and export against what two
 * sites hold; erasure checked by scanning the raw bytes of the data directory.
 */

let h: Harness;
let product: string;
let officer: string;
let analyst: string;
let clock: Date;

interface Registered {
  readonly id: string;
  readonly secret: string;
  readonly site: string;
}

beforeAll(async () => {
  clock = new Date('2026-03-01T10:00:00Z');
  h = await startHarness({ now: () => clock });
  product = await h.token('product');
  officer = await h.token('privacy');
  analyst = await h.token('analyst');
});
afterAll(() => h.close());

function userAuth(installation: Registered, secret = installation.secret): Record<string, string> {
  return { authorization: `Installation ${installation.id}:${secret}` };
}

function register(country: string): Promise<Registered> {
  return registerInstallation(h.app, product, country);
}

async function submit(installation: string, filename: string, body: Buffer): Promise<void> {
  const response = await submitSample(h.app, product, installation, filename, body);
  expect(response.statusCode, response.body).toBeLessThan(300);
}

async function sendEvent(installation: string, ts: string, threat: string): Promise<void> {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(product), 'content-type': 'application/x-ndjson' },
    payload: JSON.stringify({ ts, installation, type: 'detection', verdict: 'malicious', threat }),
  });
  expect(response.json().accepted, response.body).toBe(1);
}

/** Puts data of the installation at a second site too, as a relocation in progress would. */
async function holdAlsoAt(site: string, installation: string, filename: string, body: Buffer) {
  const node = h.glasshouse.sites.get(site)!;
  await node.admitInstallation(installation, { role: 'admin', token: 'test' });
  await node.storeSample({
    installationId: installation,
    filename,
    product: 'endpoint-12',
    body: Readable.from([body]),
  });
  const row = ['2026-03-01 11:00:00.000', installation, 'scan', 'DE', '', '', 'clean', '', 'endpoint-12', ''];
  await node.appendEvents(Buffer.from(`${row.join('\u001f')}\n`));
}

async function file(headers: Record<string, string>, payload: Record<string, unknown>) {
  return h.app.inject({ method: 'POST', url: '/v1/privacy-requests', headers, payload });
}

async function answered(headers: Record<string, string>, id: string) {
  await h.glasshouse.privacyWorker.idle();
  const response = await h.app.inject({ url: `/v1/privacy-requests/${id}`, headers });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

async function privacyEntries(): Promise<Record<string, unknown>[]> {
  const log = h.glasshouse.logs.get('control')!;
  const entries = await log.readEntries(0, await log.size());
  return entries
    .map((e) => JSON.parse(e.toString('utf8')) as Record<string, unknown>)
    .filter((e) => e.type === 'privacy.request');
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

describe('the privacy desk', () => {
  describe('when a user asks for an inventory and an export of data held at two sites', () => {
    it('answers with exactly what each site stored', async () => {
      const user = await register('DE');
      expect(user.site).toBe('zurich');
      const first = randomBytes(700);
      const second = randomBytes(900);
      await submit(user.id, 'C:\\Users\\ana\\invoice.exe', first);
      await sendEvent(user.id, '2026-03-01T09:00:00Z', 'Trojan.A');
      await sendEvent(user.id, '2026-03-01T09:30:00Z', 'Trojan.B');
      const remote = randomBytes(1200);
      await holdAlsoAt('moscow', user.id, 'D:\\moved.bin', remote);

      const inventory = await file(userAuth(user), { type: 'inventory' });
      expect(inventory.statusCode, inventory.body).toBe(202);
      expect(inventory.json()).toMatchObject({ type: 'inventory', state: 'verified', filedBy: 'user' });
      const done = await answered(userAuth(user), inventory.json().id);
      expect(done.state).toBe('completed');
      const bySite = Object.fromEntries(
        done.answer.sites.map(
          (s: {
            site: string;
            jurisdiction: string;
            categories: { category: string; records: number }[];
          }) => [
            s.site,
            {
              jurisdiction: s.jurisdiction,
              ...Object.fromEntries(s.categories.map((c) => [c.category, c.records])),
            },
          ],
        ),
      );
      expect(bySite).toEqual({
        zurich: { jurisdiction: 'CH', submissions: 1, samples: 1, telemetry_events: 2, data_key: 1 },
        moscow: { jurisdiction: 'RU', submissions: 1, samples: 1, telemetry_events: 1, data_key: 1 },
      });
      const registered = await h.glasshouse.registry.get(user.id);
      expect(done.answer.policy).toEqual({
        version: registered.policyVersion,
        effectiveFrom: expect.any(String),
      });
      expect(done.answer.country).toBe('DE');
      expect(JSON.stringify(done.answer)).not.toContain('invoice.exe');

      await submit(user.id, 'second.docm', second);
      const exportRequest = await file(userAuth(user), { type: 'export' });
      expect(exportRequest.statusCode).toBe(202);
      expect((await answered(userAuth(user), exportRequest.json().id)).state).toBe('completed');
      const download = await h.app.inject({
        url: `/v1/privacy-requests/${exportRequest.json().id}/export`,
        headers: userAuth(user),
      });
      expect(download.statusCode, download.body).toBe(200);
      expect(download.headers['content-type']).toBe('application/zip');
      const entries = await unzip(download.rawPayload, 'infected');
      const document = JSON.parse(entries.get('export.json')!.toString('utf8'));
      expect(document.installation.id).toBe(user.id);
      const held = Object.fromEntries(
        document.sites.map(
          (s: {
            site: string;
            submissions: { filename: string; sha256: string }[];
            events: { threat: string }[];
          }) => [
            s.site,
            {
              files: s.submissions.map((x) => [x.filename, x.sha256]),
              threats: s.events.map((e) => e.threat),
            },
          ],
        ),
      );
      expect(held).toEqual({
        zurich: {
          files: [
            ['C:\\Users\\ana\\invoice.exe', sha256(first)],
            ['second.docm', sha256(second)],
          ],
          threats: ['Trojan.A', 'Trojan.B'],
        },
        moscow: { files: [['D:\\moved.bin', sha256(remote)]], threats: [null] },
      });
      expect(entries.get(`samples/${sha256(first)}`)).toEqual(first);
      expect(entries.get(`samples/${sha256(second)}`)).toEqual(second);
      expect(entries.get(`samples/${sha256(remote)}`)).toEqual(remote);
      await expect(unzip(download.rawPayload)).rejects.toThrow();
    });
  });

  describe('when credentials are wrong', () => {
    it('answers 401 alike for an unknown installation and a wrong secret, and 404 for another user’s request', async () => {
      const user = await register('DE');
      const other = await register('DE');
      const wrongSecret = await file(userAuth(user, 'not-the-secret'), { type: 'inventory' });
      const unknown = await file(
        { authorization: `Installation 00000000-0000-4000-8000-000000000000:${user.secret}` },
        { type: 'inventory' },
      );
      expect(wrongSecret.statusCode).toBe(401);
      expect(unknown.statusCode).toBe(401);
      const strip = (body: Record<string, unknown>) => ({ ...body, instance: undefined });
      expect(strip(wrongSecret.json())).toEqual(strip(unknown.json()));
      expect((await file({ authorization: 'Installation garbage' }, { type: 'inventory' })).statusCode).toBe(
        401,
      );

      const mine = await file(userAuth(user), { type: 'inventory' });
      // An export an officer filed and has not verified yet is open until they do.
      await file(bearer(officer), { type: 'export', installation: user.id });
      const twice = await file(userAuth(user), { type: 'export' });
      expect(twice.statusCode).toBe(202);
      expect(twice.json()).toMatchObject({ state: 'rejected', reason: 'too_many_requests' });
      const peek = await h.app.inject({
        url: `/v1/privacy-requests/${mine.json().id}`,
        headers: userAuth(other),
      });
      expect(peek.statusCode).toBe(404);
      const aboutOther = await file(userAuth(user), { type: 'erasure', installation: other.id });
      expect(aboutOther.statusCode).toBe(400);
      // An installation credential opens only the routes that admit users.
      const list = await h.app.inject({ url: '/v1/privacy-requests', headers: userAuth(user) });
      expect(list.statusCode).toBe(401);
      await h.glasshouse.privacyWorker.idle();
    });
  });

  describe('when an officer files requests on a user’s behalf', () => {
    it('verifies, rejects, extends and lists them, and logs only published fields', async () => {
      const user = await register('BR');
      const withNote = await file(bearer(officer), {
        type: 'inventory',
        installation: user.id,
        verificationNote: 'identity checked by a call back to the registered e-mail',
      });
      expect(withNote.statusCode, withNote.body).toBe(202);
      expect(withNote.json()).toMatchObject({ state: 'verified', filedBy: 'officer' });
      expect((await answered(bearer(officer), withNote.json().id)).state).toBe('completed');

      const pending = await file(bearer(officer), { type: 'export', installation: user.id });
      expect(pending.json().state).toBe('received');
      const toReject = await file(bearer(officer), { type: 'erasure', installation: user.id });
      const extended = await h.app.inject({
        method: 'POST',
        url: `/v1/privacy-requests/${pending.json().id}/extend`,
        headers: bearer(officer),
        payload: { days: 30, reason: 'the user holds data at two sites' },
      });
      expect(extended.statusCode, extended.body).toBe(200);
      expect(Date.parse(extended.json().dueAt) - Date.parse(pending.json().dueAt)).toBe(30 * 86_400_000);

      const badReason = await h.app.inject({
        method: 'POST',
        url: `/v1/privacy-requests/${toReject.json().id}/reject`,
        headers: bearer(officer),
        payload: { reason: 'because', note: 'x' },
      });
      expect(badReason.statusCode).toBe(400);
      const rejected = await h.app.inject({
        method: 'POST',
        url: `/v1/privacy-requests/${toReject.json().id}/reject`,
        headers: bearer(officer),
        payload: { reason: 'suspected_fraud', note: 'the caller could not confirm the installation' },
      });
      expect(rejected.json()).toMatchObject({ state: 'rejected', reason: 'suspected_fraud' });
      const again = await h.app.inject({
        method: 'POST',
        url: `/v1/privacy-requests/${toReject.json().id}/reject`,
        headers: bearer(officer),
        payload: { reason: 'other', note: 'again' },
      });
      expect(again.statusCode).toBe(409);

      clock = new Date(clock.getTime() + 40 * 86_400_000);
      const overdue = await h.app.inject({
        url: '/v1/privacy-requests?overdue=true',
        headers: bearer(officer),
      });
      const overdueIds = overdue.json().requests.map((r: { id: string }) => r.id);
      expect(overdueIds).not.toContain(pending.json().id); // extended to 60 days
      clock = new Date(clock.getTime() + 30 * 86_400_000);
      const later = await h.app.inject({
        url: '/v1/privacy-requests?overdue=true',
        headers: bearer(officer),
      });
      expect(
        later.json().requests.map((r: { id: string; overdue: boolean }) => [r.id, r.overdue]),
      ).toContainEqual([pending.json().id, true]);

      const verified = await h.app.inject({
        method: 'POST',
        url: `/v1/privacy-requests/${pending.json().id}/verify`,
        headers: bearer(officer),
        payload: { note: 'signed letter on file' },
      });
      expect(verified.json().state).toBe('verified');
      expect((await answered(bearer(officer), pending.json().id)).state).toBe('completed');

      const entries = (await privacyEntries()).filter((e) => e.request === toReject.json().id);
      expect(entries.map((e) => e.event)).toEqual(['received', 'rejected']);
      for (const entry of entries) {
        expect(Object.keys(entry).sort()).toEqual(
          [
            'actor',
            'closedAt',
            'event',
            'installation',
            'outcome',
            'reason',
            'receivedAt',
            'request',
            'requestType',
            'state',
            'time',
            'type',
          ].sort(),
        );
        expect(JSON.stringify(entry)).not.toContain(user.id);
      }
      expect(entries[1]).toMatchObject({
        requestType: 'erasure',
        state: 'rejected',
        outcome: 'rejected',
        reason: 'suspected_fraud',
        receivedAt: toReject.json().receivedAt.slice(0, 10),
        closedAt: rejected.json().closedAt.slice(0, 10),
      });
      expect(entries[0]!.installation).toBe(
        await h.glasshouse.sites.get(user.site)!.commitInstallation(user.id, 'installation', user.id),
      );
    });
  });

  describe('when a user asks for erasure', () => {
    it('removes every byte of the installation, keeps shared samples, and gives a verifiable receipt', async () => {
      const user = await register('DE');
      const neighbour = await register('DE');
      const own = randomBytes(4096);
      const shared = randomBytes(3000);
      const remote = randomBytes(2048);
      const names = ['ana-tax-return-2026.exe', 'C:\\Users\\ana\\shared-dropper.exe', 'ana-remote-only.bin'];
      await submit(user.id, names[0]!, own);
      await submit(user.id, names[1]!, shared);
      await submit(neighbour.id, 'neighbour.exe', shared);
      await sendEvent(user.id, '2026-03-01T09:00:00Z', 'Trojan.Erased');
      await sendEvent(neighbour.id, '2026-03-01T09:00:00Z', 'Trojan.Kept');
      await holdAlsoAt('moscow', user.id, names[2]!, remote);
      const inventory = await file(userAuth(user), { type: 'inventory' });
      await answered(userAuth(user), inventory.json().id);

      const unverified = await file(bearer(officer), { type: 'inventory', installation: user.id });
      expect(unverified.json().state).toBe('received');
      const erasure = await file(userAuth(user), { type: 'erasure' });
      expect(erasure.statusCode, erasure.body).toBe(202);
      const { id, receiptToken } = erasure.json();
      expect(receiptToken).toEqual(expect.any(String));
      await h.glasshouse.privacyWorker.idle();

      const later = await file(userAuth(user), { type: 'inventory' });
      expect(later.statusCode).toBe(401);
      const receipt = await h.app.inject({
        url: `/v1/privacy-requests/${id}/receipt`,
        headers: { authorization: `Receipt ${receiptToken}` },
      });
      expect(receipt.statusCode, receipt.body).toBe(200);
      const body = receipt.json();
      expect(body).toMatchObject({ state: 'completed', installation: null });
      const zurich = body.answer.sites.find((s: { site: string }) => s.site === 'zurich');
      expect(zurich.removed).toContainEqual(expect.objectContaining({ store: 'metadata', records: 2 }));
      expect(zurich.removed).toContainEqual(expect.objectContaining({ store: 'statistics', records: 1 }));
      expect(zurich.removed).toContainEqual(expect.objectContaining({ store: 'blobs', records: 1 }));
      expect(zurich.retained).toContainEqual(expect.objectContaining({ what: `sample ${sha256(shared)}` }));
      expect(body.answer.sites.map((s: { site: string }) => s.site).sort()).toEqual(['moscow', 'zurich']);
      const wrongReceipt = await h.app.inject({
        url: `/v1/privacy-requests/${id}/receipt`,
        headers: { authorization: 'Receipt nope' },
      });
      expect(wrongReceipt.statusCode).toBe(401);

      // The receipt's entry is in the control log: check the proof against the checkpoint it names.
      const { log } = body.answer;
      const checkpoint = parseCheckpoint(log.checkpoint.slice(0, log.checkpoint.indexOf('\n\n') + 1));
      expect(checkpoint.treeSize).toBe(log.treeSize);
      verifyInclusion(
        log.proof.map((p: string) => Buffer.from(p, 'base64')),
        log.index,
        log.treeSize,
        hashLeaf(Buffer.from(log.entry, 'utf8')),
        checkpoint.rootHash,
      );
      expect(JSON.parse(log.entry)).toMatchObject({ request: id, event: 'completed', outcome: 'completed' });

      // What other installations still reference stays; so do their data and the verdicts.
      const sample = await h.app.inject({ url: `/v1/samples/${sha256(shared)}`, headers: bearer(analyst) });
      expect(sample.statusCode).toBe(200);
      expect(sample.json().sites).toEqual([expect.objectContaining({ site: 'zurich', submissions: 1 })]);
      const gone = await h.app.inject({ url: `/v1/samples/${sha256(own)}`, headers: bearer(analyst) });
      expect(gone.statusCode).toBe(404);
      const kept = await h.glasshouse.sites.get('zurich')!.installationRecords(neighbour.id);
      expect(kept?.submissions.map((s) => s.filename)).toEqual(['neighbour.exe']);
      expect(kept?.events.map((e) => e.threat)).toEqual(['Trojan.Kept']);

      // A request still waiting when the installation went has nothing left to answer.
      const verifyLate = await h.app.inject({
        method: 'POST',
        url: `/v1/privacy-requests/${unverified.json().id}/verify`,
        headers: bearer(officer),
        payload: { note: 'late' },
      });
      expect(verifyLate.json().installation).toBeNull();
      expect(await answered(bearer(officer), unverified.json().id)).toMatchObject({
        state: 'rejected',
        reason: 'no_match',
      });

      // No raw file of the data directory holds the id, a file name, or a sample only it sent.
      const needles = {
        ...idNeedles('installation id', user.id),
        ...Object.fromEntries(names.map((n) => [`file name ${n}`, Buffer.from(n, 'utf8')])),
        'own sample': own.subarray(1000, 1064),
        'remote sample': remote.subarray(1000, 1064),
      };
      expect(filesContaining(h.dataDir, needles)).toEqual([]);
      // The scan itself finds what is there: the neighbour is still present.
      expect(filesContaining(h.dataDir, idNeedles('neighbour', neighbour.id)).length).toBeGreaterThan(0);
    });
  });

  describe('when the key goes while a file of the installation is still streaming in', () => {
    it('refuses the submission, so no row lands behind the erasure', async () => {
      const user = await register('DE');
      const site = h.glasshouse.sites.get(user.site)!;
      const body = new PassThrough();
      const storing = site.storeSample({
        installationId: user.id,
        filename: 'late.exe',
        product: 'endpoint-12',
        body,
      });
      body.write(randomBytes(1000));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await site.eraseInstallationKey(user.id, { role: 'privacy', token: 'test' });
      body.end(randomBytes(1000));
      await expect(storing).rejects.toMatchObject({ code: 'SUBJECT_NOT_AT_SITE' });
      const rows = await site.eraseInstallationSubmissions(user.id);
      expect(rows.submissions).toBe(0);
    });
  });

  describe('when historical requests are imported', () => {
    it('loads a good file as imported log entries, and nothing of a file with a bad row', async () => {
      const before = (await privacyEntries()).length;
      const bad = await h.app.inject({
        method: 'POST',
        url: '/v1/privacy-requests/import',
        headers: { ...bearer(officer), 'content-type': 'text/csv' },
        payload:
          'received_at,type,outcome,closed_at\n2021-01-04,erasure,completed,2021-01-20\n2021-02-30,export,completed,2021-03-01\n2021-03-01,deletion,rejected,2021-03-02\n2021-04-01,inventory,completed,2021-03-01\n',
      });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().errors.map((e: { line: number }) => e.line)).toEqual([3, 4, 5]);
      expect((await privacyEntries()).length).toBe(before);
      const listed = await h.app.inject({
        url: '/v1/privacy-requests?limit=10000',
        headers: bearer(officer),
      });
      expect(listed.json().requests.some((r: { filedBy: string }) => r.filedBy === 'import')).toBe(false);

      const good = await h.app.inject({
        method: 'POST',
        url: '/v1/privacy-requests/import',
        headers: { ...bearer(officer), 'content-type': 'text/csv' },
        payload:
          'received_at,type,outcome,closed_at\n2021-01-04,erasure,completed,2021-01-20\n2021-02-11,export,rejected,2021-02-12\n',
      });
      expect(good.statusCode, good.body).toBe(200);
      expect(good.json().loaded).toBe(2);
      const imported = (await privacyEntries()).slice(before);
      expect(imported).toEqual([
        expect.objectContaining({
          event: 'imported',
          requestType: 'erasure',
          receivedAt: '2021-01-04',
          state: 'completed',
          outcome: 'completed',
          reason: null,
          closedAt: '2021-01-20',
          installation: null,
        }),
        expect.objectContaining({
          requestType: 'export',
          outcome: 'rejected',
          reason: 'other',
          installation: null,
        }),
      ]);
    });
  });
});

describe('the privacy routes', () => {
  describe('when given arbitrary input and credentials', () => {
    it('never answer 5xx, and every 4xx is a problem document (property)', async () => {
      const user = await register('DE');
      const text = fc.string({ maxLength: 80 });
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            route: fc.constantFrom(
              'file',
              'get',
              'export',
              'receipt',
              'verify',
              'reject',
              'extend',
              'list',
              'import',
            ),
            id: fc.oneof(fc.uuid(), text.map(encodeURIComponent)),
            body: fc.jsonValue({ maxDepth: 2 }),
            csv: text,
            query: text.map(encodeURIComponent),
            auth: fc.oneof(
              fc.constant(bearer(officer)),
              fc.constant(userAuth(user)),
              text.map((t) => ({ authorization: `Installation ${t}` })),
              text.map((t) => ({ authorization: `Receipt ${t}` })),
            ),
          }),
          async ({ route, id, body, csv, query, auth }) => {
            const base = `/v1/privacy-requests`;
            const request =
              route === 'list'
                ? { url: `${base}?state=${query}&overdue=${query}` }
                : route === 'import'
                  ? {
                      method: 'POST' as const,
                      url: `${base}/import`,
                      payload: csv,
                      headers: { 'content-type': 'text/csv' },
                    }
                  : route === 'file'
                    ? {
                        method: 'POST' as const,
                        url: base,
                        payload: JSON.stringify(body),
                        headers: { 'content-type': 'application/json' },
                      }
                    : ['verify', 'reject', 'extend'].includes(route)
                      ? {
                          method: 'POST' as const,
                          url: `${base}/${id}/${route}`,
                          payload: JSON.stringify(body),
                          headers: { 'content-type': 'application/json' },
                        }
                      : { url: `${base}/${id}${route === 'get' ? '' : `/${route}`}` };
            const response = await h.app.inject({ ...request, headers: { ...request.headers, ...auth } });
            expect(
              response.statusCode,
              `${JSON.stringify(request)} → ${response.body.slice(0, 200)}`,
            ).toBeLessThan(500);
            if (response.statusCode >= 400) {
              expect(response.headers['content-type']).toContain('application/problem+json');
            }
          },
        ),
        { numRuns: 150 },
      );
      await h.glasshouse.privacyWorker.idle();
    });
  });
});

async function unzip(zip: Buffer, password?: string): Promise<Map<string, Buffer>> {
  const reader = new ZipReader(new Uint8ArrayReader(new Uint8Array(zip)), { useWebWorkers: false });
  const files = new Map<string, Buffer>();
  for (const entry of await reader.getEntries()) {
    if (entry.directory) continue;
    const data = await entry.getData(new Uint8ArrayWriter(), {
      useWebWorkers: false,
      ...(password === undefined ? {} : { password }),
    });
    files.set(entry.filename, Buffer.from(data));
  }
  return files;
}
