import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness, startHarness } from './support/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h.close());

describe('service endpoints', () => {
  describe('when probed', () => {
    it('answers /healthz and /readyz without a token', async () => {
      expect((await h.app.inject({ url: '/healthz' })).json()).toEqual({ status: 'ok' });
      expect((await h.app.inject({ url: '/readyz' })).json()).toEqual({
        status: 'ready',
        sites: { zurich: 'ready', moscow: 'ready' },
      });
    });
  });

  describe('when /metrics is scraped after an upload', () => {
    it('reports request counts, latencies and what each site stores', async () => {
      const product = await h.token('product');
      const registered = await h.app.inject({
        method: 'POST',
        url: '/v1/installations',
        headers: bearer(product),
        payload: { country: 'CH', product: 'endpoint-12' },
      });
      await h.app.inject({
        method: 'POST',
        url: `/v1/samples?installation=${registered.json().id}`,
        headers: { ...bearer(product), 'content-type': 'application/octet-stream' },
        payload: randomBytes(1234),
      });
      const metrics = (await h.app.inject({ url: '/metrics' })).body;
      expect(metrics).toContain(
        'glasshouse_http_requests_total{method="POST",route="/v1/samples",status="201"} 1',
      );
      expect(metrics).toMatch(
        /glasshouse_http_request_duration_seconds_count\{method="POST",route="\/v1\/samples"\} 1/,
      );
      expect(metrics).toContain('glasshouse_samples_stored{site="zurich"} 1');
      expect(metrics).toContain('glasshouse_sample_bytes_stored{site="zurich"} 1234');
      expect(metrics).toContain('glasshouse_samples_stored{site="moscow"} 0');
    });
  });

  describe('when the API is documented', () => {
    it('serves an OpenAPI 3.1 document with every route and its schemas', async () => {
      const spec = (await h.app.inject({ url: '/openapi.json' })).json();
      expect(spec.openapi).toBe('3.1.0');
      expect(Object.keys(spec.paths)).toEqual(
        expect.arrayContaining([
          '/v1/policy',
          '/v1/policy/resolve',
          '/v1/installations',
          '/v1/samples',
          '/v1/samples/{hash}',
        ]),
      );
      expect(
        spec.paths['/v1/installations'].post.requestBody.content['application/json'].schema.required,
      ).toEqual(['country', 'product']);
      expect(spec.paths['/metrics']).toBeUndefined();
    });

    it('serves browsable docs at /docs', async () => {
      const response = await h.app.inject({ url: '/docs/' });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('text/html');
      expect(response.body).toContain('swagger');
    });
  });
});
