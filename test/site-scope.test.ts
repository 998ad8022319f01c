import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { type RegisteredInstallation, registerInstallation, submitSample } from './support/installations.js';

/*
 * Site scope on every desk: a token limited to `zurich` reaches nothing held at, or about an
 * installation assigned to, `moscow`. Each case here was answered 200 before site scope was
 * decided in one place (src/control/auth/site-scope.ts); a refusal changes nothing (every log's size,
 * the desks' records).
 */

type Headers = Record<string, string>;

let h: Harness;
let product: string;
let zurich: RegisteredInstallation;
let moscow: RegisteredInstallation;
let moscowSample: { sha256: string; sha1: string; md5: string };
let zurichSample: { sha256: string; sha1: string; md5: string };
const legal = { zurichA: {} as Headers, zurichB: {} as Headers, allA: {} as Headers, allB: {} as Headers };
const privacy = { zurich: {} as Headers, all: {} as Headers };

beforeAll(async () => {
  h = await startHarness({ stats: { minGroupSize: 1 } });
  product = await h.token('product');
  zurich = await registerInstallation(h.app, product, 'DE');
  moscow = await registerInstallation(h.app, product, 'RU');
  expect([zurich.site, moscow.site]).toEqual(['zurich', 'moscow']);
  moscowSample = (
    await submitSample(h.app, product, moscow.id, 'moscow-secret.exe', randomBytes(300))
  ).json();
  zurichSample = (await submitSample(h.app, product, zurich.id, 'zurich.exe', randomBytes(300))).json();
  legal.zurichA = bearer(await h.token('legal', ['zurich']));
  legal.zurichB = bearer(await h.token('legal', ['zurich']));
  legal.allA = bearer(await h.token('legal'));
  legal.allB = bearer(await h.token('legal'));
  privacy.zurich = bearer(await h.token('privacy', ['zurich']));
  privacy.all = bearer(await h.token('privacy'));
});
afterAll(() => h.close());

/** The size of every node's log: a refusal appends nothing anywhere. */
async function logSizes(): Promise<Record<string, number>> {
  const sizes: Record<string, number> = {};
  for (const [node, log] of h.glasshouse.logs) sizes[node] = await log.size();
  return sizes;
}

function expectForbiddenSite(response: { statusCode: number; headers: Headers | object; body: string }) {
  expect(response.statusCode, response.body).toBe(403);
  expect((response.headers as Headers)['content-type']).toContain('application/problem+json');
  expect(JSON.parse(response.body).code).toBe('FORBIDDEN_SITE');
}

function userDataRequest(installations: readonly string[]) {
  return {
    receivedAt: '2021-08-03',
    requesterCountry: 'RU',
    authorityKind: 'law_enforcement',
    authority: 'Investigative Committee',
    legalBasis: 'Art. 144 UPK',
    reference: `ref-${randomBytes(4).toString('hex')}`,
    category: 'user_data',
    scope: { installations, hashes: [], threats: [] },
  };
}

async function createLegal(installations: readonly string[], headers = legal.allA): Promise<string> {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/legal-requests',
    headers,
    payload: userDataRequest(installations),
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json().id;
}

function legalAct(id: string, headers: Headers, body: Record<string, unknown>) {
  return h.app.inject({ method: 'POST', url: `/v1/legal-requests/${id}/actions`, headers, payload: body });
}

async function legalState(id: string) {
  const response = await h.app.inject({ url: `/v1/legal-requests/${id}`, headers: legal.allA });
  expect(response.statusCode).toBe(200);
  const { state, verification, history } = response.json();
  return { state, verification, history: history.length };
}

async function legalIds(headers: Headers): Promise<string[]> {
  const response = await h.app.inject({ url: '/v1/legal-requests', headers });
  expect(response.statusCode).toBe(200);
  return response.json().requests.map((r: { id: string }) => r.id);
}

