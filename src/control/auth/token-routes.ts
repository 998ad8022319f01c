import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../http/authenticate.js';
import { errorResponses } from '../../http/schemas.js';
import { actorOf, PERSONAL_ROLES, ROLES, type Role } from './roles.js';
import type { TokenInfo, TokenService } from './token-service.js';

const RoleSchema = Type.Unsafe<Role>({ type: 'string', enum: [...ROLES] });

// Typed as the service's (read-only) value; the schema is the union.
const SitesView = Type.Unsafe<readonly string[] | '*'>(
  Type.Union([Type.Literal('*'), Type.Array(Type.String())], {
    description: "'*' (every configured site) or the sites the token may touch",
  }),
);

const TokenView = Type.Object({
  id: Type.String(),
  role: RoleSchema,
  sites: SitesView,
  label: Type.String(),
  person: Type.Union([Type.String(), Type.Null()], { description: "the holder's name; null for none" }),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'null: never' }),
  revokedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  lastUsedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'to the minute; null if never used',
  }),
  state: Type.Unsafe<TokenInfo['state']>({ type: 'string', enum: ['active', 'expired', 'revoked'] }),
});

const SessionView = Type.Object({
  tokenId: Type.String(),
  role: RoleSchema,
  sites: SitesView,
  person: Type.Union([Type.String(), Type.Null()], { description: "the holder's name; null for none" }),
  expiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'null: never' }),
  label: Type.String(),
});

const NewTokenBody = Type.Object(
  {
    role: RoleSchema,
    person: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: `the holder; required for ${PERSONAL_ROLES.join(' and ')}; one active token per person and role`,
      }),
    ),
    expires: Type.Optional(
      Type.String({
        maxLength: 64,
        description:
          'a duration (90d, 12h, 26w) or an ISO 8601 date or date-time, in the future; default: never',
      }),
    ),
    sites: Type.Optional(
      Type.Array(Type.String({ maxLength: 64 }), {
        minItems: 1,
        maxItems: 256,
        description: 'the sites the token may touch; default: every site',
      }),
    ),
    label: Type.Optional(Type.String({ maxLength: 200, description: 'a note to recognise the token by' })),
  },
  { additionalProperties: false },
);

const IdParam = Type.Object({ id: Type.String({ maxLength: 64, description: 'the token id' }) });

/** Managing tokens reaches every site's data through the tokens it makes: an admin of all sites. */
const TOKEN_ADMIN = { roles: ['admin'], everySite: true } as const;

/**
 * The caller's own session, and the admin's management of tokens: the same service and rules
 * as `glasshouse token`, logged the same way, with the acting admin's token as the actor.
 */
export const tokenRoutes: FastifyPluginAsyncTypebox<{ tokens: TokenService }> = async (app, { tokens }) => {
  app.get(
    '/session',
    {
      config: { roles: ROLES },
      schema: {
        summary: "The calling token's role, sites, person and expiry (never its secret)",
        tags: ['tokens'],
        response: { 200: SessionView, ...errorResponses() },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const info = await tokens.info(principal.tokenId);
      return {
        tokenId: principal.tokenId,
        role: principal.role,
        sites: principal.sites,
        person: principal.person?.name ?? null,
        expiresAt: info.expiresAt,
        label: info.label,
      };
    },
  );

  app.get(
    '/tokens',
    {
      config: TOKEN_ADMIN,
      schema: {
        summary: 'Every token, oldest first, with its person, state, expiry and last use (never secrets)',
        tags: ['tokens'],
        response: { 200: Type.Object({ tokens: Type.Array(TokenView) }), ...errorResponses() },
      },
    },
    async () => ({ tokens: await tokens.list() }),
  );

  app.post(
    '/tokens',
    {
      config: TOKEN_ADMIN,
      schema: {
        summary: 'Create a token; its secret is in this answer only (logged: token.created)',
        tags: ['tokens'],
        body: NewTokenBody,
        response: {
          201: Type.Object({
            ...TokenView.properties,
            token: Type.String({ description: 'the secret, shown once: `Authorization: Bearer <token>`' }),
          }),
          ...errorResponses(400, 409),
        },
      },
    },
    async (request, reply) => {
      const { role, person, expires, sites, label } = request.body;
      const created = await tokens.create(
        { role, person, expires, sites, label },
        actorOf(principalOf(request)),
      );
      // The one answer that carries a secret: no cache may keep it.
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.delete(
    '/tokens/:id',
    {
      config: { ...TOKEN_ADMIN, noBody: true },
      schema: {
        summary:
          'Revoke a token (logged: token.revoked); refused with 409 TOKEN_ALREADY_REVOKED if it was revoked already',
        tags: ['tokens'],
        params: IdParam,
        response: { 200: TokenView, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => tokens.revoke(request.params.id, actorOf(principalOf(request))),
  );
};
