import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../http/authenticate.js';
import { errorResponses, NextCursor, pageQuery } from '../../http/schemas.js';
import { actorOf } from '../auth/roles.js';
import type { ActionInput, LegalDesk } from './legal-desk.js';
import { LegalError } from './legal-errors.js';
import {
  AUTHORITY_KINDS,
  LEGAL_ACTIONS,
  LEGAL_CATEGORIES,
  LEGAL_STATES,
  REJECTION_REASONS,
} from './legal-request.js';
import { MAX_SCOPE_ITEMS } from './legal-validation.js';

const MAX_HISTORY_BYTES = 16 * 1024 * 1024;
const literals = <T extends string>(values: readonly T[]) =>
  Type.Unsafe<T>({ type: 'string', enum: [...values] });
const NullableText = (maxLength: number) =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], maxLength });
const Items = (maxLength: number) => Type.Array(Type.String({ maxLength }), { maxItems: MAX_SCOPE_ITEMS });

const Scope = Type.Object(
  {
    installations: Type.Optional(Items(64)),
    hashes: Type.Optional(Items(64)),
    threats: Type.Optional(Items(256)),
    from: Type.Optional(NullableText(64)),
    to: Type.Optional(NullableText(64)),
    text: Type.Optional(Type.String({ maxLength: 10_000 })),
  },
  { additionalProperties: false },
);

const NewRequestBody = Type.Object(
  {
    receivedAt: Type.String({ maxLength: 10, description: 'YYYY-MM-DD' }),
    requesterCountry: Type.String({ maxLength: 2, description: 'ISO 3166-1 alpha-2' }),
    authorityKind: literals(AUTHORITY_KINDS),
    authority: Type.String({ minLength: 1, maxLength: 500 }),
    legalBasis: Type.String({ minLength: 1, maxLength: 2000 }),
    reference: Type.String({ maxLength: 500 }),
    category: literals(LEGAL_CATEGORIES),
    scope: Scope,
    dueAt: Type.Optional(NullableText(10)),
  },
  { additionalProperties: false },
);

const ActionBody = Type.Object(
  {
    action: literals(LEGAL_ACTIONS),
    valid: Type.Optional(Type.Boolean()),
    jurisdictions: Type.Optional(Type.Array(Type.String({ maxLength: 2 }), { maxItems: 300 })),
    reason: Type.Optional(literals(REJECTION_REASONS)),
    note: Type.Optional(Type.String({ maxLength: 10_000 })),
  },
  { additionalProperties: false },
);

/** The request as answered; nested values are documented in docs/legal.md. */
const RequestView = Type.Object(
  {
    id: Type.String(),
    state: literals(LEGAL_STATES),
    reason: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
    receivedAt: Type.String(),
    requesterCountry: Type.String(),
    authorityKind: Type.String(),
    category: Type.String(),
    closedAt: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
  },
  { additionalProperties: true },
);

const IdParam = Type.Object({ id: Type.String({ maxLength: 64 }) });

