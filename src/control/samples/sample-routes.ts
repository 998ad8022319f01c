import { PassThrough, type Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { principalOf } from '../../http/authenticate.js';
import { errorResponses } from '../../http/schemas.js';
import { VaultError } from '../../shared/vault-errors.js';
import type { SampleCatalogue } from './sample-catalogue.js';
import type { SampleRouter } from './sample-router.js';

const Digests = {
  sha256: Type.String(),
  sha1: Type.String(),
  md5: Type.String(),
  sha512: Type.String(),
  size: Type.Integer(),
};

const HashParam = Type.Object({
  hash: Type.String({ description: 'MD5, SHA-1, SHA-256 or SHA-512 in hex', maxLength: 256 }),
});

export interface SampleRoutesOptions {
  readonly samples: SampleRouter;
  /** Adds the sample's tags and comment count to its description. */
  readonly catalogue: SampleCatalogue;
  readonly maxSampleBytes: number;
}

export const sampleRoutes: FastifyPluginAsyncTypebox<SampleRoutesOptions> = async (app, options) => {
  const { samples, catalogue, maxSampleBytes } = options;
  // Hand the raw request stream to the vault: a sample is never buffered whole.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.post(
    '/samples',
    {
      config: { roles: ['product'] },
      schema: {
        summary: 'Submit a suspicious file (streamed), stored encrypted at the installation’s site',
        tags: ['samples'],
        consumes: ['application/octet-stream'],
        querystring: Type.Object({
          installation: Type.String({ format: 'uuid' }),
          filename: Type.Optional(Type.String({ maxLength: 4096, pattern: '^[^\\x00]*$' })),
        }),
        response: {
          200: Type.Object({ ...Digests, site: Type.String(), new: Type.Boolean() }),
          201: Type.Object({ ...Digests, site: Type.String(), new: Type.Boolean() }),
          ...errorResponses(400, 404, 409, 413, 415, 503),
        },
      },
    },
    async (request, reply) => {
      const contentType = request.headers['content-type']?.split(';')[0]?.trim().toLowerCase();
      if (contentType !== 'application/octet-stream') {
        throw new VaultError('UNSUPPORTED_MEDIA_TYPE', 'send the file as application/octet-stream');
      }
      const declared = Number(request.headers['content-length'] ?? Number.NaN);
      if (declared > maxSampleBytes) {
        reply.header('connection', 'close');
        throw new VaultError('SAMPLE_TOO_LARGE', `samples are limited to ${maxSampleBytes} bytes`, {
          details: { limit: maxSampleBytes },
        });
      }
      if (request.body === undefined || declared === 0) {
        throw new VaultError('EMPTY_SAMPLE', 'the request body is empty');
      }
      try {
        const stored = await samples.submit(principalOf(request), {
          installationId: request.query.installation,
          filename: request.query.filename ?? '',
          body: detachable(request.body as Readable),
          size: Number.isSafeInteger(declared) ? declared : undefined,
        });
        return reply.status(stored.new ? 201 : 200).send(stored);
      } catch (error) {
        // The rest of the body may still be arriving; do not keep the connection for it.
        reply.header('connection', 'close');
        throw error;
      }
    },
  );

  app.get(
    '/samples/:hash',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: 'Hashes and whereabouts of a sample, at the sites your token may see',
        tags: ['samples'],
        params: HashParam,
        response: {
          200: Type.Object({
            ...Digests,
            ssdeep: Type.Union([Type.String(), Type.Null()], {
              description: 'blocksize:hash:hash, as the ssdeep command prints it; null until computed',
            }),
            tlsh: Type.Union([Type.String(), Type.Null()], {
              description:
                'TLSH (128 buckets, 1-byte checksum): T1 and 70 hex digits; null under 256 bytes, with too little variety, or until computed',
            }),
            type: Type.Union([Type.String(), Type.Null()], {
              description:
                'media type from the magic bytes, e.g. application/x-msdownload; null until computed',
            }),
            sites: Type.Array(
              Type.Object({
                site: Type.String(),
                firstSeen: Type.String(),
                lastSeen: Type.String(),
                submissions: Type.Integer(),
              }),
            ),
            unavailableSites: Type.Array(Type.String(), {
              description: 'sites you may see that did not answer (the sample may be there too)',
            }),
            tags: Type.Array(Type.String(), { description: 'analysts’ tags, at any of those sites' }),
            comments: Type.Integer({ description: 'comments on the sample (GET …/comments lists them)' }),
          }),
          ...errorResponses(400, 404, 503),
        },
      },
    },
    async (request) => {
      const description = await samples.describe(principalOf(request), request.params.hash);
      const notes = await catalogue.notesOf(
        description.sha256,
        description.sites.map((s) => s.site),
      );
      return {
        ...description,
        ...notes,
        sites: [...description.sites],
        unavailableSites: [...description.unavailableSites],
      };
    },
  );

  app.get(
    '/samples/:hash/download',
    {
      config: { roles: ['analyst'] },
      schema: {
        summary: 'Download a sample as an AES-256 zip (password `infected`); every download is logged',
        tags: ['samples'],
        params: HashParam,
        querystring: Type.Object({ site: Type.Optional(Type.String({ maxLength: 64 })) }),
        produces: ['application/zip'],
        response: { ...errorResponses(400, 404, 503) },
      },
    },
    async (request, reply) => {
      const download = await samples.download(principalOf(request), request.params.hash, request.query.site);
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${download.sha256}.zip"`)
        .header('x-glasshouse-site', download.site)
        .send(download.zip);
    },
  );
};

/**
 * A stage between the socket and the vault: when the vault stops early (too large, unknown
 * installation) it destroys this stage, not the request, so the error can still be answered.
 */
function detachable(request: Readable): Readable {
  const stage = new PassThrough({ highWaterMark: 1 << 20 });
  request.on('error', (error) => stage.destroy(error));
  stage.on('close', () => request.unpipe(stage));
  return request.pipe(stage);
}
