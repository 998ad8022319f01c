import type { FastifyInstance } from 'fastify';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { type DomainMetricSources, registerDomainMetrics } from './domain-metrics.js';
import { RequestMetrics } from './request-metrics.js';

export interface HttpMetrics {
  readonly registry: Registry;
  /**
   * Counts answers sent outside Fastify's lifecycle (the look-up fast path) under the labels
   * Fastify's own answers of that route and status get; the label sets are resolved once.
   */
  recorder(method: string, route: string, status: number): (seconds: number) => void;
}

/**
 * Prometheus metrics on `/metrics`: request counts and latencies by route, and the domain's
 * figures (see domain-metrics.ts and docs/operations.md).
 */
export function registerMetrics(app: FastifyInstance, domain: DomainMetricSources): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new RequestMetrics();
  requests.register(registry);
  registerDomainMetrics(registry, domain);
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
