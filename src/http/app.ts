import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { tokenRoutes } from '../control/auth/token-routes.js';
import { huntRoutes } from '../control/hunts/index.js';
import { legalRoutes } from '../control/legal/legal-routes.js';
import {
  BATCH_ROUTE,
  type FastPath,
  LOOKUP_ROUTE,
  lookupFastPath,
} from '../control/lookup/lookup-fast-path.js';
import { LOOKUP_ROLES, lookupRoutes } from '../control/lookup/lookup-routes.js';
import { verdictRoutes } from '../control/lookup/verdict-routes.js';
import { privacyRoutes } from '../control/privacy/index.js';
import { relocationRoutes } from '../control/relocation/relocation-routes.js';
import { publicReportRoutes } from '../control/reports/public-report-routes.js';
import { reportRoutes } from '../control/reports/report-routes.js';
import { cachedPublicSite } from '../control/reports/report-site.js';
import { installationRoutes } from '../control/residency/installation-routes.js';
import { policyRoutes } from '../control/residency/policy-routes.js';
import { catalogueRoutes } from '../control/samples/catalogue-routes.js';
import { sampleRoutes } from '../control/samples/sample-routes.js';
import { statsRoutes } from '../control/telemetry/stats-routes.js';
import { proofRoutes, publicLogRoutes } from '../ledger/log-routes.js';
import { nodeSigner } from '../ledger/open-node-log.js';
import type { Glasshouse } from '../main.js';
import { evidenceRoutes } from '../operations/evidence/evidence-routes.js';
import { bearerToken, registerAuthentication } from './authenticate.js';
import { TrustedProxies } from './client-address.js';
import { answerClientError, answerFrameworkError } from './client-errors.js';
import { consoleRoutes, readReportVerifier } from './console-routes.js';
import { registerInputChecks } from './input-checks.js';
import { registerLimits } from './limits.js';
import { registerMetrics } from './metrics.js';
import { OPENAPI_OPTIONS } from './openapi.js';
import { handleError, problem, sendProblem } from './problem.js';
import { ProblemSchema } from './schemas.js';
import { createLimitedServer } from './server-limits.js';
import { siteStates } from './site-states.js';
import { buildStrictBodyValidator } from './validation.js';

export interface AppOptions {
  readonly glasshouse: Glasshouse;
  readonly logLevel?: string;
  /** False while shutting down, so load balancers stop sending traffic. */
  readonly isReady?: () => boolean;
  /** How long `/metrics` reuses a figure and waits for a site (tests shorten them). */
  readonly metrics?: { readonly ttlMs?: number; readonly siteTimeoutMs?: number };
}

