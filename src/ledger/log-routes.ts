import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses } from '../http/schemas.js';
import { LedgerError, logNamed } from './ledger-errors.js';
import { parseTilePath } from './merkle/index.js';
import type { PublishedLog } from './published-log.js';

/** The logs the routes serve: a remote site's is read from the site itself. */
export interface LogRoutesOptions {
  readonly logs: ReadonlyMap<string, PublishedLog>;
}

const NodeParam = Type.Object({ node: Type.String({ maxLength: 64 }) });
/** Full tiles never change (C2SP tlog-tiles); partial tiles and the checkpoint do. */
const IMMUTABLE = 'public, max-age=31536000, immutable';
const REVALIDATE = 'no-cache';

/** The public, static face of every node's log: no token, exact C2SP paths. */
export const publicLogRoutes: FastifyPluginAsyncTypebox<LogRoutesOptions> = async (app, { logs }) => {
  const logOf = (node: string) => logNamed(logs, node);

  app.get(
    '/log/:node/checkpoint',
    {
      schema: {
        summary: 'The latest signed checkpoint of a node’s log (C2SP tlog-checkpoint, signed note)',
        tags: ['log'],
        security: [],
        params: NodeParam,
        produces: ['text/plain'],
      },
    },
    async (request, reply) => {
      const checkpoint = await logOf(request.params.node).checkpoint();
      if (checkpoint === undefined)
        throw new LedgerError('TILE_NOT_FOUND', 'this log has published nothing yet');
      return reply.type('text/plain; charset=utf-8').header('cache-control', REVALIDATE).send(checkpoint);
    },
  );

  app.get(
    '/log/:node/tile/*',
    {
      schema: {
        summary: 'A hash tile or entry bundle (C2SP tlog-tiles paths)',
        tags: ['log'],
        security: [],
        params: Type.Object({ node: Type.String({ maxLength: 64 }), '*': Type.String({ maxLength: 128 }) }),
        produces: ['application/octet-stream'],
      },
    },
    async (request, reply) => {
      const path = `tile/${request.params['*']}`;
      const parsed = parseTilePath(path);
      const data = await logOf(request.params.node).readPublished(path);
      if (data === undefined) throw new LedgerError('TILE_NOT_FOUND', `no such tile: ${path}`);
      const full = parsed.width === 256;
      return reply
        .type('application/octet-stream')
        .header('cache-control', full ? IMMUTABLE : REVALIDATE)
        .send(data);
    },
  );
};

const ProofQuery = {
  inclusion: Type.Object({ index: Type.Integer({ minimum: 0 }), size: Type.Integer({ minimum: 1 }) }),
  consistency: Type.Object({ from: Type.Integer({ minimum: 1 }), to: Type.Integer({ minimum: 1 }) }),
};

/** Proofs for auditors (role `auditor`): RFC 9162 audit paths, hashes in base64. */
export const proofRoutes: FastifyPluginAsyncTypebox<LogRoutesOptions> = async (app, { logs }) => {
  const logOf = (node: string) => logNamed(logs, node);

  app.get(
    '/log/:node/proof/inclusion',
    {
      config: { roles: ['auditor'] },
      schema: {
        summary: 'Inclusion proof of an entry in a published tree size (RFC 9162 §2.1.3)',
        tags: ['log'],
        params: NodeParam,
        querystring: ProofQuery.inclusion,
        response: {
          200: Type.Object({ index: Type.Integer(), size: Type.Integer(), proof: Type.Array(Type.String()) }),
          ...errorResponses(400, 404),
        },
      },
    },
    async (request) => {
      const { index, size } = request.query;
      const proof = await logOf(request.params.node).proveInclusion(index, size);
      return { index, size, proof: proof.map((h) => h.toString('base64')) };
    },
  );

  app.get(
    '/log/:node/proof/consistency',
    {
      config: { roles: ['auditor'] },
      schema: {
        summary: 'Consistency proof between two published tree sizes (RFC 9162 §2.1.4)',
        tags: ['log'],
        params: NodeParam,
        querystring: ProofQuery.consistency,
        response: {
          200: Type.Object({ from: Type.Integer(), to: Type.Integer(), proof: Type.Array(Type.String()) }),
          ...errorResponses(400, 404),
        },
      },
    },
    async (request) => {
      const { from, to } = request.query;
      const proof = await logOf(request.params.node).proveConsistency(from, to);
      return { from, to, proof: proof.map((h) => h.toString('base64')) };
    },
  );
};
