import { randomBytes } from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../src/control/auth/roles.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { type RegisteredInstallation, registerInstallation, submitSample } from './support/installations.js';
import { documentedV1Routes } from './support/openapi-routes.js';

/*
 * Every route of /openapi.json × every role × a token of each site and one of all sites,
 * against the decision table below. A route added to the API without a decision fails the
 * first test. The fixtures (an installation, a sample, requests) are at zurich, so a
 * moscow token is the one that must not reach them.
 */

const SCOPES = ['zurich', 'moscow', 'all'] as const;
type Scope = (typeof SCOPES)[number];
/** `ok` is any 2xx; anything else is the problem document's `code`. */
type Outcome = 'ok' | 'FORBIDDEN_SITE' | 'SAMPLE_NOT_FOUND';
type Expected = Readonly<Record<Scope, Outcome>>;

/** Not a site's data (or public anyway): every scope gets the same answer. */
const ANY_SITE: Expected = { zurich: 'ok', moscow: 'ok', all: 'ok' };
/** Held at, or about an installation at, zurich: a moscow token is refused. */
const AT_ZURICH: Expected = { zurich: 'ok', moscow: 'FORBIDDEN_SITE', all: 'ok' };
/** A search over the token's sites: what only zurich holds is not found by a moscow token. */
const FOUND_AT_ZURICH: Expected = { zurich: 'ok', moscow: 'SAMPLE_NOT_FOUND', all: 'ok' };
/** Routes or moves every site's data: only a token of every site. */
const EVERY_SITE: Expected = { zurich: 'FORBIDDEN_SITE', moscow: 'FORBIDDEN_SITE', all: 'ok' };

interface Decision {
  readonly admits: readonly Role[];
  readonly expected: Expected;
  /**
   * The request, with a fresh fixture where a call changes state; `caller` is the token it is
   * made with, for records only their owner reaches (hunts).
   */
  readonly request: (caller: string) => Promise<InjectOptions> | InjectOptions;
  /** For answers filtered by site: what an admitted call's body must show; a message if not. */
  readonly check?: (response: LightMyRequestResponse, scope: Scope) => string | undefined;
}

const HUNT_RULES = 'rule anything { condition: filesize > 0 }';

/**
 * A new hunt of `caller` (any hunt when the caller may not start one: the role check answers
 * first), brought to `state`: paused at once, or active once its scan of the stored samples ends.
 */
async function huntOf(caller: string, state: 'scanning' | 'paused' | 'active'): Promise<string> {
  const started = await h.app.inject({
    method: 'POST',
    url: '/v1/hunts',
    headers: bearer(caller),
    payload: { rules: HUNT_RULES },
  });
  if (started.statusCode !== 202) return 'not-a-hunt';
  const id = started.json<{ id: string }>().id;
  if (state === 'paused')
    await h.app.inject({ method: 'POST', url: `/v1/hunts/${id}/pause`, headers: bearer(caller) });
  if (state === 'active') {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      const hunt = await h.app.inject({ url: `/v1/hunts/${id}`, headers: bearer(caller) });
      if (hunt.json<{ state: string }>().state === 'active') break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return id;
}

let h: Harness;
let product: string;
let installation: RegisteredInstallation;
let sample: { sha256: string; md5: string; sha1: string };
/** A sample at moscow with the same TLSH digest as `sample`. */
let moscowSample = '';
let relocationId: string;
const tokens = new Map<string, string>();
const privileged: Record<'legalA' | 'legalB' | 'privacy' | 'admin', Record<string, string>> = {
  legalA: {},
  legalB: {},
  privacy: {},
  admin: {},
};
let zurichLegalRequest: string;
let fulfilledLegalRequest: string;
let completedExport: string;
let historyFiles = 0;

const POLICY = {
  default: 'moscow',
  assign: [
    { regions: ['EU', 'LATAM'], site: 'zurich' },
    { countries: ['AR'], site: 'moscow' },
  ],
};

function legalBody(installations: readonly string[] = [installation.id]) {
  return {
    receivedAt: '2021-08-03',
    requesterCountry: 'DE',
    authorityKind: 'court',
    authority: 'Amtsgericht',
    legalBasis: 'StPO',
    reference: 'AZ 1',
    category: 'user_data',
    scope: { installations, hashes: [], threats: [] },
  };
}

async function newLegalRequest(): Promise<string> {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/legal-requests',
    headers: privileged.legalA,
    payload: legalBody(),
  });
  return response.json().id;
}

