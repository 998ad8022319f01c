import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../src/control/auth/roles.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { documentedV1Routes } from './support/openapi-routes.js';

let h: Harness;
let installationId: string;
let sha256: string;
let legalRequestId: string;
let fulfilledRequestId: string;
let installationSecret: string;
/** Privacy requests: a completed export of the installation, and officer-filed ones left `received`. */
const privacyIds = { export: '', verify: '', reject: '', extend: '' };
let relocationId: string;
/** A hunt paused, resumed and cancelled in turn by the table's calls, and one already active to stop. */
let huntId: string;
let activeHuntId: string;
/** The analyst token that started them: hunts answer their owner only. */
let huntOwner: string;
/** A token the admin's DELETE /v1/tokens/{id} revokes. */
let revocableTokenId: string;

interface RouteCase {
  readonly method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  /** The OpenAPI path, to check that the table covers every route. */
  readonly path: string;
  readonly url: () => string;
  readonly admits: readonly Role[];
  readonly payload?: () => Buffer | string | Record<string, unknown>;
  readonly contentType?: string;
  /** Also admits `Authorization: Installation ID:SECRET` (the user's own privacy requests). */
  readonly installation?: boolean;
  /** The token an admitted role calls with: the route answers the record's owner only (hunts). */
  readonly owner?: () => string;
}

