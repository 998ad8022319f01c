import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../src/auth/roles.js';
import { bearer, type Harness, startHarness } from './support/harness.js';

let h: Harness;
let installationId: string;
let sha256: string;
let relocationId: string;

interface RouteCase {
  readonly method: 'GET' | 'POST' | 'PUT';
  /** The OpenAPI path, to check that the table covers every route. */
  readonly path: string;
  readonly url: () => string;
  readonly admits: readonly Role[];
  readonly payload?: () => Buffer | string | Record<string, unknown>;
  readonly contentType?: string;
}

const ROUTES: readonly RouteCase[] = [
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
    method: 'GET',
    path: '/v1/residency/audit',
    url: () => '/v1/residency/audit',
    admits: ['admin', 'auditor'],
  },
];

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
  const stored = await h.app.inject({
    method: 'POST',
    url: `/v1/samples?installation=${installationId}`,
    headers: { ...bearer(product), 'content-type': 'application/octet-stream' },
    payload: randomBytes(100),
  });
  sha256 = stored.json().sha256;
  relocationId = await startSlowRelocation(product);
  // The token entries above are in the control log; publish them so proofs have a tree.
  await h.glasshouse.logs.get('control')!.publish();
});
afterAll(() => h.close());

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
      const spec = (await h.app.inject({ url: '/openapi.json' })).json<{
        paths: Record<string, Record<string, unknown>>;
      }>();
      const documented = Object.entries(spec.paths)
        .filter(([path]) => path.startsWith('/v1/'))
        .flatMap(([path, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${path}`))
        .sort();
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

      for (const role of ROLES) {
        const admitted = route.admits.includes(role);
        it(`${admitted ? 'admits' : 'refuses with 403'} the ${role} role`, async () => {
          const response = await call(route, bearer(await h.token(role)));
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