async function newPrivacyRequest(): Promise<string> {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/privacy-requests',
    headers: privileged.privacy,
    payload: { type: 'inventory', installation: installation.id },
  });
  return response.json().id;
}

const listed =
  (key: string, id: () => string) =>
  (response: LightMyRequestResponse, scope: Scope): string | undefined => {
    const ids = (response.json()[key] as { id: string }[]).map((r) => r.id);
    return ids.includes(id()) === (scope !== 'moscow')
      ? undefined
      : `zurich's request listed: ${!ids.includes(id())}`;
  };

const DECISIONS: Readonly<Record<string, Decision>> = {
  'GET /v1/policy': { admits: ROLES, expected: ANY_SITE, request: () => ({ url: '/v1/policy' }) },
  'GET /v1/policy/resolve': {
    admits: ROLES,
    expected: ANY_SITE,
    request: () => ({ url: '/v1/policy/resolve?country=SA' }),
  },
  'POST /v1/policy/versions': {
    admits: ['admin'],
    expected: EVERY_SITE,
    request: () => ({ method: 'POST', url: '/v1/policy/versions', payload: POLICY }),
  },
  'POST /v1/installations': {
    admits: ['product'],
    expected: AT_ZURICH,
    request: () => ({ method: 'POST', url: '/v1/installations', payload: { country: 'DE', product: 'p' } }),
  },
  'POST /v1/samples': {
    admits: ['product'],
    expected: AT_ZURICH,
    request: () => ({
      method: 'POST',
      url: `/v1/samples?installation=${installation.id}&filename=a.exe`,
      headers: { 'content-type': 'application/octet-stream' },
      payload: randomBytes(64),
    }),
  },
  'GET /v1/samples/{hash}': {
    admits: ['analyst'],
    expected: FOUND_AT_ZURICH,
    request: () => ({ url: `/v1/samples/${sample.md5}` }),
  },
  'GET /v1/samples': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: () => ({ url: '/v1/samples?limit=1000' }),
    // A search over the token's sites: zurich's sample is listed only to a token that reaches zurich.
    check: (response, scope) => {
      const hits = response.json().samples as { sha256: string; site: string }[];
      const listed = hits.some((s) => s.sha256 === sample.sha256);
      if (listed !== (scope !== 'moscow')) return `zurich's sample listed: ${listed}`;
      return scope === 'all' || hits.every((s) => s.site === scope) ? undefined : 'another site listed';
    },
  },
  'PUT /v1/samples/{hash}/tags/{tag}': {
    admits: ['analyst'],
    expected: FOUND_AT_ZURICH,
    request: () => ({ method: 'PUT', url: `/v1/samples/${sample.sha256}/tags/family:scope` }),
  },
  'DELETE /v1/samples/{hash}/tags/{tag}': {
    admits: ['analyst'],
    expected: FOUND_AT_ZURICH,
    request: () => ({ method: 'DELETE', url: `/v1/samples/${sample.sha256}/tags/family:scope` }),
  },
  'POST /v1/samples/{hash}/comments': {
    admits: ['analyst'],
    expected: FOUND_AT_ZURICH,
    request: () => ({
      method: 'POST',
      url: `/v1/samples/${sample.sha256}/comments`,
      payload: { text: 'scope check' },
    }),
  },
  'GET /v1/samples/{hash}/comments': {
    admits: ['analyst'],
    expected: FOUND_AT_ZURICH,
    request: () => ({ url: `/v1/samples/${sample.md5}/comments` }),
  },
  'GET /v1/samples/{hash}/similar': {
    admits: ['analyst'],
    expected: FOUND_AT_ZURICH,
    request: () => ({ url: `/v1/samples/${sample.md5}/similar?maxDistance=2000` }),
    // zurich's sample is found by a token reaching zurich; its moscow twin only by one reaching both.
    check: (response, scope) => {
      const hits = response.json().samples as { sha256: string; site: string }[];
      const twin = hits.some((s) => s.sha256 === moscowSample && s.site === 'moscow');
      if (twin !== (scope === 'all')) return `the moscow sample listed: ${twin}`;
      return scope === 'all' || hits.every((s) => s.site === scope) ? undefined : 'another site listed';
    },
  },
  'GET /v1/samples/{hash}/download': {
    admits: ['analyst'],
    expected: FOUND_AT_ZURICH,
    request: () => ({ url: `/v1/samples/${sample.sha256}/download` }),
  },
  'GET /v1/lookup/{hash}': {
    admits: ['product'],
    expected: ANY_SITE,
    request: () => ({ url: `/v1/lookup/${sample.sha256}` }),
  },
  'POST /v1/lookup': {
    admits: ['product'],
    expected: ANY_SITE,
    request: () => ({ method: 'POST', url: '/v1/lookup', payload: { hashes: [sample.sha256] } }),
  },
  'GET /v1/verdicts/{hash}': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: () => ({ url: `/v1/verdicts/${sample.sha256}` }),
  },
  'PUT /v1/verdicts/{hash}': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: () => ({ method: 'PUT', url: `/v1/verdicts/${sample.md5}`, payload: { verdict: 'suspicious' } }),
    check: (response, scope) => {
      const hashes = response.json().hashes as string[];
      return hashes.length === (scope === 'moscow' ? 1 : 3) ? undefined : `hashes ${hashes.join(',')}`;
    },
  },
  'POST /v1/verdicts/import': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: () => ({
      method: 'POST',
      url: '/v1/verdicts/import',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: `${JSON.stringify({ hash: randomBytes(16).toString('hex'), verdict: 'clean' })}\n`,
    }),
  },
  'POST /v1/events': {
    admits: ['product'],
    expected: ANY_SITE,
    request: () => ({
      method: 'POST',
      url: '/v1/events',
      headers: { 'content-type': 'application/x-ndjson' },
      payload: `${JSON.stringify({ ts: new Date().toISOString(), installation: installation.id, type: 'scan' })}\n`,
    }),
    // Per line: an event of another site's installation is a rejected line, nothing stored.
    check: (response, scope) =>
      response.json().accepted === (scope === 'moscow' ? 0 : 1) ? undefined : response.body,
  },
  'GET /v1/stats/detections': {
    admits: ['analyst'],
    expected: AT_ZURICH,
    request: () => ({ url: '/v1/stats/detections?groupBy=day,country&site=zurich' }),
  },
  'GET /v1/stats/top-threats': {
    admits: ['analyst'],
    expected: AT_ZURICH,
    request: () => ({ url: '/v1/stats/top-threats?country=DE&site=zurich' }),
  },
  'POST /v1/legal-requests': {
    admits: ['legal'],
    expected: AT_ZURICH,
    request: () => ({ method: 'POST', url: '/v1/legal-requests', payload: legalBody() }),
  },
  'GET /v1/legal-requests': {
    admits: ['legal'],
    expected: ANY_SITE,
    request: () => ({ url: '/v1/legal-requests' }),
    check: listed('requests', () => zurichLegalRequest),
  },
  'GET /v1/legal-requests/{id}': {
    admits: ['legal'],
    expected: AT_ZURICH,
    request: () => ({ url: `/v1/legal-requests/${zurichLegalRequest}` }),
  },
  'POST /v1/legal-requests/{id}/actions': {
    admits: ['legal'],
    expected: AT_ZURICH,
    request: async () => ({
      method: 'POST',
      url: `/v1/legal-requests/${await newLegalRequest()}/actions`,
      payload: { action: 'start_verification' },
    }),
  },
  'GET /v1/legal-requests/{id}/package': {
    admits: ['legal'],
    expected: AT_ZURICH,
    request: () => ({ url: `/v1/legal-requests/${fulfilledLegalRequest}/package` }),
  },
  'POST /v1/legal-requests/import': {
    admits: ['legal'],
    expected: ANY_SITE,
    request: () => ({
      method: 'POST',
      url: '/v1/legal-requests/import',
      headers: { 'content-type': 'text/csv' },
      // A different file each call: the same file is not imported twice.
      payload: `received_at,requester_country,authority_kind,category,outcome,reason,closed_at\n2021-07-05,DE,court,user_data,fulfilled,,2021-08-${10 + (historyFiles++ % 18)}\n`,
    }),
  },
  'GET /v1/log/{node}/proof/inclusion': {
    admits: ['auditor'],
    expected: ANY_SITE,
    request: () => ({ url: '/v1/log/control/proof/inclusion?index=0&size=1' }),
  },
  'GET /v1/log/{node}/proof/consistency': {
    admits: ['auditor'],
    expected: ANY_SITE,
    request: () => ({ url: '/v1/log/control/proof/consistency?from=1&to=1' }),
  },
  // Reports are publications computed from the public log: no site's data to scope.
  'GET /v1/session': {
    admits: [...ROLES],
    expected: ANY_SITE,
    request: () => ({ url: '/v1/session' }),
  },
  'GET /v1/tokens': {
    admits: ['admin'],
    expected: EVERY_SITE,
    request: () => ({ url: '/v1/tokens' }),
  },
  'POST /v1/tokens': {
    admits: ['admin'],
    expected: EVERY_SITE,
    request: () => ({ method: 'POST', url: '/v1/tokens', payload: { role: 'analyst', label: 'scope test' } }),
  },
  'DELETE /v1/tokens/{id}': {
    admits: ['admin'],
    expected: EVERY_SITE,
    request: async () => {
      const { id } = await h.glasshouse.tokens.create({ role: 'analyst' }, { role: 'admin', token: 'test' });
      return { method: 'DELETE', url: `/v1/tokens/${id}` };
    },
  },
  'POST /v1/hunts': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: () => ({ method: 'POST', url: '/v1/hunts', payload: { rules: HUNT_RULES } }),
  },
  'GET /v1/hunts': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: () => ({ url: '/v1/hunts' }),
  },
  // A hunt runs over its owner's sites: each scope's analyst reaches the hunt it started.
  'GET /v1/hunts/{id}': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: async (caller) => ({ url: `/v1/hunts/${await huntOf(caller, 'scanning')}` }),
  },
  'GET /v1/hunts/{id}/matches': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: async (caller) => ({ url: `/v1/hunts/${await huntOf(caller, 'scanning')}/matches` }),
  },
  'POST /v1/hunts/{id}/pause': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: async (caller) => ({
      method: 'POST',
      url: `/v1/hunts/${await huntOf(caller, 'scanning')}/pause`,
    }),
  },
  'POST /v1/hunts/{id}/resume': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: async (caller) => ({
      method: 'POST',
      url: `/v1/hunts/${await huntOf(caller, 'paused')}/resume`,
    }),
  },
  'POST /v1/hunts/{id}/cancel': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: async (caller) => ({
      method: 'POST',
      url: `/v1/hunts/${await huntOf(caller, 'scanning')}/cancel`,
    }),
  },
  'POST /v1/hunts/{id}/stop': {
    admits: ['analyst'],
    expected: ANY_SITE,
    request: async (caller) => ({ method: 'POST', url: `/v1/hunts/${await huntOf(caller, 'active')}/stop` }),
  },
  'GET /v1/reports': {
    admits: ['admin', 'auditor', 'legal', 'privacy'],
    expected: ANY_SITE,
    request: () => ({ url: '/v1/reports' }),
  },
  'PUT /v1/reports/{period}/publication': {
    admits: ['admin'],
    expected: ANY_SITE,
    request: () => ({ method: 'PUT', url: '/v1/reports/2021-H2/publication' }),
  },
  'DELETE /v1/reports/{period}/publication': {
    admits: ['admin'],
    expected: ANY_SITE,
    request: () => ({ method: 'DELETE', url: '/v1/reports/2021-H1/publication' }),
  },
  'GET /v1/reports/{period}': {
    admits: ['admin', 'auditor', 'legal', 'privacy'],
    expected: ANY_SITE,
    request: () => ({ url: '/v1/reports/2021-H2' }),
  },
  'POST /v1/privacy-requests': {
    admits: ['privacy'],
    expected: AT_ZURICH,
    request: () => ({
      method: 'POST',
      url: '/v1/privacy-requests',
      payload: { type: 'inventory', installation: installation.id },
    }),
  },
  'GET /v1/privacy-requests': {
    admits: ['privacy'],
    expected: ANY_SITE,
    request: () => ({ url: '/v1/privacy-requests' }),
    check: listed('requests', () => completedExport),
  },
  'GET /v1/privacy-requests/{id}': {
    admits: ['privacy'],
    expected: AT_ZURICH,
    request: () => ({ url: `/v1/privacy-requests/${completedExport}` }),
  },
  'GET /v1/privacy-requests/{id}/export': {
    admits: ['privacy'],
    expected: AT_ZURICH,
    request: () => ({ url: `/v1/privacy-requests/${completedExport}/export` }),
  },
  'GET /v1/privacy-requests/{id}/receipt': {
    admits: ['privacy'],
    expected: AT_ZURICH,
    request: () => ({ url: `/v1/privacy-requests/${completedExport}/receipt` }),
  },
  'POST /v1/privacy-requests/{id}/verify': {
    admits: ['privacy'],
    expected: AT_ZURICH,
    request: async () => ({
      method: 'POST',
      url: `/v1/privacy-requests/${await newPrivacyRequest()}/verify`,
      payload: { note: 'identity confirmed' },
    }),
  },
  'POST /v1/privacy-requests/{id}/reject': {
    admits: ['privacy'],
    expected: AT_ZURICH,
    request: async () => ({
      method: 'POST',
      url: `/v1/privacy-requests/${await newPrivacyRequest()}/reject`,
      payload: { reason: 'insufficient_verification', note: 'no answer' },
    }),
  },
  'POST /v1/privacy-requests/{id}/extend': {
    admits: ['privacy'],
    expected: AT_ZURICH,
    request: async () => ({
      method: 'POST',
      url: `/v1/privacy-requests/${await newPrivacyRequest()}/extend`,
      payload: { days: 10, reason: 'complex request' },
    }),
  },
  'POST /v1/privacy-requests/import': {
    admits: ['privacy'],
    expected: ANY_SITE,
    request: () => ({
      method: 'POST',
      url: '/v1/privacy-requests/import',
      headers: { 'content-type': 'text/csv' },
      // A different file each call: the same file is not imported twice.
      payload: `received_at,type,outcome,closed_at\n2021-01-04,export,completed,2021-01-${10 + (historyFiles++ % 18)}\n`,
    }),
  },
  'POST /v1/relocations': {
    admits: ['admin'],
    expected: EVERY_SITE,
    request: () => ({ method: 'POST', url: '/v1/relocations', payload: { dryRun: true } }),
  },
  'GET /v1/relocations': {
    admits: ['admin'],
    expected: EVERY_SITE,
    request: () => ({ url: '/v1/relocations' }),
  },
  'GET /v1/relocations/{id}': {
    admits: ['admin'],
    expected: EVERY_SITE,
    request: () => ({ url: `/v1/relocations/${relocationId}` }),
  },
  // In this order (the table's), the one admitted call of each pauses, resumes and cancels
  // the slow relocation of beforeAll.
  ...Object.fromEntries(
    (['pause', 'resume', 'cancel'] as const).map((action) => [
      `POST /v1/relocations/{id}/${action}`,
      {
        admits: ['admin'],
        expected: EVERY_SITE,
        request: () => ({ method: 'POST', url: `/v1/relocations/${relocationId}/${action}` }),
      } satisfies Decision,
    ]),
  ),
  // The pack covers every site (the residency audit, every site's log).
  'GET /v1/evidence': {
    admits: ['admin', 'auditor'],
    expected: EVERY_SITE,
    request: () => ({ url: '/v1/evidence?from=2026-01-01&to=2026-12-31' }),
  },
  'GET /v1/residency/audit': {
    admits: ['admin', 'auditor'],
    expected: ANY_SITE,
    request: () => ({ url: '/v1/residency/audit' }),
    check: (response, scope) => {
      const sites = (response.json().sites as { site: string }[]).map((s) => s.site).sort();
      const want = scope === 'all' ? ['moscow', 'zurich'] : [scope];
      return sites.join() === want.join() ? undefined : `sites ${sites.join()}`;
    },
  },
};

