import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../http/authenticate.js';
import { errorResponses } from '../../http/schemas.js';
import { actorOf } from '../auth/roles.js';
import { LookupError } from './lookup-errors.js';
import { HashParam, LookupAnswerView, VerdictKind } from './lookup-schemas.js';
import { MAX_SOURCE_LENGTH, MAX_THREAT_LENGTH } from './verdict.js';
import type { FeedFormat } from './verdict-import.js';
import type { VerdictService } from './verdict-service.js';

/** Feed content types: NDJSON (also under its other common names) and CSV. */
export const FEED_CONTENT_TYPES: Readonly<Record<string, FeedFormat>> = {
  'application/x-ndjson': 'ndjson',
  'application/ndjson': 'ndjson',
  'application/jsonl': 'ndjson',
  'text/csv': 'csv',
};

const SeenTime = Type.String({ maxLength: 64, description: 'date (YYYY-MM-DD) or date-time with a zone' });

/** Analysts set verdicts one at a time, or load feeds of millions of lines (streamed). */
export const verdictRoutes: FastifyPluginAsyncTypebox<{ verdicts: VerdictService }> = async (
  app,
  { verdicts },
) => {
  // The feed goes to the parser as a stream: a 1 GB file is never held whole.
  app.addContentTypeParser(Object.keys(FEED_CONTENT_TYPES), (_request, payload, done) => done(null, payload));

  // The analyst's read of what products are told: the same answer as `GET /v1/lookup/{hash}`,
  // which stays product-only (its fast path admits product tokens alone).
  app.get(
    '/verdicts/:hash',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary:
          'The verdict on one hash (MD5, SHA-1 or SHA-256), as products are told it; `unknown` when there is none',
        tags: ['lookup'],
        params: HashParam,
        response: { 200: LookupAnswerView, ...errorResponses(400) },
      },
    },
    async (request) => verdicts.lookup(request.params.hash),
  );

  app.put(
    '/verdicts/:hash',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: 'Set the verdict on a hash; a known sample’s other hashes get it too. Logged.',
        tags: ['lookup'],
        params: HashParam,
        body: Type.Object(
          {
            verdict: VerdictKind,
            threat: Type.Optional(Type.String({ maxLength: MAX_THREAT_LENGTH })),
            firstSeen: Type.Optional(SeenTime),
            lastSeen: Type.Optional(SeenTime),
            source: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_SOURCE_LENGTH })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            hash: Type.String(),
            verdict: Type.String(),
            threat: Type.Unsafe<string | null>({ type: ['string', 'null'] }),
            firstSeen: Type.String(),
            hashes: Type.Array(Type.String()),
          }),
          ...errorResponses(400, 503),
        },
      },
    },
    async (request) => {
      const set = await verdicts.set(request.params.hash, request.body, principalOf(request));
      return { ...set, hashes: [...set.hashes] };
    },
  );

  app.post(
    '/verdicts/import',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: 'Load a verdict feed (NDJSON or CSV, streamed): all of it, or nothing if a line is bad',
        tags: ['lookup'],
        consumes: Object.keys(FEED_CONTENT_TYPES),
        querystring: Type.Object({
          skipBad: Type.Optional(
            Type.Boolean({ description: 'load the good lines of a feed with bad ones' }),
          ),
          source: Type.Optional(Type.String({ minLength: 1, maxLength: MAX_SOURCE_LENGTH })),
        }),
        response: {
          200: Type.Object({
            records: Type.Integer(),
            loaded: Type.Integer(),
            bad: Type.Integer(),
            badLines: Type.Array(Type.Object({ line: Type.Integer(), message: Type.String() })),
            bytes: Type.Integer(),
            sha256: Type.String(),
          }),
          ...errorResponses(400, 415),
        },
      },
    },
    async (request) => {
      const type = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase() ?? '';
      const format = FEED_CONTENT_TYPES[type];
      if (format === undefined || request.body === undefined) {
        throw new LookupError('UNSUPPORTED_MEDIA_TYPE', 'send the feed as application/x-ndjson or text/csv');
      }
      const principal = principalOf(request);
      const result = await verdicts.import(
        request.body as Readable,
        { format, skipBad: request.query.skipBad === true, source: request.query.source },
        actorOf(principal),
      );
      return { ...result, badLines: [...result.badLines] };
    },
  );
};
