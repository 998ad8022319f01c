import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../http/authenticate.js';
import { errorResponses, NextCursor, pageQuery } from '../../http/schemas.js';
import { MAX_COMMENT_LENGTH, MAX_TAG_LENGTH } from '../../shared/sample-tag.js';
import type { SampleCatalogue } from './sample-catalogue.js';

const HashParam = Type.String({ description: 'MD5, SHA-1, SHA-256 or SHA-512 in hex', maxLength: 256 });
const TagParam = Type.String({
  description: 'a lower-case word or namespace:value, e.g. family:emotet',
  maxLength: MAX_TAG_LENGTH * 2,
});
const Verdict = Type.Union([Type.Literal('malicious'), Type.Literal('suspicious'), Type.Literal('clean')]);
const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()]);

const TagChange = Type.Object({
  sha256: Type.String(),
  tag: Type.String(),
  sites: Type.Array(Type.String(), {
    description: 'the sites of your token holding the sample, each changed',
  }),
  changed: Type.Boolean({ description: 'false when every site had it so already' }),
});

const Comment = Type.Object({
  id: Type.String(),
  sha256: Type.String(),
  text: Type.String(),
  createdAt: Type.String(),
  author: Type.Object({ role: Type.String(), token: Type.String() }),
});

const SampleHitView = Type.Object({
  sha256: Type.String(),
  sha1: Type.String(),
  md5: Type.String(),
  sha512: Type.String(),
  size: Type.Integer(),
  type: Nullable(Type.String({ description: 'media type from the magic bytes; null until computed' })),
  site: Type.String(),
  firstSeen: Type.String(),
  lastSeen: Type.String(),
  tags: Type.Array(Type.String()),
  verdict: Nullable(Type.String()),
  threat: Nullable(Type.String()),
});

/** type/subtype in lower case (RFC 6838 names), as the sites record them. */
const MEDIA_TYPE_PATTERN = '^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$';

const SimilarSampleView = Type.Object({
  sha256: Type.String(),
  sha1: Type.String(),
  md5: Type.String(),
  sha512: Type.String(),
  size: Type.Integer(),
  site: Type.String(),
  tlsh: Type.String(),
  ssdeep: Nullable(Type.String()),
  distance: Type.Integer({ description: 'TLSH distance to the sample (0: the same digest)' }),
  ssdeepScore: Type.Union([Type.Integer(), Type.Null()], {
    description: "ssdeep's match score (0-100) against the sample's; null when either has no ssdeep",
  }),
});

/** TLSH distances reach about 1000 at most between real digests; beyond, every sample is "near". */
const MAX_SIMILAR_DISTANCE = 2000;

const IsoDateTime = Type.String({ format: 'date-time', maxLength: 64 });

export interface CatalogueRoutesOptions {
  readonly catalogue: SampleCatalogue;
}

