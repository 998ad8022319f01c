import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness, startHarness } from './support/harness.js';

let h: Harness;
let tokens: Record<string, string>;
let installationId: string;

beforeAll(async () => {
  h = await startHarness({ maxSampleBytes: 64 * 1024 });
  tokens = {
    product: await h.token('product'),
    analyst: await h.token('analyst'),
    admin: await h.token('admin'),
    auditor: await h.token('auditor'),
  };
  const registered = await h.app.inject({
    method: 'POST',
    url: '/v1/installations',
    headers: bearer(tokens.product!),
    payload: { country: 'DE', product: 'fuzz' },
  });
  installationId = registered.json().id;
});
afterAll(() => h.close());

const anyJson = fc.jsonValue({ maxDepth: 3 });
const pathSegment = fc.string({ maxLength: 140 }).map(encodeURIComponent);
const queryValue = fc
  .oneof(fc.string({ maxLength: 40 }), fc.integer().map(String), fc.constant(''))
  .map(encodeURIComponent);

async function expectNoServerError(request: InjectOptions) {
  const response = await h.app.inject(request);
  expect(response.statusCode, `${JSON.stringify(request)} → ${response.body.slice(0, 300)}`).toBeLessThan(
    500,
  );
  if (response.statusCode >= 400) {
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json()).toMatchObject({ status: response.statusCode, code: expect.any(String) });
  }
}

describe('the HTTP API', () => {
  describe('when given arbitrary input on every route', () => {
    it('never answers 5xx, and every 4xx is a problem document', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.record({
            route: fc.constantFrom(
              'policy',
              'resolve',
              'versions',
              'installations',
              'samples',
              'sample',
              'download',
              'inclusion',
              'consistency',
              'tile',
              'report',
            ),
            segment: pathSegment,
            a: queryValue,
            b: queryValue,
            body: anyJson,
            bytes: fc.uint8Array({ maxLength: 2048 }),
            role: fc.constantFrom('product', 'analyst', 'admin', 'auditor'),
          }),
          async ({ route, segment, a, b, body, bytes, role }) => {
            const headers = bearer(tokens[role]!);
            switch (route) {
              case 'policy':
                return expectNoServerError({ url: `/v1/policy?x=${a}`, headers });
              case 'resolve':
                return expectNoServerError({ url: `/v1/policy/resolve?country=${a}&at=${b}`, headers });
              case 'versions':
                return expectNoServerError({
                  method: 'POST',
                  url: '/v1/policy/versions',
                  headers,
                  payload: body as object,
                });
              case 'installations':
                return expectNoServerError({
                  method: 'POST',
                  url: '/v1/installations',
                  headers,
                  payload: body as object,
                });
              case 'samples':
                return expectNoServerError({
                  method: 'POST',
                  url: `/v1/samples?installation=${segment.length % 2 === 0 ? installationId : a}&filename=${b}`,
                  headers: { ...headers, 'content-type': 'application/octet-stream' },
                  payload: Buffer.from(bytes),
                });
              case 'sample':
                return expectNoServerError({ url: `/v1/samples/${segment}`, headers });
              case 'download':
                return expectNoServerError({ url: `/v1/samples/${segment}/download?site=${a}`, headers });
              case 'inclusion':
                return expectNoServerError({
                  url: `/v1/log/${segment}/proof/inclusion?index=${a}&size=${b}`,
                  headers,
                });
              case 'consistency':
                return expectNoServerError({
                  url: `/v1/log/control/proof/consistency?from=${a}&to=${b}`,
                  headers,
                });
              case 'tile':
                return expectNoServerError({ url: `/log/control/tile/${segment}/${a}` });
              case 'report':
                return expectNoServerError({
                  url: `/v1/reports/${segment.length % 2 === 0 ? '2021-H2' : segment}?format=${a}&table=${b}`,
                  headers,
                });
            }
          },
        ),
        { numRuns: 400 },
      );
    });
  });
});
