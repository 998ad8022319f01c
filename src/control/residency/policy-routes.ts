import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../http/authenticate.js';
import { CountryCode, errorResponses } from '../../http/schemas.js';
import { actorOf, ROLES } from '../auth/roles.js';
import type { PolicyVersion } from './policy.js';
import type { PolicyService } from './policy-service.js';
import { ResidencyError } from './residency-errors.js';

const Assignment = Type.Object(
  {
    regions: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { maxItems: 256 })),
    countries: Type.Optional(Type.Array(Type.String({ maxLength: 8 }), { maxItems: 300 })),
    site: Type.String({ maxLength: 64 }),
  },
  { additionalProperties: false },
);

const PolicyVersionBody = Type.Object(
  {
    effectiveFrom: Type.Optional(Type.String({ format: 'date-time', description: 'default: now' })),
    default: Type.String({ maxLength: 64 }),
    assign: Type.Array(Assignment, { maxItems: 256 }),
  },
  { additionalProperties: false },
);

const PolicyVersionView = Type.Object({
  version: Type.Integer(),
  effectiveFrom: Type.String({ format: 'date-time' }),
  default: Type.String(),
  assign: Type.Array(
    Type.Object({
      regions: Type.Array(Type.String()),
      countries: Type.Array(Type.String()),
      site: Type.String(),
    }),
  ),
  createdAt: Type.String({ format: 'date-time' }),
});

const ResolutionView = Type.Object({
  country: Type.String(),
  at: Type.String({ format: 'date-time' }),
  site: Type.String(),
  version: Type.Integer(),
  rule: Type.Object({ kind: Type.String(), region: Type.Optional(Type.String()) }),
});

export const policyRoutes: FastifyPluginAsyncTypebox<{ policy: PolicyService }> = async (app, { policy }) => {
  app.get(
    '/policy',
    {
      config: { roles: ROLES },
      schema: {
        summary: 'The residency policy: every version, the one in force, sites and regions',
        tags: ['residency'],
        response: {
          200: Type.Object({
            inForce: Type.Union([Type.Integer(), Type.Null()]),
            versions: Type.Array(PolicyVersionView),
            regions: Type.Record(Type.String(), Type.Array(Type.String())),
            sites: Type.Array(Type.String()),
          }),
          ...errorResponses(),
        },
      },
    },
    async () => ({
      inForce: (await policy.inForce())?.version ?? null,
      versions: (await policy.versions()).map(viewOf),
      regions: Object.fromEntries([...policy.context.regions].map(([name, members]) => [name, [...members]])),
      sites: [...policy.context.sites],
    }),
  );

  app.get(
    '/policy/resolve',
    {
      config: { roles: ROLES },
      schema: {
        summary: 'Which site holds the data of a country at a time',
        tags: ['residency'],
        querystring: Type.Object({
          country: CountryCode,
          at: Type.Optional(Type.String({ description: 'date or date-time; default: now' })),
        }),
        response: { 200: ResolutionView, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const at = request.query.at === undefined ? undefined : parseInstant(request.query.at);
      const resolution = await policy.resolve(request.query.country, at);
      return { ...resolution, at: resolution.at.toISOString() };
    },
  );

  app.post(
    '/policy/versions',
    {
      config: { roles: ['admin'], everySite: true },
      schema: {
        summary: 'Add a policy version (a complete mapping), effective now or later',
        tags: ['residency'],
        body: PolicyVersionBody,
        response: { 201: PolicyVersionView, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const principal = principalOf(request);
      const body = request.body;
      const added = await policy.addVersion(
        {
          ...(body.effectiveFrom === undefined ? {} : { effectiveFrom: body.effectiveFrom }),
          default: body.default,
          assign: body.assign.map((a) => ({
            regions: a.regions ?? [],
            countries: a.countries ?? [],
            site: a.site,
          })),
        },
        actorOf(principal),
      );
      return reply.status(201).send(viewOf(added));
    },
  );
};

function viewOf(version: PolicyVersion) {
  return {
    version: version.version,
    effectiveFrom: version.effectiveFrom.toISOString(),
    default: version.default,
    assign: version.assign.map((a) => ({
      regions: [...a.regions],
      countries: [...a.countries],
      site: a.site,
    })),
    createdAt: version.createdAt.toISOString(),
  };
}

/** `2022-02-01` means midnight UTC; a date-time must carry its zone. */
export function parseInstant(text: string): Date {
  const iso = /^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text;
  const valid = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(iso);
  const date = new Date(iso);
  if (!valid || Number.isNaN(date.getTime())) {
    throw new ResidencyError(
      'INVALID_POLICY',
      `"${text}" is not a date (YYYY-MM-DD) or a date-time with a zone`,
      {
        details: { field: 'at', value: text },
      },
    );
  }
  return date;
}