const ROUTES: readonly RouteCase[] = [
  { method: 'GET', path: '/v1/session', url: () => '/v1/session', admits: ROLES },
  { method: 'GET', path: '/v1/tokens', url: () => '/v1/tokens', admits: ['admin'] },
  {
    method: 'POST',
    path: '/v1/tokens',
    url: () => '/v1/tokens',
    admits: ['admin'],
    payload: () => ({ role: 'analyst', expires: '1d' }),
  },
  {
    method: 'DELETE',
    path: '/v1/tokens/{id}',
    url: () => `/v1/tokens/${revocableTokenId}`,
    admits: ['admin'],
  },
  { method: 'GET', path: '/v1/policy', url: () => '/v1/policy', admits: ROLES },
  { method: 'GET', path: '/v1/policy/resolve', url: () => '/v1/policy/resolve?country=SA', admits: ROLES },
  {
    method: 'POST',
    path: '/v1/policy/versions',
    url: () => '/v1/policy/versions',
    admits: ['admin'],
    payload: () => ({ default: 'moscow', assign: [{ regions: ['EU'], site: 'zurich' }] }),
  },
  {
    method: 'POST',
    path: '/v1/installations',
    url: () => '/v1/installations',
    admits: ['product'],
    payload: () => ({ country: 'DE', product: 'endpoint-12' }),
  },
  {
    method: 'POST',
    path: '/v1/samples',
    url: () => `/v1/samples?installation=${installationId}&filename=a.exe`,
    admits: ['product'],
    payload: () => randomBytes(100),
    contentType: 'application/octet-stream',
  },
  {
    method: 'GET',
    path: '/v1/log/{node}/proof/inclusion',
    url: () => '/v1/log/control/proof/inclusion?index=0&size=1',
    admits: ['auditor'],
  },
  {
    method: 'GET',
    path: '/v1/log/{node}/proof/consistency',
    url: () => '/v1/log/control/proof/consistency?from=1&to=1',
    admits: ['auditor'],
  },
  { method: 'GET', path: '/v1/samples/{hash}', url: () => `/v1/samples/${sha256}`, admits: ['analyst'] },
  { method: 'GET', path: '/v1/samples', url: () => '/v1/samples?limit=5', admits: ['analyst'] },
  {
    method: 'PUT',
    path: '/v1/samples/{hash}/tags/{tag}',
    url: () => `/v1/samples/${sha256}/tags/family:test`,
    admits: ['analyst'],
  },
  {
    method: 'DELETE',
    path: '/v1/samples/{hash}/tags/{tag}',
    url: () => `/v1/samples/${sha256}/tags/family:test`,
    admits: ['analyst'],
  },
  {
    method: 'POST',
    path: '/v1/samples/{hash}/comments',
    url: () => `/v1/samples/${sha256}/comments`,
    admits: ['analyst'],
    payload: () => ({ text: 'unpacks to a loader' }),
  },
  {
    method: 'GET',
    path: '/v1/samples/{hash}/comments',
    url: () => `/v1/samples/${sha256}/comments`,
    admits: ['analyst'],
  },
  {
    method: 'GET',
    path: '/v1/samples/{hash}/similar',
    url: () => `/v1/samples/${sha256}/similar?maxDistance=50`,
    admits: ['analyst'],
  },
  {
    method: 'GET',
    path: '/v1/samples/{hash}/download',
    url: () => `/v1/samples/${sha256}/download`,
    admits: ['analyst'],
  },
  {
    method: 'GET',
    path: '/v1/lookup/{hash}',
    url: () => `/v1/lookup/${sha256}`,
    admits: ['product'],
  },
  {
    method: 'POST',
    path: '/v1/lookup',
    url: () => '/v1/lookup',
    admits: ['product'],
    payload: () => ({ hashes: [sha256] }),
  },
  {
    method: 'GET',
    path: '/v1/verdicts/{hash}',
    url: () => `/v1/verdicts/${sha256}`,
    admits: ['analyst'],
  },
  {
    method: 'PUT',
    path: '/v1/verdicts/{hash}',
    url: () => `/v1/verdicts/${randomBytes(32).toString('hex')}`,
    admits: ['analyst'],
    payload: () => ({ verdict: 'malicious', threat: 'Test' }),
  },
  {
    method: 'POST',
    path: '/v1/verdicts/import',
    url: () => '/v1/verdicts/import',
    admits: ['analyst'],
    payload: () => `${JSON.stringify({ hash: randomBytes(16).toString('hex'), verdict: 'clean' })}\n`,
    contentType: 'application/x-ndjson',
  },
  {
    method: 'POST',
    path: '/v1/events',
    url: () => '/v1/events',
    admits: ['product'],
    payload: () =>
      `${JSON.stringify({ ts: new Date().toISOString(), installation: installationId, type: 'detection' })}\n`,
    contentType: 'application/x-ndjson',
  },
  {
    method: 'GET',
    path: '/v1/stats/detections',
    url: () => '/v1/stats/detections?groupBy=day,country',
    admits: ['analyst'],
  },
  {
    method: 'GET',
    path: '/v1/stats/top-threats',
    url: () => '/v1/stats/top-threats?country=DE',
    admits: ['analyst'],
  },
  {
    method: 'POST',
    path: '/v1/legal-requests',
    url: () => '/v1/legal-requests',
    admits: ['legal'],
    payload: () => legalRequestBody(),
  },
  { method: 'GET', path: '/v1/legal-requests', url: () => '/v1/legal-requests', admits: ['legal'] },
  {
    method: 'GET',
    path: '/v1/legal-requests/{id}',
    url: () => `/v1/legal-requests/${legalRequestId}`,
    admits: ['legal'],
  },
  {
    method: 'POST',
    path: '/v1/legal-requests/{id}/actions',
    url: () => `/v1/legal-requests/${legalRequestId}/actions`,
    admits: ['legal'],
    payload: () => ({ action: 'start_verification' }),
  },
  {
    method: 'GET',
    path: '/v1/legal-requests/{id}/package',
    url: () => `/v1/legal-requests/${fulfilledRequestId}/package`,
    admits: ['legal'],
  },
  {
    method: 'POST',
    path: '/v1/legal-requests/import',
    url: () => '/v1/legal-requests/import',
    admits: ['legal'],
    payload: () =>
      `received_at,requester_country,authority_kind,category,outcome,reason,closed_at\n2021-07-05,DE,court,user_data,fulfilled,,${randomDate()}\n`,
    contentType: 'text/csv',
  },
  {
    method: 'GET',
    path: '/v1/reports/{period}',
    url: () => '/v1/reports/2021-H2',
    admits: ['admin', 'auditor', 'legal', 'privacy'],
  },
  {
    method: 'GET',
    path: '/v1/reports',
    url: () => '/v1/reports',
    admits: ['admin', 'auditor', 'legal', 'privacy'],
  },
  {
    method: 'PUT',
    path: '/v1/reports/{period}/publication',
    url: () => '/v1/reports/2021-H2/publication',
    admits: ['admin'],
  },
  {
    method: 'DELETE',
    path: '/v1/reports/{period}/publication',
    url: () => '/v1/reports/2020-H1/publication',
    admits: ['admin'],
  },
  {
    method: 'POST',
    path: '/v1/privacy-requests',
    url: () => '/v1/privacy-requests',
    admits: ['privacy'],
    installation: true,
    payload: () => ({ type: 'inventory', installation: installationId, verificationNote: 'checked' }),
  },
  { method: 'GET', path: '/v1/privacy-requests', url: () => '/v1/privacy-requests', admits: ['privacy'] },
  {
    method: 'GET',
    path: '/v1/privacy-requests/{id}',
    url: () => `/v1/privacy-requests/${privacyIds.export}`,
    admits: ['privacy'],
    installation: true,
  },
  {
    method: 'GET',
    path: '/v1/privacy-requests/{id}/export',
    url: () => `/v1/privacy-requests/${privacyIds.export}/export`,
    admits: ['privacy'],
    installation: true,
  },
  {
    method: 'GET',
    path: '/v1/privacy-requests/{id}/receipt',
    url: () => `/v1/privacy-requests/${privacyIds.export}/receipt`,
    admits: ['privacy'],
  },
  {
    method: 'POST',
    path: '/v1/privacy-requests/{id}/verify',
    url: () => `/v1/privacy-requests/${privacyIds.verify}/verify`,
    admits: ['privacy'],
    payload: () => ({ note: 'identity confirmed' }),
  },
  {
    method: 'POST',
    path: '/v1/privacy-requests/{id}/reject',
    url: () => `/v1/privacy-requests/${privacyIds.reject}/reject`,
    admits: ['privacy'],
    payload: () => ({ reason: 'insufficient_verification', note: 'no answer' }),
  },
  {
    method: 'POST',
    path: '/v1/privacy-requests/{id}/extend',
    url: () => `/v1/privacy-requests/${privacyIds.extend}/extend`,
    admits: ['privacy'],
    payload: () => ({ days: 10, reason: 'complex request' }),
  },
  {
    method: 'POST',
    path: '/v1/privacy-requests/import',
    url: () => '/v1/privacy-requests/import',
    admits: ['privacy'],
    payload: () => 'received_at,type,outcome,closed_at\n2021-01-04,export,completed,2021-01-09\n',
    contentType: 'text/csv',
  },
  {
    method: 'POST',
    path: '/v1/relocations',
    url: () => '/v1/relocations',
    admits: ['admin'],
    payload: () => ({ dryRun: true }),
  },
  { method: 'GET', path: '/v1/relocations', url: () => '/v1/relocations', admits: ['admin'] },
  {
    method: 'GET',
    path: '/v1/relocations/{id}',
    url: () => `/v1/relocations/${relocationId}`,
    admits: ['admin'],
  },
  // In this order, the admin's calls pause, resume and cancel the slow relocation of beforeAll.
  ...(['pause', 'resume', 'cancel'] as const).map((action) => ({
    method: 'POST' as const,
    path: `/v1/relocations/{id}/${action}`,
    url: () => `/v1/relocations/${relocationId}/${action}`,
    admits: ['admin'] as const,
  })),
  {
    method: 'POST',
    path: '/v1/hunts',
    url: () => '/v1/hunts',
    admits: ['analyst'],
    payload: () => ({ rules: 'rule any_file { condition: filesize > 0 }' }),
  },
  { method: 'GET', path: '/v1/hunts', url: () => '/v1/hunts', admits: ['analyst'] },
  {
    method: 'GET',
    path: '/v1/hunts/{id}',
    url: () => `/v1/hunts/${huntId}`,
    admits: ['analyst'],
    owner: () => huntOwner,
  },
  {
    method: 'GET',
    path: '/v1/hunts/{id}/matches',
    url: () => `/v1/hunts/${huntId}/matches`,
    admits: ['analyst'],
    owner: () => huntOwner,
  },
  // In this order, the owner's calls pause, resume and cancel the hunt of beforeAll.
  ...(['pause', 'resume', 'cancel'] as const).map((action) => ({
    method: 'POST' as const,
    path: `/v1/hunts/{id}/${action}`,
    url: () => `/v1/hunts/${huntId}/${action}`,
    admits: ['analyst'] as const,
    owner: () => huntOwner,
  })),
  {
    method: 'POST',
    path: '/v1/hunts/{id}/stop',
    url: () => `/v1/hunts/${activeHuntId}/stop`,
    admits: ['analyst'],
    owner: () => huntOwner,
  },
  {
    method: 'GET',
    path: '/v1/residency/audit',
    url: () => '/v1/residency/audit',
    admits: ['admin', 'auditor'],
  },
  {
    method: 'GET',
    path: '/v1/evidence',
    url: () => '/v1/evidence?from=2026-01-01&to=2026-12-31',
    admits: ['admin', 'auditor'],
  },
];