/** The legal desk's routes: the `legal` role only (case files name people and authorities). */
export const legalRoutes: FastifyPluginAsyncTypebox<{ desk: LegalDesk }> = async (app, { desk }) => {
  app.addContentTypeParser(
    'text/csv',
    { parseAs: 'string', bodyLimit: MAX_HISTORY_BYTES },
    (_r, body, done) => done(null, body),
  );

  app.post(
    '/legal-requests',
    {
      config: { roles: ['legal'] },
      schema: {
        summary: 'Register a government or law-enforcement request as received; logged',
        tags: ['legal'],
        body: NewRequestBody,
        response: { 201: RequestView, ...errorResponses(400) },
      },
    },
    async (request, reply) => {
      const { scope, dueAt, ...rest } = request.body;
      const created = await desk.receive(
        {
          ...rest,
          dueAt: dueAt ?? null,
          scope: {
            installations: scope.installations ?? [],
            hashes: scope.hashes ?? [],
            threats: scope.threats ?? [],
            from: scope.from ?? null,
            to: scope.to ?? null,
            text: scope.text ?? '',
          },
        },
        principalOf(request),
      );
      return reply.status(201).send(created);
    },
  );

  app.get(
    '/legal-requests',
    {
      config: { roles: ['legal'] },
      schema: {
        summary: 'List requests, by state, category and received date (from inclusive, to exclusive)',
        tags: ['legal'],
        querystring: Type.Object(
          {
            state: Type.Optional(literals(LEGAL_STATES)),
            category: Type.Optional(literals(LEGAL_CATEGORIES)),
            from: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
            to: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
            ...pageQuery(1000, 10_000),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ requests: Type.Array(RequestView), next: NextCursor }),
          ...errorResponses(400),
        },
      },
    },
    async (request) => {
      const { state, category, from, to, limit, cursor } = request.query;
      return desk.list({ state, category, from, to, limit: limit ?? 1000, cursor }, principalOf(request));
    },
  );

  app.get(
    '/legal-requests/:id',
    {
      config: { roles: ['legal'] },
      schema: {
        summary: 'One request with its full history',
        tags: ['legal'],
        params: IdParam,
        response: { 200: RequestView, ...errorResponses(404) },
      },
    },
    async (request) => desk.get(request.params.id, principalOf(request)),
  );

  app.post(
    '/legal-requests/:id/actions',
    {
      config: { roles: ['legal'] },
      schema: {
        summary:
          'Act on a request: start_verification, propose_verification, confirm_verification (another officer), reject, fulfil, withdraw; logged',
        tags: ['legal'],
        params: IdParam,
        body: ActionBody,
        response: { 200: RequestView, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => {
      const result = await desk.act(request.params.id, actionInput(request.body), principalOf(request));
      return { ...result.request, ...(result.package === undefined ? {} : { package: result.package }) };
    },
  );

  app.get(
    '/legal-requests/:id/package',
    {
      config: { roles: ['legal'] },
      schema: {
        summary:
          'Download the disclosure package (AES-256 zip; the password was shown once by fulfil); logged',
        tags: ['legal'],
        params: IdParam,
        produces: ['application/zip'],
        response: { ...errorResponses(404) },
      },
    },
    async (request, reply) => {
      const opened = await desk.openPackage(request.params.id, principalOf(request));
      return reply
        .type('application/zip')
        .header('content-length', String(opened.bytes))
        .header('content-disposition', `attachment; filename="legal-${request.params.id}.zip"`)
        .header('x-glasshouse-sha256', opened.sha256)
        .send(opened.stream);
    },
  );

  app.post(
    '/legal-requests/import',
    {
      config: { roles: ['legal'] },
      schema: {
        summary:
          'Load past requests from CSV (received_at,requester_country,authority_kind,category,outcome,reason,closed_at; open requests leave outcome and closed_at empty): all rows or none; a file loaded before is refused (409) unless again=true',
        tags: ['legal'],
        consumes: ['text/csv'],
        querystring: Type.Object({
          again: Type.Boolean({
            default: false,
            description: 'load a file imported before once more, its rows as new requests',
          }),
        }),
        response: {
          200: Type.Object({ imported: Type.Integer(), open: Type.Integer(), sha256: Type.String() }),
          ...errorResponses(400, 409, 415),
        },
      },
    },
    async (request) => {
      if (typeof request.body !== 'string') {
        throw new LegalError('INVALID_LEGAL_HISTORY', 'send the history as text/csv');
      }
      const principal = principalOf(request);
      return desk.importHistory(request.body, actorOf(principal), { again: request.query.again });
    },
  );
};

function actionInput(body: {
  action: string;
  valid?: boolean;
  jurisdictions?: string[];
  reason?: string;
  note?: string;
}): ActionInput {
  const note = body.note === undefined ? {} : { note: body.note };
  switch (body.action) {
    case 'propose_verification':
      if (body.valid === undefined)
        throw missing('valid', 'propose_verification says whether the request is valid');
      return {
        action: 'propose_verification',
        valid: body.valid,
        jurisdictions: body.jurisdictions ?? [],
        ...note,
      };
    case 'reject':
      if (body.reason === undefined) throw missing('reason', 'reject names a reason');
      return { action: 'reject', reason: body.reason as (typeof REJECTION_REASONS)[number], ...note };
    default:
      return { action: body.action as 'start_verification', ...note };
  }
}

function missing(field: string, message: string): LegalError {
  return new LegalError('INVALID_LEGAL_REQUEST', message, { details: { field } });
}
