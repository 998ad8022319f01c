import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../http/authenticate.js';
import { errorResponses, NextCursor, pageQuery } from '../../http/schemas.js';
import { actorOf as principalActor } from '../auth/roles.js';
import type { RelocationService } from './relocation-service.js';
import type { ResidencyAuditService } from './residency-audit-service.js';

const Progress = Type.Object({ done: Type.Integer(), total: Type.Integer() });

export const RelocationStatusSchema = Type.Object({
  id: Type.String(),
  state: Type.String({ description: 'running, paused, cancelling, cancelled, done or failed' }),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
  policyVersion: Type.Integer(),
  batchSize: Type.Integer(),
  rateLimitMbps: Type.Number(),
  installations: Type.Object({
    done: Type.Integer(),
    total: Type.Integer(),
    skipped: Type.Integer(),
    rolledBack: Type.Integer(),
  }),
  records: Progress,
  bytes: Progress,
  rateBytesPerSecond: Type.Number(),
  etaSeconds: Type.Union([Type.Integer(), Type.Null()]),
  errors: Type.Array(Type.String()),
  waitingFor: Type.Array(Type.String(), {
    description: 'the sites the job waits for (away); it resumes the same step once they answer',
  }),
});

const PlanSchema = Type.Object({
  dryRun: Type.Literal(true),
  at: Type.String(),
  policyVersion: Type.Integer(),
  installations: Type.Integer(),
  groups: Type.Array(
    Type.Object({
      source: Type.String(),
      target: Type.String(),
      installations: Type.Integer(),
      submissions: Type.Integer(),
      samples: Type.Object({ count: Type.Integer(), bytes: Type.Integer() }),
      events: Type.Integer(),
      moves: Type.Array(
        Type.Object({
          installationId: Type.String(),
          country: Type.String(),
          submissions: Type.Integer(),
          samples: Type.Integer(),
          bytes: Type.Integer(),
          events: Type.Integer(),
        }),
      ),
    }),
  ),
});

const AuditSchema = Type.Object({
  at: Type.String(),
  policyVersion: Type.Union([Type.Integer(), Type.Null()]),
  installations: Type.Integer(),
  clean: Type.Boolean(),
  sites: Type.Array(
    Type.Object({
      site: Type.String(),
      installations: Type.Integer(),
      submissions: Type.Integer(),
      events: Type.Integer(),
      samplesReferenced: Type.Integer(),
      samplesUnreferenced: Type.Integer(),
    }),
  ),
  violations: Type.Array(
    Type.Object({
      kind: Type.String(),
      site: Type.String(),
      installation: Type.Optional(Type.String()),
      sha256: Type.Optional(Type.String()),
      detail: Type.String(),
    }),
  ),
});

const IdParam = Type.Object({ id: Type.String({ format: 'uuid' }) });

export const relocationRoutes: FastifyPluginAsyncTypebox<{
  relocations: RelocationService;
  audit: ResidencyAuditService;
}> = async (app, { relocations, audit }) => {
  const actorOf = (request: Parameters<typeof principalOf>[0]) => {
    return principalActor(principalOf(request));
  };

  app.post(
    '/relocations',
    {
      config: { roles: ['admin'], everySite: true },
      schema: {
        summary:
          'Plan (dryRun) or start moving stored records to the sites the policy in force assigns; a background job',
        tags: ['residency'],
        body: Type.Object(
          {
            dryRun: Type.Optional(Type.Boolean()),
            batchSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
            rateLimitMbps: Type.Optional(
              Type.Number({ minimum: 0, maximum: 100000, description: 'MB/s of sample bytes; 0: no limit' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: PlanSchema, 202: RelocationStatusSchema, ...errorResponses(400, 409, 503) },
      },
    },
    async (request, reply) => {
      const { dryRun, batchSize, rateLimitMbps } = request.body;
      if (dryRun === true) return { dryRun: true as const, ...(await relocations.plan()) };
      const status = await relocations.start(
        {
          ...(batchSize === undefined ? {} : { batchSize }),
          ...(rateLimitMbps === undefined ? {} : { rateLimitMbps }),
        },
        actorOf(request),
      );
      return reply.code(202).send(status);
    },
  );

  app.get(
    '/relocations',
    {
      config: { roles: ['admin'], everySite: true },
      schema: {
        summary: 'Relocations, newest first, with their progress',
        tags: ['residency'],
        querystring: Type.Object({ ...pageQuery(100, 1000) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ relocations: Type.Array(RelocationStatusSchema), next: NextCursor }),
          ...errorResponses(400),
        },
      },
    },
    async (request) => relocations.list(request.query),
  );

  app.get(
    '/relocations/:id',
    {
      config: { roles: ['admin'], everySite: true },
      schema: {
        summary:
          'A relocation: state, installations, records and bytes done and to do, rate, time left, errors',
        tags: ['residency'],
        params: IdParam,
        response: { 200: RelocationStatusSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => relocations.get(request.params.id),
  );

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.post(
      `/relocations/:id/${action}`,
      {
        config: { roles: ['admin'], everySite: true },
        schema: {
          summary: {
            pause: 'Pause a running relocation after the installation in progress',
            resume: 'Resume a paused or failed relocation',
            cancel: 'Cancel: the batch in progress finishes if switched, else rolls back; the rest stays',
          }[action],
          tags: ['residency'],
          params: IdParam,
          response: { 200: RelocationStatusSchema, ...errorResponses(400, 404, 409, 503) },
        },
      },
      async (request) => relocations[action](request.params.id),
    );
  }

  app.get(
    '/residency/audit',
    {
      config: { roles: ['admin', 'auditor'] },
      schema: {
        summary:
          'Scan every site: records where the registry and the policy say, samples whole, nothing of an installation elsewhere',
        tags: ['residency'],
        response: { 200: AuditSchema, ...errorResponses(503) },
      },
    },
    async (request) => audit.run(principalOf(request)),
  );
};