function legalRequestBody(scope: Record<string, unknown> = {}) {
  return {
    receivedAt: '2021-08-03',
    requesterCountry: 'DE',
    authorityKind: 'law_enforcement',
    authority: 'BKA',
    legalBasis: 'StPO',
    reference: 'AZ 1',
    category: 'technical_expertise',
    scope: { installations: [], hashes: [], threats: [], ...scope },
  };
}

/** A different file each time: the same history file is not imported twice. */
function randomDate(): string {
  return `2021-${String(8 + (randomBytes(1)[0]! % 4)).padStart(2, '0')}-${String(10 + (randomBytes(1)[0]! % 18))}`;
}

/** One request just received, one fulfilled with a package, by two legal officers. */
async function prepareLegalRequests(): Promise<void> {
  const officers = [bearer(await h.token('legal')), bearer(await h.token('legal'))] as const;
  const create = async (body: Record<string, unknown>) =>
    (
      await h.app.inject({ method: 'POST', url: '/v1/legal-requests', headers: officers[0], payload: body })
    ).json().id as string;
  const act = async (id: string, body: Record<string, unknown>, officer = 0) => {
    const response = await h.app.inject({
      method: 'POST',
      url: `/v1/legal-requests/${id}/actions`,
      headers: officers[officer as 0 | 1],
      payload: body,
    });
    if (response.statusCode !== 200) throw new Error(response.body);
  };
  legalRequestId = await create(legalRequestBody());
  await h.app.inject({
    method: 'PUT',
    url: `/v1/verdicts/${sha256}`,
    headers: bearer(await h.token('analyst')),
    payload: { verdict: 'malicious', threat: 'Test.Legal' },
  });
  fulfilledRequestId = await create(legalRequestBody({ hashes: [sha256] }));
  await act(fulfilledRequestId, { action: 'start_verification' });
  await act(fulfilledRequestId, { action: 'propose_verification', valid: true, jurisdictions: ['DE'] });
  await act(fulfilledRequestId, { action: 'confirm_verification' }, 1);
  await act(fulfilledRequestId, { action: 'fulfil' });
}

