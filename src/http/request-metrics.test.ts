import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RequestMetrics } from './request-metrics.js';

/** The same observations through prom-client's own Counter and Histogram. */
function throughPromClient(observations: readonly Observation[]): Promise<string> {
  const registry = new Registry();
  const requests = new Counter({
    name: 'glasshouse_http_requests_total',
    help: 'HTTP requests by method, route and status',
    labelNames: ['method', 'route', 'status'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'glasshouse_http_request_duration_seconds',
    help: 'HTTP request latency by method and route',
    labelNames: ['method', 'route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [registry],
  });
  for (const { method, route, status, seconds } of observations) {
    requests.inc({ method, route, status });
    latency.observe({ method, route }, seconds);
  }
  return registry.metrics();
}

interface Observation {
  readonly method: string;
  readonly route: string;
  readonly status: number;
  readonly seconds: number;
}

const observation = fc.record({
  method: fc.constantFrom('GET', 'POST', 'PUT'),
  route: fc.constantFrom('/v1/lookup/:hash', '/v1/samples', 'unmatched'),
  status: fc.constantFrom(200, 201, 400, 404),
  // Bucket bounds themselves included: `le` is inclusive.
  seconds: fc.oneof(
    fc.constantFrom(0, 0.001, 0.0025, 0.01, 10, 11),
    fc.double({ min: 0, max: 20, noNaN: true }),
  ),
});

describe('RequestMetrics', () => {
  it('exposes exactly what prom-client’s Counter and Histogram would for the same requests', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(observation, { maxLength: 60 }),
        fc.boolean(),
        async (observations, viaRecorder) => {
          const metrics = new RequestMetrics();
          const registry = new Registry();
          metrics.register(registry);
          for (const { method, route, status, seconds } of observations) {
            if (viaRecorder) metrics.recorder(method, route, status)(seconds);
            else metrics.record(method, route, status, seconds);
          }
          expect(await registry.metrics()).toBe(await throughPromClient(observations));
        },
      ),
      { numRuns: 200 },
    );
  });
});
