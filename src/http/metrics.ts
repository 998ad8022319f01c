import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { SiteClient } from '../ports/site-client.js';
import { RequestMetrics } from './request-metrics.js';
import { SITE_HEALTH_TIMEOUT_MS, settleWithin } from './site-states.js';

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
 * site stores (read from the sites at scrape time, so they are right after a restart; a site
 * that does not answer is left out).
 */
export function registerMetrics(app: FastifyInstance, sites: ReadonlyMap<string, SiteClient>): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new RequestMetrics();
  requests.register(registry);
  const perSite = (name: string, help: string, read: (usage: { samples: number; bytes: number }) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['site'],
      registers: [registry],
      async collect() {
        // A site that does not answer in time is left out of this scrape (no stale value), not
        // the scrape failed.
        this.reset();
        for (const site of sites.values()) {
          const usage = await settleWithin(site.usage(), SITE_HEALTH_TIMEOUT_MS);
          if (usage !== undefined) this.set({ site: site.name }, read(usage));
        }
      },
    });
  perSite('glasshouse_samples_stored', 'Distinct samples stored, per site', (u) => u.samples);
  perSite(
    'glasshouse_sample_bytes_stored',
    'Plaintext bytes of the samples stored, per site',
    (u) => u.bytes,
  );
  app.addHook('onResponse', (request, reply, done) => {
    requests.record(
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
  return { registry, recorder: (method, route, status) => requests.recorder(method, route, status) };
}