/**
 * Builds the HTTP API without listening, so tests drive it with `inject` and `main` decides
 * where it listens.
 *
 * @example
 * const app = await buildApp({ glasshouse });
 * await app.listen({ host: '127.0.0.1', port: 8080 });
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { glasshouse } = options;
  const { server: serverConfig, rateLimits } = glasshouse.config;
  const trusted = new TrustedProxies(serverConfig.trustProxy);
  let hotRouteLogger: FastifyBaseLogger | undefined;
  // Set once the routes exist; `inject` (tests) never reaches it, only a listening server.
  let fastPath: FastPath | undefined;
  const app = Fastify({
    serverFactory: (handler, factoryOptions) => {
      const serverOptions = factoryOptions as { connectionTimeout?: number };
      const server = createLimitedServer(serverConfig, trusted, (request, response) => {
        if (fastPath === undefined || !fastPath(request, response)) handler(request, response);
      });
      // What Fastify does to the servers it creates itself; our timeouts replace its others.
      server.setTimeout(serverOptions.connectionTimeout ?? 0);
      return server;
    },
    logger: {
      level: options.logLevel ?? 'info',
      // Query strings may carry file names (personal data): log paths only.
      serializers: {
        req: (req: { method: string; url: string; id: string }) => ({
          id: req.id,
          method: req.method,
          path: req.url.split('?')[0],
        }),
      },
    },
    // The hottest routes (look-ups) log at `warn`: they share one child logger instead of a new
    // one per request (pino's child with a level was a tenth of a look-up). Their warnings
    // carry no request id; every other route's lines do.
    childLoggerFactory: (logger, bindings, opts) => {
      if (opts.level !== 'warn') return logger.child(bindings, opts);
      hotRouteLogger ??= logger.child({}, { level: 'warn' });
      return hotRouteLogger;
    },
    // The client address (`request.ip`) comes from X-Forwarded-For only on a connection from
    // a configured proxy; with none configured, from the socket alone.
    trustProxy: trusted.entries.length === 0 ? false : [...trusted.entries],
    // A SHA-512 in hex is 128 characters, past Fastify's default of 100.
    routerOptions: { maxParamLength: 256 },
    // Input validation and error shaping (see validation.ts, client-errors.ts).
    schemaController: { compilersFactory: { buildValidator: buildStrictBodyValidator } },
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Domain events go to the same JSON log as the requests (unless the caller gave a logger).
  glasshouse.events.attach(app.log);
  app.addSchema(ProblemSchema);
  await app.register(swagger, OPENAPI_OPTIONS);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.setErrorHandler(handleError);
  registerInputChecks(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    const allowed = allowedMethods(app, path);
    if (allowed.length === 0) {
      return sendProblem(reply, problem(404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${path}`));
    }
    reply.header('allow', allowed.join(', '));
    return sendProblem(
      reply,
      problem(
        405,
        'METHOD_NOT_ALLOWED',
        `${path} does not take ${request.method}; it takes ${allowed.join(', ')}`,
      ),
    );
  });
  // A query parameter a route does not take is a mistake to report (`offset` for `cursor`),
  // not one to ignore: every declared query string is closed.
  app.addHook('onRoute', (route) => {
    const querystring = route.schema?.querystring as Record<string, unknown> | undefined;
    if (route.schema !== undefined && querystring !== undefined && !('additionalProperties' in querystring)) {
      route.schema = { ...route.schema, querystring: { ...querystring, additionalProperties: false } };
    }
  });
  // Before authentication: an address refused for failed authentications is refused first.
  const limits = await registerLimits(app, {
    rateLimits,
    trusted,
    bodyLimits: {
      'POST /v1/events': glasshouse.config.stats.maxBatchBytes,
      'POST /v1/verdicts/import': glasshouse.config.lookup.maxImportBytes,
    },
    unmetered: [`GET ${LOOKUP_ROUTE}`, `POST ${BATCH_ROUTE}`],
  });
  registerAuthentication(app, glasshouse.tokens, {
    installations: glasshouse.registry,
    sites: [...glasshouse.siteClients.keys()],
  });
  const metrics = registerMetrics(app, {
    logs: glasshouse.logs,
    lastBackups: () => glasshouse.lastBackups(),
    now: () => glasshouse.now().getTime(),
    sites: glasshouse.siteClients,
    stats: glasshouse.stats,
    relocations: glasshouse.relocations,
    privacy: glasshouse.privacy,
    legal: glasshouse.legal,
    verdicts: glasshouse.verdicts,
    ...options.metrics,
  });
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });

  const isReady = options.isReady ?? (() => true);
  app.get('/healthz', { schema: { hide: true } }, async () => ({ status: 'ok' }));
  app.get('/readyz', { schema: { hide: true } }, async (_request, reply) => {
    if (!isReady()) return sendProblem(reply, problem(503, 'NOT_READY', 'shutting down'));
    // Ready while the control plane is: a site that does not answer is listed, and the
    // routes that need it answer 503 SITE_UNAVAILABLE, but every other route still serves.
    return { status: 'ready', sites: await siteStates(glasshouse.siteClients) };
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  await app.register(consoleRoutes);
  await app.register(publicLogRoutes, { logs: glasshouse.publishedLogs });
  const controlKey = nodeSigner(glasshouse.config, 'control').verifierKey;
  await app.register(publicReportRoutes, {
    site: cachedPublicSite({
      reports: glasshouse.reports,
      publications: glasshouse.reportPublications,
      logSize: () => glasshouse.logs.get('control')!.size(),
      key: controlKey,
      now: Date.now,
    }),
    verifierScript: readReportVerifier,
  });
  await app.register(proofRoutes, { prefix: '/v1', logs: glasshouse.publishedLogs });
  await app.register(tokenRoutes, { prefix: '/v1', tokens: glasshouse.tokens });
  await app.register(policyRoutes, { prefix: '/v1', policy: glasshouse.policy });
  await app.register(installationRoutes, { prefix: '/v1', registry: glasshouse.registry });
  await app.register(sampleRoutes, {
    prefix: '/v1',
    samples: glasshouse.samples,
    catalogue: glasshouse.catalogue,
    maxSampleBytes: glasshouse.config.limits.maxSampleBytes,
  });
  await app.register(catalogueRoutes, { prefix: '/v1', catalogue: glasshouse.catalogue });
  await app.register(lookupRoutes, {
    prefix: '/v1',
    verdicts: glasshouse.verdicts,
    maxBatch: glasshouse.config.lookup.maxBatch,
  });
  const countBatch = {
    200: metrics.recorder('POST', BATCH_ROUTE, 200),
    413: metrics.recorder('POST', BATCH_ROUTE, 413),
  };
  fastPath = lookupFastPath({
    index: () => glasshouse.verdicts.index,
    roles: LOOKUP_ROLES,
    maxBatch: glasshouse.config.lookup.maxBatch,
    cachedRoleOf: (authorization) => glasshouse.tokens.authenticateCached(bearerToken(authorization))?.role,
    countAnswer: metrics.recorder('GET', LOOKUP_ROUTE, 200),
    countBatch: (status, seconds) => countBatch[status](seconds),
    isClosing: () => closing,
    admits: limits.admits,
  });
  await app.register(verdictRoutes, { prefix: '/v1', verdicts: glasshouse.verdicts });
  await app.register(statsRoutes, {
    prefix: '/v1',
    stats: glasshouse.stats,
    maxBatchBytes: glasshouse.config.stats.maxBatchBytes,
    minGroupSize: glasshouse.config.stats.minGroupSize,
  });
  await app.register(legalRoutes, { prefix: '/v1', desk: glasshouse.legal });
  await app.register(reportRoutes, {
    prefix: '/v1',
    reports: glasshouse.reports,
    publications: glasshouse.reportPublications,
    verifierKey: controlKey,
  });
  await app.register(privacyRoutes, { prefix: '/v1', desk: glasshouse.privacy });
  await app.register(relocationRoutes, {
    prefix: '/v1',
    relocations: glasshouse.relocations,
    audit: glasshouse.residencyAudit,
  });
  await app.register(huntRoutes, { prefix: '/v1', hunts: glasshouse.hunts });
  await app.register(evidenceRoutes, {
    prefix: '/v1',
    evidence: glasshouse.evidence,
    sites: [...glasshouse.siteClients.keys()],
  });
  return app;
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The methods some route answers on this concrete path (RFC 9110 §15.5.6: a 405 lists them). */
function allowedMethods(app: FastifyInstance, path: string): string[] {
  return METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
}
