import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { installationOf, principalOf } from '../../http/authenticate.js';
import { errorResponses, NextCursor, pageQuery } from '../../http/schemas.js';
import { actorOf } from '../auth/roles.js';
import type { PrivacyDesk, Viewer } from './privacy-desk.js';
import { PrivacyError } from './privacy-errors.js';
import {
  REJECTION_REASONS,
  REQUEST_STATES,
  REQUEST_TYPES,
  type RejectionReason,
  type RequestState,
  type RequestType,
} from './privacy-request.js';

export interface PrivacyRoutesOptions {
  readonly desk: PrivacyDesk;
}

/** The largest history file one import takes (about a million rows). */
const MAX_HISTORY_BYTES = 64 * 1024 * 1024;

const RequestTypeSchema = Type.Unsafe<RequestType>({ type: 'string', enum: [...REQUEST_TYPES] });
const RequestStateSchema = Type.Unsafe<RequestState>({ type: 'string', enum: [...REQUEST_STATES] });
const ReasonSchema = Type.Unsafe<RejectionReason>({ type: 'string', enum: [...REJECTION_REASONS] });
const Id = Type.Object({ id: Type.String({ format: 'uuid' }) });
const Note = Type.String({ minLength: 1, maxLength: 4000 });

const RequestSchema = Type.Object({
  id: Type.String(),
  type: RequestTypeSchema,
  state: RequestStateSchema,
  filedBy: Type.String(),
  installation: Type.Union([Type.String(), Type.Null()]),
  receivedAt: Type.String(),
  dueAt: Type.String(),
  overdue: Type.Boolean(),
  extensions: Type.Array(Type.Object({ days: Type.Integer(), reason: Type.String(), at: Type.String() })),
  closedAt: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
  note: Type.Union([Type.String(), Type.Null()]),
  verificationNote: Type.Union([Type.String(), Type.Null()]),
  progress: Type.Array(Type.String()),
  waitingFor: Type.Array(Type.String(), {
    description: 'the sites the job waits for (away); it resumes the same step once they answer',
  }),
  answer: Type.Unknown({ description: 'the inventory, the export summary or the erasure receipt' }),
  receiptToken: Type.Optional(
    Type.String({ description: 'erasure only, returned once: reads the receipt after the erasure' }),
  ),
});

const USER_AUTH =
  'A user sends `Authorization: Installation <id>:<secret>` (the secret given at registration); a privacy officer a bearer token.';

