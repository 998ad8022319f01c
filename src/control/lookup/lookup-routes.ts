import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { errorResponses } from '../../http/schemas.js';
import type { Role } from '../auth/roles.js';
import { batchBodyLimit, batchTooLarge, NDJSON } from './lookup-batch.js';
import { BatchItemView, HashParam, LookupAnswerView } from './lookup-schemas.js';
import type { LookupAnswer } from './verdict-index.js';
import type { VerdictService } from './verdict-service.js';

export interface LookupRoutesOptions {
  readonly verdicts: VerdictService;
  readonly maxBatch: number;
}

/** Who may look hashes up (also what the single look-up's fast path admits). */
export const LOOKUP_ROLES: readonly Role[] = ['product'];
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Hash look-ups for products, answered from the in-memory index. The batch route takes JSON
 * (`{"hashes": [...]}` → `{"results": [...]}`) or, faster, `text/plain` with one hash a
 * line → NDJSON, one answer a line in the same order, without the hash (line N answers line
 * N); a malformed hash gets a per-item error that echoes it.
 */
export const lookupRoutes: FastifyPluginAsyncTypebox<LookupRoutesOptions> = async (app, options) => {
  const { verdicts, maxBatch } = options;

  // Most look-ups, single and text/plain batches, are answered before they reach these
  // routes: see lookup-fast-path.ts.
  app.get(
    '/lookup/:hash',
    {
      config: { roles: LOOKUP_ROLES },
      // The hottest routes: per-request info lines would cost more than the look-up itself.
      logLevel: 'warn',
      schema: {
        summary: 'The verdict on one hash (MD5, SHA-1 or SHA-256); `unknown` when there is none',
        tags: ['lookup'],
        params: HashParam,
        response: { 200: LookupAnswerView, ...errorResponses(400) },
      },
    },
    // Built as text by the index: no answer object, no serializer (same shape as LookupAnswerView).
    async (request, reply) =>
      reply.type(JSON_TYPE).send(verdicts.lookupJson(request.params.hash) as unknown as LookupAnswer),
  );

  app.post(
    '/lookup',
    {
      config: { roles: LOOKUP_ROLES },
      // The hottest routes: per-request info lines would cost more than the look-up itself.
      logLevel: 'warn',
      bodyLimit: batchBodyLimit(maxBatch),
      schema: {
        summary: `Verdicts on up to ${maxBatch} hashes, in order: JSON, or text/plain (a hash a line) answered as NDJSON (line N answers line N, without the hash)`,
        tags: ['lookup'],
        consumes: ['application/json', 'text/plain'],
        produces: ['application/json', NDJSON],
        body: {
          content: {
            'application/json': {
              schema: Type.Object(
                { hashes: Type.Array(Type.String({ maxLength: 256 })) },
                { additionalProperties: false },
              ),
            },
            'text/plain': { schema: Type.String() },
          },
        },
        response: {
          200: Type.Object({ results: Type.Array(BatchItemView) }),
          ...errorResponses(400, 413, 415),
        },
      },
    },
    async (request, reply) => {
      if (typeof request.body === 'string') {
        const answer = verdicts.index.answerLines(request.body, maxBatch);
        if (answer === undefined) throw batchTooLarge(maxBatch);
        // Already bytes: Fastify sends a Buffer as it is, in one write.
        return reply.type(NDJSON).send(answer as unknown as { results: [] });
      }
      const { hashes } = request.body as { hashes: string[] };
      checkBatch(hashes.length, maxBatch);
      return { results: verdicts.lookupMany(hashes) };
    },
  );
};

function checkBatch(count: number, maxBatch: number): void {
  if (count > maxBatch) throw batchTooLarge(maxBatch);
}