beforeAll(async () => {
  h = await startHarness();
  const product = await h.token('product');
  const registered = await h.app.inject({
    method: 'POST',
    url: '/v1/installations',
    headers: bearer(product),
    payload: { country: 'DE', product: 'endpoint-12' },
  });
  installationId = registered.json().id;
  installationSecret = registered.json().secret;
  const stored = await h.app.inject({
    method: 'POST',
    url: `/v1/samples?installation=${installationId}`,
    headers: { ...bearer(product), 'content-type': 'application/octet-stream' },
    payload: randomBytes(100),
  });
  sha256 = stored.json().sha256;
  const exported = await h.app.inject({
    method: 'POST',
    url: '/v1/privacy-requests',
    headers: installationAuth(),
    payload: { type: 'export' },
  });
  privacyIds.export = exported.json().id;
  const privacy = bearer(await h.token('privacy'));
  for (const key of ['verify', 'reject', 'extend'] as const) {
    const filed = await h.app.inject({
      method: 'POST',
      url: '/v1/privacy-requests',
      headers: privacy,
      payload: { type: 'inventory', installation: installationId },
    });
    privacyIds[key] = filed.json().id;
  }
  await h.glasshouse.privacyWorker.idle();
  await prepareLegalRequests();
  relocationId = await startSlowRelocation(product);
  await startHunts();
  revocableTokenId = (await h.glasshouse.tokens.create({ role: 'analyst' }, { role: 'admin', token: 'test' }))
    .id;
  // The token entries above are in the control log; publish them so proofs have a tree.
  await h.glasshouse.logs.get('control')!.publish();
});
afterAll(() => h.close());