async function tokenOf(role: Role, scope: Scope): Promise<string> {
  const key = `${role}:${scope}`;
  let token = tokens.get(key);
  if (token === undefined) {
    token = await h.token(role, scope === 'all' ? undefined : [scope]);
    tokens.set(key, token);
  }
  return token;
}

async function prepareDesks(): Promise<void> {
  privileged.legalA = bearer(await h.token('legal'));
  privileged.legalB = bearer(await h.token('legal'));
  privileged.privacy = bearer(await h.token('privacy'));
  zurichLegalRequest = await newLegalRequest();
  fulfilledLegalRequest = await newLegalRequest();
  for (const [body, officer] of [
    [{ action: 'start_verification' }, privileged.legalA],
    [{ action: 'propose_verification', valid: true, jurisdictions: ['CH'] }, privileged.legalA],
    [{ action: 'confirm_verification' }, privileged.legalB],
    [{ action: 'fulfil' }, privileged.legalA],
  ] as const) {
    const response = await h.app.inject({
      method: 'POST',
      url: `/v1/legal-requests/${fulfilledLegalRequest}/actions`,
      headers: officer,
      payload: body,
    });
    expect(response.statusCode, response.body).toBe(200);
  }
  const exported = await h.app.inject({
    method: 'POST',
    url: '/v1/privacy-requests',
    headers: privileged.privacy,
    payload: { type: 'export', installation: installation.id, verificationNote: 'checked' },
  });
  completedExport = exported.json().id;
  await h.glasshouse.privacyWorker.idle();
}