describe('site scope', () => {
  describe('when a zurich legal officer meets a request about a moscow installation', () => {
    it('refuses to register it, and nothing is logged or stored', async () => {
      const before = { logs: await logSizes(), requests: await legalIds(legal.allA) };
      const response = await h.app.inject({
        method: 'POST',
        url: '/v1/legal-requests',
        headers: legal.zurichA,
        payload: userDataRequest([moscow.id]),
      });
      expectForbiddenSite(response);
      expect({ logs: await logSizes(), requests: await legalIds(legal.allA) }).toEqual(before);
    });

    it('refuses to read, verify, fulfil or download it, and leaves it as it was', async () => {
      const id = await createLegal([moscow.id]);
      expect((await legalAct(id, legal.allA, { action: 'start_verification' })).statusCode).toBe(200);
      const propose = { action: 'propose_verification', valid: true, jurisdictions: ['RU'] };
      // Two zurich officers cannot propose and confirm between them.
      const before = { logs: await logSizes(), request: await legalState(id) };
      expectForbiddenSite(await h.app.inject({ url: `/v1/legal-requests/${id}`, headers: legal.zurichA }));
      expectForbiddenSite(await legalAct(id, legal.zurichA, propose));
      expect({ logs: await logSizes(), request: await legalState(id) }).toEqual(before);
      expect((await legalAct(id, legal.allA, propose)).statusCode).toBe(200);
      const proposed = { logs: await logSizes(), request: await legalState(id) };
      expectForbiddenSite(await legalAct(id, legal.zurichB, { action: 'confirm_verification' }));
      expectForbiddenSite(await legalAct(id, legal.zurichB, { action: 'reject', reason: 'out_of_scope' }));
      expect({ logs: await logSizes(), request: await legalState(id) }).toEqual(proposed);
      expect((await legalAct(id, legal.allB, { action: 'confirm_verification' })).statusCode).toBe(200);
      const verified = { logs: await logSizes(), request: await legalState(id) };
      expectForbiddenSite(await legalAct(id, legal.zurichA, { action: 'fulfil' }));
      expect({ logs: await logSizes(), request: await legalState(id) }).toEqual(verified);
      const fulfilled = await legalAct(id, legal.allA, { action: 'fulfil' });
      expect(fulfilled.statusCode, fulfilled.body).toBe(200);
      expect(fulfilled.json().state).toBe('fulfilled');
      const done = { logs: await logSizes(), request: await legalState(id) };
      expectForbiddenSite(
        await h.app.inject({ url: `/v1/legal-requests/${id}/package`, headers: legal.zurichA }),
      );
      expect({ logs: await logSizes(), request: await legalState(id) }).toEqual(done);
    });

    it('lists only the requests whose installations are at its sites', async () => {
      const ofMoscow = await createLegal([moscow.id]);
      const ofZurich = await createLegal([zurich.id]);
      const zurichList = await legalIds(legal.zurichA);
      expect(zurichList).toContain(ofZurich);
      expect(zurichList).not.toContain(ofMoscow);
      expect(await legalIds(legal.allA)).toEqual(expect.arrayContaining([ofMoscow, ofZurich]));
    });
  });

  describe('when a legal request names installations at two sites', () => {
    it('is reached only by a token of both, whose package holds both sites', async () => {
      expectForbiddenSite(
        await h.app.inject({
          method: 'POST',
          url: '/v1/legal-requests',
          headers: legal.zurichA,
          payload: userDataRequest([zurich.id, moscow.id]),
        }),
      );
      const id = await createLegal([zurich.id, moscow.id]);
      expect(await legalIds(legal.zurichA)).not.toContain(id);
      expectForbiddenSite(await legalAct(id, legal.zurichA, { action: 'start_verification' }));
      await legalAct(id, legal.allA, { action: 'start_verification' });
      await legalAct(id, legal.allA, {
        action: 'propose_verification',
        valid: true,
        jurisdictions: ['CH', 'RU'],
      });
      await legalAct(id, legal.allB, { action: 'confirm_verification' });
      const fulfilled = await legalAct(id, legal.allA, { action: 'fulfil' });
      expect(fulfilled.statusCode, fulfilled.body).toBe(200);
      const history = (await h.app.inject({ url: `/v1/legal-requests/${id}`, headers: legal.allA })).json()
        .history as { action: string; data: { disclosed?: { site: string }[] } }[];
      const disclosed = history.find((item) => item.action === 'fulfil')?.data.disclosed ?? [];
      expect(disclosed.map((d) => d.site).sort()).toEqual(['moscow', 'zurich']);
    });
  });

  describe('when zurich legal officers fulfil a request about a zurich installation', () => {
    it('search only zurich, and the package says which sites were not searched', async () => {
      const id = await createLegal([zurich.id], legal.zurichA);
      await legalAct(id, legal.zurichA, { action: 'start_verification' });
      await legalAct(id, legal.zurichA, {
        action: 'propose_verification',
        valid: true,
        jurisdictions: ['CH', 'RU'],
      });
      await legalAct(id, legal.zurichB, { action: 'confirm_verification' });
      const fulfilled = await legalAct(id, legal.zurichA, { action: 'fulfil' });
      expect(fulfilled.statusCode, fulfilled.body).toBe(200);
      const history = (await h.app.inject({ url: `/v1/legal-requests/${id}`, headers: legal.zurichA })).json()
        .history as { action: string; data: { disclosed?: { site: string }[]; notSearched?: string[] } }[];
      const data = history.find((item) => item.action === 'fulfil')?.data;
      expect(data?.disclosed?.map((d) => d.site)).toEqual(['zurich']);
      expect(data?.notSearched).toEqual(['moscow']);
    });
  });

  describe('when a zurich privacy officer meets a moscow installation', () => {
    async function privacyIds(headers: Headers): Promise<string[]> {
      const response = await h.app.inject({ url: '/v1/privacy-requests', headers });
      expect(response.statusCode).toBe(200);
      return response.json().requests.map((r: { id: string }) => r.id);
    }

    async function fileAs(headers: Headers, body: Record<string, unknown>) {
      return h.app.inject({ method: 'POST', url: '/v1/privacy-requests', headers, payload: body });
    }

    it('refuses to file an export or an erasure for it, and nothing is stored or logged', async () => {
      const before = { logs: await logSizes(), requests: await privacyIds(privacy.all) };
      for (const type of ['export', 'erasure', 'inventory']) {
        expectForbiddenSite(
          await fileAs(privacy.zurich, { type, installation: moscow.id, verificationNote: 'checked' }),
        );
      }
      await h.glasshouse.privacyWorker.idle();
      expect({ logs: await logSizes(), requests: await privacyIds(privacy.all) }).toEqual(before);
      const still = await h.app.inject({
        url: `/v1/samples/${moscowSample.sha256}`,
        headers: bearer(await h.token('analyst')),
      });
      expect(still.statusCode).toBe(200);
    });

    it('refuses to read, verify, reject, extend or export its requests, and leaves them as they were', async () => {
      const received = (await fileAs(privacy.all, { type: 'export', installation: moscow.id })).json().id;
      const exported = (
        await fileAs(privacy.all, { type: 'export', installation: moscow.id, verificationNote: 'checked' })
      ).json().id;
      await h.glasshouse.privacyWorker.idle();
      const stateOf = async (id: string) =>
        (await h.app.inject({ url: `/v1/privacy-requests/${id}`, headers: privacy.all })).json();
      const before = {
        logs: await logSizes(),
        received: await stateOf(received),
        exported: await stateOf(exported),
      };
      expect(before.exported.state).toBe('completed');
      const attempts = [
        h.app.inject({ url: `/v1/privacy-requests/${received}`, headers: privacy.zurich }),
        h.app.inject({ url: `/v1/privacy-requests/${received}/receipt`, headers: privacy.zurich }),
        h.app.inject({ url: `/v1/privacy-requests/${exported}/export`, headers: privacy.zurich }),
        h.app.inject({
          method: 'POST',
          url: `/v1/privacy-requests/${received}/verify`,
          headers: privacy.zurich,
          payload: { note: 'checked' },
        }),
        h.app.inject({
          method: 'POST',
          url: `/v1/privacy-requests/${received}/reject`,
          headers: privacy.zurich,
          payload: { reason: 'other', note: 'no' },
        }),
        h.app.inject({
          method: 'POST',
          url: `/v1/privacy-requests/${received}/extend`,
          headers: privacy.zurich,
          payload: { days: 5, reason: 'busy' },
        }),
      ];
      for (const response of await Promise.all(attempts)) expectForbiddenSite(response);
      await h.glasshouse.privacyWorker.idle();
      expect({
        logs: await logSizes(),
        received: await stateOf(received),
        exported: await stateOf(exported),
      }).toEqual(before);
      expect(await privacyIds(privacy.zurich)).not.toContain(received);
      expect(await privacyIds(privacy.all)).toContain(received);
    });

    it('keeps an erased installation’s requests at its site', async () => {
      const erased = await registerInstallation(h.app, product, 'RU');
      const filed = await fileAs(privacy.all, {
        type: 'erasure',
        installation: erased.id,
        verificationNote: 'checked',
      });
      await h.glasshouse.privacyWorker.idle();
      const id = filed.json().id;
      const asAll = await h.app.inject({ url: `/v1/privacy-requests/${id}/receipt`, headers: privacy.all });
      expect(asAll.json().state).toBe('completed');
      expect(asAll.json().installation).toBeNull();
      expectForbiddenSite(
        await h.app.inject({ url: `/v1/privacy-requests/${id}/receipt`, headers: privacy.zurich }),
      );
      expect(await privacyIds(privacy.zurich)).not.toContain(id);
    });

    it('files and answers requests of zurich installations', async () => {
      const filed = await fileAs(privacy.zurich, {
        type: 'inventory',
        installation: zurich.id,
        verificationNote: 'ok',
      });
      expect(filed.statusCode, filed.body).toBe(202);
      await h.glasshouse.privacyWorker.idle();
      const read = await h.app.inject({
        url: `/v1/privacy-requests/${filed.json().id}`,
        headers: privacy.zurich,
      });
      expect(read.json().state).toBe('completed');
      expect(await privacyIds(privacy.zurich)).toContain(filed.json().id);
    });
  });

  describe('when a zurich analyst sets a verdict on a hash of a sample only moscow holds', () => {
    it('answers, and extends the verdict to, that hash alone', async () => {
      const analystZurich = bearer(await h.token('analyst', ['zurich']));
      const response = await h.app.inject({
        method: 'PUT',
        url: `/v1/verdicts/${moscowSample.md5}`,
        headers: analystZurich,
        payload: { verdict: 'malicious', threat: 'Moscow.Only' },
      });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json().hashes).toEqual([moscowSample.md5]);
      const lookup = await h.app.inject({
        url: `/v1/lookup/${moscowSample.sha256}`,
        headers: bearer(product),
      });
      expect(lookup.json().verdict).toBe('unknown');
      const own = await h.app.inject({
        method: 'PUT',
        url: `/v1/verdicts/${zurichSample.md5}`,
        headers: analystZurich,
        payload: { verdict: 'malicious', threat: 'Zurich.Seen' },
      });
      expect([...own.json().hashes].sort()).toEqual(
        [zurichSample.md5, zurichSample.sha1, zurichSample.sha256].sort(),
      );
    });
  });

  describe('when an admin of one site changes what every site holds', () => {
    it('refuses a policy version and any relocation, and nothing changes', async () => {
      const adminZurich = bearer(await h.token('admin', ['zurich']));
      const policyBefore = (await h.app.inject({ url: '/v1/policy', headers: adminZurich })).json();
      const before = await logSizes();
      const calls = [
        { method: 'POST' as const, url: '/v1/relocations', payload: { dryRun: true } },
        { method: 'POST' as const, url: '/v1/relocations', payload: {} },
        { method: 'GET' as const, url: '/v1/relocations' },
        {
          method: 'POST' as const,
          url: '/v1/policy/versions',
          payload: { default: 'zurich', assign: [] },
        },
      ];
      for (const call of calls) expectForbiddenSite(await h.app.inject({ ...call, headers: adminZurich }));
      expect(await logSizes()).toEqual(before);
      expect((await h.app.inject({ url: '/v1/policy', headers: adminZurich })).json()).toEqual(policyBefore);
      const adminOfBoth = bearer(await h.token('admin', ['zurich', 'moscow']));
      const plan = await h.app.inject({
        method: 'POST',
        url: '/v1/relocations',
        headers: adminOfBoth,
        payload: { dryRun: true },
      });
      expect(plan.statusCode, plan.body).toBe(200);
    });
  });

  describe('when a zurich auditor runs the residency audit', () => {
    it('sees zurich’s counts and violations only', async () => {
      // Russia now belongs to zurich: every moscow installation is a violation at moscow.
      const moved = await h.app.inject({
        method: 'POST',
        url: '/v1/policy/versions',
        headers: bearer(await h.token('admin')),
        payload: { default: 'moscow', assign: [{ countries: ['RU', 'DE'], site: 'zurich' }] },
      });
      expect(moved.statusCode, moved.body).toBe(201);
      const all = (
        await h.app.inject({ url: '/v1/residency/audit', headers: bearer(await h.token('auditor')) })
      ).json();
      expect(all.sites.map((s: { site: string }) => s.site).sort()).toEqual(['moscow', 'zurich']);
      expect(all.violations.some((v: { site: string }) => v.site === 'moscow')).toBe(true);
      for (const role of ['auditor', 'admin'] as const) {
        const scoped = await h.app.inject({
          url: '/v1/residency/audit',
          headers: bearer(await h.token(role, ['zurich'])),
        });
        expect(scoped.statusCode, scoped.body).toBe(200);
        const report = scoped.json();
        expect(report.sites.map((s: { site: string }) => s.site)).toEqual(['zurich']);
        expect(report.violations.filter((v: { site: string }) => v.site !== 'zurich')).toEqual([]);
        expect(report.sites[0]).toEqual(all.sites.find((s: { site: string }) => s.site === 'zurich'));
        // The registry holds one installation at zurich (DE) and one at moscow (RU; one erased).
        expect([report.installations, all.installations]).toEqual([1, 2]);
      }
    });
  });
});
