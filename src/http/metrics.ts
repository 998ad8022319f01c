import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import type { SiteClient } from '../site/site-client.js';

export interface HttpMetrics {
  readonly registry: Registry;
  /**
   * Counts answers sent outside Fastify's lifecycle (the look-up fast path) under the labels
   * Fastify's own answers of that route and status get; the label sets are resolved once.
   */
  recorder(method: string, route: string, status: number): (seconds: number) => void;
}

/**
 * Prometheus metrics on `/metrics`: request counts and latencies by route, and what each
 * site stores (read from the sites at scrape time, so they are right after a restart).
 */
export function registerMetrics(app: FastifyInstance, sites: ReadonlyMap<string, SiteClient>): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
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
  const perSite = (name: string, help: string, read: (usage: { samples: number; bytes: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['site'],
      registers: [registry],
      async collect() {
        for (const site of sites.values()) this.set({ site: site.name }, read(await site.usage()));
      },
    });
  perSite('glasshouse_samples_stored', 'Distinct samples stored, per site', (u) => u.samples);
  perSite(
    'glasshouse_sample_bytes_stored',
    'Plaintext bytes of the samples stored, per site',
    (u) => u.bytes,
  );
  // Label sets resolved once per method, route and status: prom-client's per-call label
  // hashing and a promise per request were a tenth of a hash look-up's cost.
  const counted = new Map<string, Counter.Internal>();
  const timed = new Map<string, Histogram.Internal<string>>();
  const record = (method: string, route: string, status: number, seconds: number) => {
    const routeKey = `${method} ${route}`;
    const statusKey = `${routeKey} ${status}`;
    let counter = counted.get(statusKey);
    if (counter === undefined) {
      counter = requests.labels({ method, route, status });
      counted.set(statusKey, counter);
    }
    let histogram = timed.get(routeKey);
    if (histogram === undefined) {
      histogram = latency.labels({ method, route });
      timed.set(routeKey, histogram);
    }
    counter.inc();
    histogram.observe(seconds);
  };
  app.addHook('onResponse', (request, reply, done) => {
    record(
      request.method,
      request.routeOptions.url ?? 'unmatched',
      reply.statusCode,
      reply.elapsedTime / 1000,
    );
    done();
  });
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    reply.type(registry.contentType);
    return registry.metrics();
  });
  const recorder = (method: string, route: string, status: number) => {
    const counter = requests.labels({ method, route, status });
    const histogram = latency.labels({ method, route });
    return (seconds: number) => {
      counter.inc();
      histogram.observe(seconds);
    };
  };
  return { registry, recorder };
}