/** A relocation of one installation at 1 kB/s: still running when the admin pauses it. */
async function startSlowRelocation(): Promise<string> {
  privileged.admin = bearer(await h.token('admin'));
  const moving = await registerInstallation(h.app, product, 'AR');
  await submitSample(h.app, product, moving.id, 'b.exe', randomBytes(200_000));
  const policy = await h.app.inject({
    method: 'POST',
    url: '/v1/policy/versions',
    headers: privileged.admin,
    payload: POLICY,
  });
  expect(policy.statusCode, policy.body).toBe(201);
  const started = await h.app.inject({
    method: 'POST',
    url: '/v1/relocations',
    headers: privileged.admin,
    payload: { rateLimitMbps: 0.001 },
  });
  expect(started.statusCode, started.body).toBe(202);
  return started.json().id;
}

beforeAll(async () => {
  h = await startHarness({ stats: { minGroupSize: 1 } });
  product = await h.token('product');
  installation = await registerInstallation(h.app, product, 'DE');
  sample = (await submitSample(h.app, product, installation.id, 'a.exe', randomBytes(100))).json();
  // A sample at moscow with the same TLSH digest: similar to zurich's, for a token that reaches both.
  const atMoscow = await registerInstallation(h.app, product, 'RU');
  moscowSample = (await submitSample(h.app, product, atMoscow.id, 'b.exe', randomBytes(100))).json().sha256;
  const digest = { tlsh: `T1${'A5'.repeat(35)}`, ssdeep: null };
  await h.glasshouse.sites.get('zurich')!.vault.recordFuzzyHashes(sample.sha256, digest);
  await h.glasshouse.sites.get('moscow')!.vault.recordFuzzyHashes(moscowSample, digest);
  await prepareDesks();
  relocationId = await startSlowRelocation();
  await h.glasshouse.logs.get('control')!.publish();
});
afterAll(() => h.close());

