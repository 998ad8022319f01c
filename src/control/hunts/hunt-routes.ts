import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../http/authenticate.js';
import { errorResponses, NextCursor, pageQuery } from '../../http/schemas.js';
import { MAX_RULES_LENGTH } from '../../shared/yara-rules.js';
import type { HuntService } from './hunt-service.js';

const HuntSchema = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: Type.String({
    description: 'scanning, active (live hunting), paused, stopped, cancelled or failed',
  }),
  rulesSha256: Type.String({ description: 'SHA-256 of the rule set as sent (the log names it by this)' }),
  sites: Type.Array(Type.String()),
  createdAt: Type.String(),
  updatedAt: Type.String(),
  scannedAt: Type.Union([Type.String(), Type.Null()]),
  finishedAt: Type.Union([Type.String(), Type.Null()]),
  progress: Type.Object({
    samplesDone: Type.Integer(),
    samplesTotal: Type.Integer(),
    bytesDone: Type.Integer(),
    bytesTotal: Type.Integer(),
    skipped: Type.Integer(),
    matches: Type.Integer(),
  }),
  error: Type.Union([Type.String(), Type.Null()]),
  waitingFor: Type.Array(Type.String()),
});

const MatchSchema = Type.Object({
  sha256: Type.String(),
  site: Type.String(),
  rules: Type.Array(Type.String()),
  foundAt: Type.String(),
});

const IdParam = Type.Object({ id: Type.String({ format: 'uuid' }) });

const ACTIONS = {
  pause: 'Pause a hunt after the batch in progress',
  resume: 'Resume a paused or failed hunt where it was',
  stop: 'End live hunting (after the scan of the stored samples); logged',
  cancel: 'Abandon a hunt at any point; its matches so far stay listed; logged',
} as const;

export const huntRoutes: FastifyPluginAsyncTypebox<{ hunts: HuntService }> = async (app, { hunts }) => {
  app.post(
    '/hunts',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary:
          "Start a YARA hunt over every sample of the token's sites, then over each sample stored until it is stopped",
        tags: ['hunts'],
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ maxLength: 200 })),
            rules: Type.String({ minLength: 1, maxLength: MAX_RULES_LENGTH, description: 'a YARA rule set' }),
          },
          { additionalProperties: false },
        ),
        response: { 202: HuntSchema, ...errorResponses(400, 503) },
      },
    },
    async (request, reply) => {
      const { name, rules } = request.body;
      const status = await hunts.start(principalOf(request), {
        rules,
        ...(name === undefined ? {} : { name }),
      });
      return reply.code(202).send(status);
    },
  );

  app.get(
    '/hunts',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: "The token's hunts, newest first, with their progress",
        tags: ['hunts'],
        querystring: Type.Object({ ...pageQuery(100, 1000) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ hunts: Type.Array(HuntSchema), next: NextCursor }),
          ...errorResponses(400),
        },
      },
    },
    async (request) => hunts.list(principalOf(request), request.query),
  );

  app.get(
    '/hunts/:id',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: 'A hunt: state, samples and bytes done and to do, matches',
        tags: ['hunts'],
        params: IdParam,
        response: { 200: HuntSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => hunts.get(principalOf(request), request.params.id),
  );

  app.get(
    '/hunts/:id/matches',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: 'The samples a hunt matched, with the names of the rules, in the order found',
        tags: ['hunts'],
        params: IdParam,
        querystring: Type.Object({ ...pageQuery(100, 1000) }, { additionalProperties: false }),
        response: {
          200: Type.Object({ matches: Type.Array(MatchSchema), next: NextCursor }),
          ...errorResponses(400, 404),
        },
      },
    },
    async (request) => hunts.matches(principalOf(request), request.params.id, request.query),
  );

  for (const action of ['pause', 'resume', 'stop', 'cancel'] as const) {
    app.post(
      `/hunts/:id/${action}`,
      {
        config: { roles: ['analyst'] },
        schema: {
          summary: ACTIONS[action],
          tags: ['hunts'],
          params: IdParam,
          response: { 200: HuntSchema, ...errorResponses(400, 404, 409, 503) },
        },
      },
      async (request) => hunts[action](principalOf(request), request.params.id),
    );
  }
};