export const privacyRoutes: FastifyPluginAsyncTypebox<PrivacyRoutesOptions> = async (app, { desk }) => {
  app.addContentTypeParser(
    'text/csv',
    { parseAs: 'string', bodyLimit: MAX_HISTORY_BYTES },
    (_r, body, done) => done(null, body),
  );

  app.post(
    '/privacy-requests',
    {
      config: { roles: ['privacy'], installationAuth: true },
      schema: {
        summary: "File a request about a user's own data: inventory, export or erasure",
        description: `${USER_AUTH} An officer names the installation and, once the user's identity is checked, a verification note.`,
        tags: ['privacy'],
        body: Type.Object(
          {
            type: RequestTypeSchema,
            installation: Type.Optional(Type.String({ format: 'uuid' })),
            verificationNote: Type.Optional(Note),
          },
          { additionalProperties: false },
        ),
        response: { 202: RequestSchema, ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const own = installationOf(request);
      const { type, installation, verificationNote } = request.body;
      if (own !== undefined && installation !== undefined && installation !== own) {
        throw new PrivacyError(
          'INVALID_PRIVACY_REQUEST',
          'a user files requests about their own installation',
        );
      }
      if (own === undefined && installation === undefined) {
        throw new PrivacyError('INVALID_PRIVACY_REQUEST', 'name the installation the request is about', {
          details: { field: 'installation' },
        });
      }
      const filed =
        own !== undefined
          ? await desk.file({ type, installation: own }, { kind: 'user' })
          : await desk.file(
              { type, installation: installation! },
              {
                kind: 'officer',
                principal: principalOf(request),
                ...(verificationNote === undefined ? {} : { verificationNote }),
              },
            );
      return reply.status(202).send(filed);
    },
  );

  app.get(
    '/privacy-requests',
    {
      config: { roles: ['privacy'] },
      schema: {
        summary: 'List privacy requests, newest first; overdue ones are flagged',
        tags: ['privacy'],
        querystring: Type.Object(
          {
            state: Type.Optional(RequestStateSchema),
            type: Type.Optional(RequestTypeSchema),
            overdue: Type.Optional(Type.Boolean()),
            ...pageQuery(1000, 10_000),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ requests: Type.Array(RequestSchema), next: NextCursor }),
          ...errorResponses(400),
        },
      },
    },
    async (request) => desk.list(request.query, principalOf(request)),
  );

  app.get(
    '/privacy-requests/:id',
    {
      config: { roles: ['privacy'], installationAuth: true },
      schema: {
        summary: "A privacy request's state, progress and, once completed, its answer",
        description: USER_AUTH,
        tags: ['privacy'],
        params: Id,
        response: { 200: RequestSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => desk.get(request.params.id, viewerOf(request)),
  );

  app.get(
    '/privacy-requests/:id/export',
    {
      config: { roles: ['privacy'], installationAuth: true },
      schema: {
        summary: 'The export of a completed export request: an AES-256 zip, password `infected`',
        description: `${USER_AUTH} The zip holds \`export.json\` (everything held about the installation) and \`samples/<sha256>\`.`,
        tags: ['privacy'],
        params: Id,
        produces: ['application/zip'],
        response: { ...errorResponses(400, 404, 409) },
      },
    },
    async (request, reply) => {
      const archive = await desk.openExport(request.params.id, viewerOf(request));
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="export-${request.params.id}.zip"`)
        .send(archive);
    },
  );

  app.get(
    '/privacy-requests/:id/receipt',
    {
      config: { roles: ['privacy'], receiptAuth: true },
      schema: {
        summary: 'The request with its erasure receipt, also after the erasure',
        description:
          'The user sends `Authorization: Receipt <receiptToken>` (given when the erasure was filed); a privacy officer a bearer token.',
        tags: ['privacy'],
        params: Id,
        response: { 200: RequestSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) =>
      request.receiptToken === null
        ? desk.get(request.params.id, viewerOf(request))
        : desk.receipt(request.params.id, request.receiptToken),
  );

  app.post(
    '/privacy-requests/:id/verify',
    {
      config: { roles: ['privacy'] },
      schema: {
        summary: "Record how the user's identity was verified; the request is then answered",
        tags: ['privacy'],
        params: Id,
        body: Type.Object({ note: Note }, { additionalProperties: false }),
        response: { 200: RequestSchema, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => desk.verify(request.params.id, request.body.note, principalOf(request)),
  );

  app.post(
    '/privacy-requests/:id/reject',
    {
      config: { roles: ['privacy'] },
      schema: {
        summary: 'Reject a request not yet in progress, with a Data Rights Protocol reason',
        tags: ['privacy'],
        params: Id,
        body: Type.Object({ reason: ReasonSchema, note: Note }, { additionalProperties: false }),
        response: { 200: RequestSchema, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      return desk.reject(request.params.id, request.body.reason, request.body.note, actorOf(principal), {
        kind: 'officer',
        principal,
      });
    },
  );

  app.post(
    '/privacy-requests/:id/extend',
    {
      config: { roles: ['privacy'] },
      schema: {
        summary: 'Extend the due date of an open request, with a reason',
        tags: ['privacy'],
        params: Id,
        body: Type.Object(
          { days: Type.Integer({ minimum: 1, maximum: 60 }), reason: Note },
          { additionalProperties: false },
        ),
        response: { 200: RequestSchema, ...errorResponses(400, 404, 409) },
      },
    },
    async (request) =>
      desk.extend(request.params.id, request.body.days, request.body.reason, viewerOf(request)),
  );

  app.post(
    '/privacy-requests/import',
    {
      config: { roles: ['privacy'] },
      schema: {
        summary:
          'Load historical, closed requests (CSV `received_at,type,outcome,closed_at`): all or nothing; a file loaded before is refused (409) unless again=true',
        tags: ['privacy'],
        consumes: ['text/csv'],
        querystring: Type.Object({
          again: Type.Boolean({
            default: false,
            description: 'load a file imported before once more, its rows as new requests',
          }),
        }),
        response: {
          200: Type.Object({ loaded: Type.Integer(), sha256: Type.String() }),
          ...errorResponses(400, 409, 413, 415),
        },
      },
    },
    async (request) => {
      if (typeof request.body !== 'string') {
        throw new PrivacyError('INVALID_PRIVACY_HISTORY', 'send the history as text/csv');
      }
      const principal = principalOf(request);
      return desk.importHistory(request.body, actorOf(principal), { again: request.query.again });
    },
  );
};

function viewerOf(request: FastifyRequest): Viewer {
  const installation = installationOf(request);
  return installation === undefined
    ? { kind: 'officer', principal: principalOf(request) }
    : { kind: 'installation', id: installation };
}