/** Search over the token's sites, and analysts' tags and comments on a sample (docs/catalogue.md). */
export const catalogueRoutes: FastifyPluginAsyncTypebox<CatalogueRoutesOptions> = async (app, options) => {
  const { catalogue } = options;

  app.get(
    '/samples',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: 'Search the samples of your sites, newest first (one item per sample and site holding it)',
        tags: ['samples'],
        querystring: Type.Object(
          {
            type: Type.Optional(
              Type.String({
                maxLength: 128,
                pattern: MEDIA_TYPE_PATTERN,
                description: 'media type from the magic bytes, exactly, e.g. application/x-msdownload',
              }),
            ),
            minSize: Type.Optional(Type.Integer({ minimum: 0 })),
            maxSize: Type.Optional(Type.Integer({ minimum: 0 })),
            firstSeenFrom: Type.Optional(IsoDateTime),
            firstSeenTo: Type.Optional(IsoDateTime),
            verdict: Type.Optional(Verdict),
            threat: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
            tag: Type.Optional(Type.String({ maxLength: MAX_TAG_LENGTH * 2 })),
            site: Type.Optional(Type.String({ maxLength: 64 })),
            ...pageQuery(100, 1000),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            samples: Type.Array(SampleHitView),
            next: NextCursor,
            total: Type.Union([Type.Integer(), Type.Null()], {
              description:
                'every match; given when one site is searched without verdict or threat, else null',
            }),
            unavailableSites: Type.Array(Type.String()),
          }),
          ...errorResponses(400, 503),
        },
      },
    },
    async (request) => {
      const { firstSeenFrom, firstSeenTo, limit, ...rest } = request.query;
      const page = await catalogue.search(principalOf(request), {
        ...rest,
        limit: limit ?? 100,
        firstSeenFrom: firstSeenFrom === undefined ? undefined : new Date(firstSeenFrom),
        firstSeenTo: firstSeenTo === undefined ? undefined : new Date(firstSeenTo),
      });
      return {
        ...page,
        samples: page.samples.map((s) => ({ ...s, tags: [...s.tags] })),
        unavailableSites: [...page.unavailableSites],
      };
    },
  );

  app.get(
    '/samples/:hash/similar',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: 'Samples similar to this one by TLSH distance at your sites, nearest first',
        tags: ['samples'],
        params: Type.Object({ hash: HashParam }),
        querystring: Type.Object(
          {
            maxDistance: Type.Optional(
              Type.Integer({
                minimum: 0,
                maximum: MAX_SIMILAR_DISTANCE,
                description: 'TLSH distance at most (inclusive); default 100',
              }),
            ),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'default 50' })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            sha256: Type.String(),
            tlsh: Nullable(
              Type.String({ description: 'the digest queried; null: none recorded, no answers' }),
            ),
            ssdeep: Nullable(Type.String()),
            samples: Type.Array(SimilarSampleView),
            unavailableSites: Type.Array(Type.String()),
          }),
          ...errorResponses(400, 404, 503),
        },
      },
    },
    async (request) => {
      const page = await catalogue.similar(principalOf(request), request.params.hash, {
        maxDistance: request.query.maxDistance ?? 100,
        limit: request.query.limit ?? 50,
      });
      return { ...page, samples: [...page.samples], unavailableSites: [...page.unavailableSites] };
    },
  );

  // The tag is in the path: a body would be a mistake to report, not one to ignore.
  const tagRoute = {
    config: { roles: ['analyst'], noBody: true },
    schema: {
      tags: ['samples'],
      params: Type.Object({ hash: HashParam, tag: TagParam }),
      response: { 200: TagChange, ...errorResponses(400, 404, 503) },
    },
  } as const;

  app.put(
    '/samples/:hash/tags/:tag',
    {
      ...tagRoute,
      schema: { ...tagRoute.schema, summary: 'Tag a sample at each of your sites holding it; logged there' },
    },
    async (request) => {
      const changed = await catalogue.tag(principalOf(request), request.params.hash, request.params.tag);
      return { ...changed, sites: [...changed.sites] };
    },
  );

  app.delete(
    '/samples/:hash/tags/:tag',
    {
      ...tagRoute,
      schema: {
        ...tagRoute.schema,
        summary: 'Remove a tag at each of your sites holding the sample; logged there',
      },
    },
    async (request) => {
      const changed = await catalogue.untag(principalOf(request), request.params.hash, request.params.tag);
      return { ...changed, sites: [...changed.sites] };
    },
  );

  app.post(
    '/samples/:hash/comments',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: 'Comment on a sample (technical notes only, never personal data); logged at its sites',
        tags: ['samples'],
        params: Type.Object({ hash: HashParam }),
        body: Type.Object(
          { text: Type.String({ minLength: 1, maxLength: MAX_COMMENT_LENGTH * 2 }) },
          { additionalProperties: false },
        ),
        response: { 201: Comment, ...errorResponses(400, 404, 503) },
      },
    },
    async (request, reply) => {
      const comment = await catalogue.comment(principalOf(request), request.params.hash, request.body.text);
      return reply.status(201).send(comment);
    },
  );

  app.get(
    '/samples/:hash/comments',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: 'Comments on a sample, oldest first',
        tags: ['samples'],
        params: Type.Object({ hash: HashParam }),
        querystring: Type.Object(pageQuery(100, 1000), { additionalProperties: false }),
        response: {
          200: Type.Object({ comments: Type.Array(Comment), next: NextCursor }),
          ...errorResponses(400, 404, 503),
        },
      },
    },
    (request) =>
      catalogue.comments(principalOf(request), request.params.hash, {
        limit: request.query.limit ?? 100,
        cursor: request.query.cursor,
      }),
  );
};