function installationAuth(secret = installationSecret): Record<string, string> {
  return { authorization: `Installation ${installationId}:${secret}` };
}

/** A relocation of one installation at 1 kB/s: still running when the admin pauses it. */
async function startSlowRelocation(product: string): Promise<string> {
  const admin = bearer(await h.token('admin'));
  const moving = await h.app.inject({
    method: 'POST',
    url: '/v1/installations',
    headers: bearer(product),
    payload: { country: 'AR', product: 'endpoint-12' },
  });
  await h.app.inject({
    method: 'POST',
    url: `/v1/samples?installation=${moving.json().id}`,
    headers: { ...bearer(product), 'content-type': 'application/octet-stream' },
    payload: randomBytes(200_000),
  });
  await h.app.inject({
    method: 'POST',
    url: '/v1/policy/versions',
    headers: admin,
    payload: {
      default: 'moscow',
      assign: [
        { regions: ['EU', 'LATAM'], site: 'zurich' },
        { countries: ['AR'], site: 'moscow' },
      ],
    },
  });
  const started = await h.app.inject({
    method: 'POST',
    url: '/v1/relocations',
    headers: admin,
    payload: { rateLimitMbps: 0.001 },
  });
  return started.json().id;
}

/** Two hunts of one analyst: one the table pauses, resumes and cancels; one active, to stop. */
async function startHunts(): Promise<void> {
  huntOwner = await h.token('analyst');
  const start = async () => {
    const started = await h.app.inject({
      method: 'POST',
      url: '/v1/hunts',
      headers: bearer(huntOwner),
      payload: { rules: 'rule any_file { condition: filesize > 0 }' },
    });
    return started.json().id as string;
  };
  huntId = await start();
  activeHuntId = await start();
  for (let tries = 0; tries < 500; tries += 1) {
    const hunt = await h.app.inject({ url: `/v1/hunts/${activeHuntId}`, headers: bearer(huntOwner) });
    if (hunt.json().state === 'active') return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error('the hunt to stop never became active');
}

function call(route: RouteCase, headers: Record<string, string>) {
  const payload = route.payload?.();
  return h.app.inject({
    method: route.method,
    url: route.url(),
    headers: {
      ...headers,
      ...(route.contentType === undefined ? {} : { 'content-type': route.contentType }),
    },
    ...(payload === undefined ? {} : { payload }),
  });
}

describe('authorization', () => {
  describe('when the route table is compared with the API', () => {
    it('covers every /v1 route of the OpenAPI document', async () => {
      const documented = await documentedV1Routes(h.app);
      expect(ROUTES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(documented);
    });
  });

  for (const route of ROUTES) {
    describe(`${route.method} ${route.path}`, () => {
      it('answers 401 without a token', async () => {
        const response = await call(route, {});
        expect(response.statusCode).toBe(401);
        expect(response.json().code).toBe('UNAUTHENTICATED');
      });

      it(`${route.installation === true ? 'admits' : 'refuses with 401'} an installation credential`, async () => {
        const response = await call(route, installationAuth());
        if (route.installation === true) {
          expect(response.statusCode, response.body).toBeLessThan(300);
        } else {
          expect(response.statusCode).toBe(401);
          expect(response.json().code).toBe('UNAUTHENTICATED');
        }
      });

      if (route.installation === true) {
        it('refuses a wrong installation secret with 401', async () => {
          const response = await call(route, installationAuth('wrong'));
          expect(response.statusCode).toBe(401);
          expect(response.json().code).toBe('UNAUTHENTICATED');
        });
      }

      for (const role of ROLES) {
        const admitted = route.admits.includes(role);
        it(`${admitted ? 'admits' : 'refuses with 403'} the ${role} role`, async () => {
          const token = admitted && route.owner !== undefined ? route.owner() : await h.token(role);
          const response = await call(route, bearer(token));
          if (admitted) {
            expect(response.statusCode, response.body).toBeLessThan(300);
          } else {
            expect(response.statusCode).toBe(403);
            expect(response.headers['content-type']).toContain('application/problem+json');
            expect(response.json().code).toBe('FORBIDDEN_ROLE');
          }
        });
      }
    });
  }
});
