import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../http/authenticate.js';
import { CountryCode, errorResponses } from '../../http/schemas.js';
import { batchBuffers } from '../../shared/buffer-pool.js';
import { StatsError } from '../../shared/stats-errors.js';
import type { StatsAnswer, StatsRouter } from './stats-router.js';

export const NDJSON_CONTENT_TYPE = 'application/x-ndjson';

export interface StatsRoutesOptions {
  readonly stats: StatsRouter;
  readonly maxBatchBytes: number;
  /** `stats.minGroupSize`, said with each answer so a reader can tell what `suppressed` withheld. */
  readonly minGroupSize: number;
}

const Range = {
  from: Type.Optional(
    Type.String({ maxLength: 64, description: 'inclusive; date (UTC midnight) or date-time' }),
  ),
  to: Type.Optional(
    Type.String({ maxLength: 64, description: 'exclusive; date (UTC midnight) or date-time' }),
  ),
  site: Type.Optional(Type.String({ maxLength: 64, description: 'one of your sites; default: all of them' })),
};

const Answer = (row: ReturnType<typeof Type.Object>) =>
  Type.Object({
    rows: Type.Array(row),
    suppressed: Type.Integer({ description: 'groups withheld: fewer than stats.minGroupSize installations' }),
    truncated: Type.Boolean({ description: 'more groups than `limit`' }),
    minGroupSize: Type.Integer({
      description: 'the fewest installations a group shown has (stats.minGroupSize)',
    }),
  });

const Counts = { events: Type.Integer(), installations: Type.Integer() };
const NullableText = Type.Union([Type.String(), Type.Null()]);

export const statsRoutes: FastifyPluginAsyncTypebox<StatsRoutesOptions> = async (app, options) => {
  const { stats, maxBatchBytes, minGroupSize } = options;
  app.addContentTypeParser(NDJSON_CONTENT_TYPE, (_request, payload, done) => {
    readLimited(payload, maxBatchBytes).then(
      (body) => done(null, body),
      (error: Error) => done(error, undefined),
    );
  });

  app.post(
    '/events',
    {
      config: { roles: ['product'] },
      schema: {
        summary: 'Report telemetry: NDJSON, one event a line; acknowledged events are durable',
        tags: ['statistics'],
        consumes: [NDJSON_CONTENT_TYPE],
        response: {
          200: Type.Object({
            accepted: Type.Integer(),
            rejected: Type.Array(Type.Object({ line: Type.Integer(), error: Type.String() })),
          }),
          ...errorResponses(400, 413, 415, 503),
        },
      },
    },
    async (request) => {
      const contentType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      if (contentType !== NDJSON_CONTENT_TYPE || !Buffer.isBuffer(request.body)) {
        throw new StatsError('UNSUPPORTED_MEDIA_TYPE', `send events as ${NDJSON_CONTENT_TYPE}`);
      }
      try {
        const result = await stats.ingest(principalOf(request), request.body);
        return { accepted: result.accepted, rejected: [...result.rejected] };
      } finally {
        batchBuffers.give(request.body);
      }
    },
  );

  app.get(
    '/stats/detections',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary:
          'Event counts by day, country, threat, verdict and/or type, over your sites; small groups suppressed',
        tags: ['statistics'],
        querystring: Type.Object({
          ...Range,
          groupBy: Type.Optional(
            Type.String({
              maxLength: 64,
              description: 'comma-separated: day, country, threat, verdict, type',
            }),
          ),
          type: Type.Optional(
            Type.String({ maxLength: 64, description: 'comma-separated event types; default: all' }),
          ),
          limit: Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 }),
        }),
        response: {
          200: Answer(
            Type.Object({
              day: Type.Optional(NullableText),
              country: Type.Optional(NullableText),
              threat: Type.Optional(NullableText),
              verdict: Type.Optional(NullableText),
              type: Type.Optional(NullableText),
              ...Counts,
            }),
          ),
          ...errorResponses(400, 503),
        },
      },
    },
    async (request) =>
      viewOf(await stats.detections(principalOf(request), withoutUndefined(request.query)), minGroupSize),
  );

  app.get(
    '/stats/top-threats',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: 'The threats detected most often, over your sites; small groups suppressed',
        tags: ['statistics'],
        querystring: Type.Object({
          ...Range,
          country: Type.Optional(CountryCode),
          limit: Type.Integer({ minimum: 1, maximum: 1000, default: 10 }),
        }),
        response: {
          200: Answer(Type.Object({ threat: Type.String(), ...Counts })),
          ...errorResponses(400, 503),
        },
      },
    },
    async (request) =>
      viewOf(await stats.topThreats(principalOf(request), withoutUndefined(request.query)), minGroupSize),
  );
};

/**
 * Reads the whole body, refusing it as soon as it passes `limit` bytes. The rest is drained
 * and dropped rather than the socket destroyed, so the refusal can still be answered.
 */
function readLimited(payload: Readable, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) {
        chunks.push(chunk);
        return;
      }
      payload.off('data', onData);
      payload.off('end', onEnd);
      payload.resume();
      chunks.length = 0;
      reject(
        new StatsError('EVENT_BATCH_TOO_LARGE', `an event batch is limited to ${limit} bytes`, {
          details: { limit },
        }),
      );
    };
    const onEnd = () => {
      const body = batchBuffers.take(size);
      let at = 0;
      for (const chunk of chunks) at += chunk.copy(body, at);
      resolve(body);
    };
    payload.on('data', onData);
    payload.once('end', onEnd);
    payload.once('error', reject);
  });
}

function viewOf(answer: StatsAnswer, minGroupSize: number) {
  return { rows: [...answer.rows], suppressed: answer.suppressed, truncated: answer.truncated, minGroupSize };
}

/** Optional query members arrive as absent, never as `undefined` (exactOptionalPropertyTypes). */
function withoutUndefined<T extends object>(query: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