function outcomeOf(response: LightMyRequestResponse): string {
  return response.statusCode < 300 ? 'ok' : `${response.statusCode} ${response.json().code}`;
}

function wanted(decision: Decision, role: Role, scope: Scope): string {
  if (!decision.admits.includes(role)) return '403 FORBIDDEN_ROLE';
  const outcome = decision.expected[scope];
  return outcome === 'ok' ? 'ok' : `${outcome === 'FORBIDDEN_SITE' ? 403 : 404} ${outcome}`;
}

describe('site scope on every route', () => {
  describe('when the decision table is compared with the API', () => {
    it('has a decision for every /v1 route of the OpenAPI document, and none for a route it lacks', async () => {
      const documented = await documentedV1Routes(h.app);
      expect(Object.keys(DECISIONS).sort()).toEqual(documented);
    });
  });

  for (const [route, decision] of Object.entries(DECISIONS)) {
    it(`${route}: every role × every site scope answers as decided`, async () => {
      const mismatches: string[] = [];
      for (const role of ROLES) {
        for (const scope of SCOPES) {
          const caller = await tokenOf(role, scope);
          const request = await decision.request(caller);
          const response = await h.app.inject({
            ...request,
            headers: { ...request.headers, ...bearer(caller) },
          });
          const got = outcomeOf(response);
          const want = wanted(decision, role, scope);
          if (got !== want) {
            mismatches.push(`${role}/${scope}: ${got}, expected ${want}: ${response.body.slice(0, 200)}`);
          } else if (got === 'ok' && decision.check !== undefined) {
            const problem = decision.check(response, scope);
            if (problem !== undefined) mismatches.push(`${role}/${scope}: ${problem}`);
          }
        }
      }
      expect(mismatches).toEqual([]);
    });
  }
});
