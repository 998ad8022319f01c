import type { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Value } from 'typebox/value';
import { LedgerError } from '../../ledger/ledger-errors.js';
import type { TransparencyLog } from '../../ledger/transparency-log.js';
import type { PeerSites } from '../../ports/site-client.js';
import {
  aggregationFromWire,
  decodeHeaderJson,
  IDEMPOTENCY_KEY_HEADER,
  OCTET_STREAM,
  rangeFromWire,
  SAMPLE_HEADER,
  SITE_ROUTES,
  SUBMISSION_HEADER,
} from '../../ports/site-wire.js';
import { StatsError } from '../../shared/stats-errors.js';
import { VaultError } from '../../shared/vault-errors.js';
import type { SiteNode } from '../site-node.js';
import type { IdempotencyCache, RememberedAnswer } from './idempotency-cache.js';
import { limitedBody, readLimited } from './request-body.js';
import {
  ActorBody,
  AggregationBody,
  CommentBody,
  CommentParams,
  CommentsQuery,
  CommitBody,
  FindQuery,
  ImportFromPeerBody,
  ImportInstallationBody,
  InstallationParams,
  PurgeBody,
  RangeQuery,
  RelocatableSampleSchema,
  RelocationBody,
  ScanSamplesBody,
  SearchBody,
  Sha256Params,
  SimilarBody,
  SubmissionHeader,
  TagParams,
} from './site-api-schemas.js';

export interface SiteApiRoutesOptions {
  readonly site: SiteNode;
  readonly log: Pick<TransparencyLog, 'checkpoint' | 'readPublished'>;
  readonly idempotency: IdempotencyCache;
  /** Who called, as the TLS layer established it; keys the idempotency cache per peer. */
  readonly peerOf: (request: FastifyRequest) => string;
  readonly maxSampleBytes: number;
  /** JSON bodies and event batches: an installation's records for a copy, a batch of rows. */
  readonly maxBodyBytes: number;
  /** The site's clients to its peers: with them, `importSampleFrom` copies site to site. */
  readonly peers?: PeerSites;
}

/**
 * One route per `SiteClient` method (see ports/site-wire.ts). Routes stay thin: parse,
 * call the site, answer the port's result as JSON or as a stream.
 */
export const siteApiRoutes: FastifyPluginAsyncTypebox<SiteApiRoutesOptions> = async (app, options) => {
  const { site, log, maxSampleBytes, maxBodyBytes } = options;
  const r = SITE_ROUTES;
  // Sample bytes and event rows pass as they come: never buffered whole, never in a temp file.
  app.addContentTypeParser(OCTET_STREAM, (_request, payload, done) => done(null, payload));

  /** Runs a mutating call once per Idempotency-Key (see idempotency-cache.ts). */
  const once = (
    request: FastifyRequest,
    work: () => Promise<RememberedAnswer>,
  ): Promise<RememberedAnswer> => {
    const key = request.headers[IDEMPOTENCY_KEY_HEADER];
    if (typeof key !== 'string' || key.length === 0 || key.length > 128) return work();
    const scope = `${options.peerOf(request)} ${request.method} ${request.url} ${key}`;
    const remembered = options.idempotency.answer(scope, work);
    // A repeat of a streamed call sends its body again: read it away, unused.
    if (remembered.repeat && isStream(request.body)) request.body.resume();
    return remembered.answer;
  };
  const answerOnce = async (
    request: FastifyRequest,
    reply: FastifyReply,
    work: () => Promise<RememberedAnswer>,
  ) => send(reply, await once(request, work));

  app.get(r.health.path, async (_request, reply) => {
    await site.health();
    return reply.status(204).send();
  });

  app.post(
    r.admitInstallation.path,
    { schema: { params: InstallationParams, body: ActorBody } },
    (request, reply) =>
      answerOnce(request, reply, async () => {
        await site.admitInstallation(request.params.installationId, request.body.actor);
        return { status: 204, body: undefined };
      }),
  );

  app.post(r.storeSample.path, { bodyLimit: maxSampleBytes }, async (request, reply) => {
    const submission = decodeHeaderJson(request.headers[SUBMISSION_HEADER]);
    if (!Value.Check(SubmissionHeader, submission)) {
      throw new VaultError('UNSUPPORTED_MEDIA_TYPE', `send the submission in ${SUBMISSION_HEADER}`);
    }
    const body = streamBody(request);
    if (Number(request.headers['content-length'] ?? Number.NaN) > maxSampleBytes) {
      throw new VaultError('SAMPLE_TOO_LARGE', `samples are limited to ${maxSampleBytes} bytes`, {
        details: { limit: maxSampleBytes },
      });
    }
    return answerEarly(request, reply, () =>
      once(request, async () => {
        const stored = await site.storeSample({ ...submission, body: limitedBody(body, maxSampleBytes) });
        return { status: stored.new ? 201 : 200, body: stored };
      }),
    );
  });

  app.get(r.findSample.path, { schema: { querystring: FindQuery } }, async (request) => ({
    value: await site.findSample(request.query),
  }));

  app.post(
    r.openSampleForDownload.path,
    { schema: { params: Sha256Params, body: ActorBody } },
    async (request, reply) => {
      const plaintext = await site.openSampleForDownload(request.params.sha256, request.body.actor);
      return reply.type(OCTET_STREAM).send(plaintext);
    },
  );

  app.get(r.usage.path, async () => site.usage());

  app.put(r.tagSample.path, { schema: { params: TagParams, body: ActorBody } }, (request) =>
    site.tagSample(request.params.sha256, request.params.tag, request.body.actor),
  );

  app.post(r.untagSample.path, { schema: { params: TagParams, body: ActorBody } }, (request) =>
    site.untagSample(request.params.sha256, request.params.tag, request.body.actor),
  );

  app.put(r.commentOnSample.path, { schema: { params: CommentParams, body: CommentBody } }, (request) => {
    const { actor, ...fields } = request.body;
    return site.commentOnSample({ ...fields, id: request.params.id, sha256: request.params.sha256 }, actor);
  });

  app.get(
    r.listSampleComments.path,
    { schema: { params: Sha256Params, querystring: CommentsQuery } },
    async (request) => {
      const { limit, afterCreatedAt, afterId } = request.query;
      const after =
        afterCreatedAt === undefined || afterId === undefined
          ? {}
          : { after: { createdAt: afterCreatedAt, id: afterId } };
      return { comments: await site.listSampleComments(request.params.sha256, { limit, ...after }) };
    },
  );

  app.get(r.sampleNotes.path, { schema: { params: Sha256Params } }, (request) =>
    site.sampleNotes(request.params.sha256),
  );

  app.post(r.searchSamples.path, { schema: { body: SearchBody } }, (request) =>
    site.searchSamples(request.body),
  );

  app.post(r.similarSamples.path, { schema: { body: SimilarBody } }, async (request) => ({
    samples: await site.similarSamples(request.body),
  }));

  app.post(r.appendEvents.path, (request, reply) =>
    answerOnce(request, reply, async () => {
      const rows = await readLimited(
        streamBody(request),
        maxBodyBytes,
        () => new StatsError('EVENT_BATCH_TOO_LARGE', `a batch holds at most ${maxBodyBytes} bytes`),
      );
      await site.appendEvents(rows);
      return { status: 204, body: undefined };
    }),
  );

  app.post(r.aggregateEvents.path, { schema: { body: AggregationBody } }, (request) =>
    site.aggregateEvents(aggregationFromWire(request.body)),
  );

  app.post(
    r.eraseInstallationEvents.path,
    { schema: { params: InstallationParams, body: ActorBody } },
    (request, reply) =>
      answerOnce(request, reply, async () => ({
        status: 200,
        body: await site.eraseInstallationEvents(request.params.installationId, request.body.actor),
      })),
  );

  app.get(
    r.installationRecords.path,
    { schema: { params: InstallationParams, querystring: RangeQuery } },
    async (request) => ({
      value: await site.installationRecords(request.params.installationId, rangeFromWire(request.query)),
    }),
  );

  app.get(
    r.countInstallationRecords.path,
    { schema: { params: InstallationParams, querystring: RangeQuery } },
    async (request) => ({
      value: await site.countInstallationRecords(request.params.installationId, rangeFromWire(request.query)),
    }),
  );

  app.post(
    r.commitInstallation.path,
    { schema: { params: InstallationParams, body: CommitBody } },
    async (request) => ({
      commitment: await site.commitInstallation(
        request.params.installationId,
        request.body.field,
        request.body.value,
      ),
    }),
  );

  app.post(
    r.eraseInstallationSubmissions.path,
    { schema: { params: InstallationParams } },
    (request, reply) =>
      answerOnce(request, reply, async () => ({
        status: 200,
        body: await site.eraseInstallationSubmissions(request.params.installationId),
      })),
  );

  app.post(
    r.eraseInstallationKey.path,
    { schema: { params: InstallationParams, body: ActorBody } },
    (request, reply) =>
      answerOnce(request, reply, async () => ({
        status: 200,
        body: await site.eraseInstallationKey(request.params.installationId, request.body.actor),
      })),
  );

  app.get(r.exportInstallation.path, { schema: { params: InstallationParams } }, (request) =>
    site.exportInstallation(request.params.installationId),
  );

  app.get(r.inventoryInstallation.path, { schema: { params: InstallationParams } }, (request) =>
    site.inventoryInstallation(request.params.installationId),
  );

  app.get(r.openSamplePlaintext.path, { schema: { params: Sha256Params } }, async (request, reply) => {
    const plaintext = await site.openSamplePlaintext(request.params.sha256);
    return reply.type(OCTET_STREAM).send(plaintext);
  });

  app.put(
    r.importSample.path,
    { bodyLimit: maxSampleBytes, schema: { params: Sha256Params } },
    async (request, reply) => {
      const record = decodeHeaderJson(request.headers[SAMPLE_HEADER]);
      if (
        !Value.Check(RelocatableSampleSchema, record) ||
        record.sha256 !== request.params.sha256.toLowerCase()
      ) {
        throw new VaultError('UNSUPPORTED_MEDIA_TYPE', `describe the sample in ${SAMPLE_HEADER}`);
      }
      const body = streamBody(request);
      if (Number(request.headers['content-length'] ?? Number.NaN) > maxSampleBytes) {
        throw new VaultError('SAMPLE_TOO_LARGE', `samples are limited to ${maxSampleBytes} bytes`, {
          details: { limit: maxSampleBytes },
        });
      }
      return answerEarly(request, reply, () =>
        once(request, async () => ({
          status: 200,
          body: await site.importSample(record, limitedBody(body, maxSampleBytes)),
        })),
      );
    },
  );

  const peers = options.peers;
  if (peers !== undefined) {
    app.post(
      r.importSampleFrom.path,
      { schema: { params: Sha256Params, body: ImportFromPeerBody } },
      (request, reply) => {
        const { record, source } = request.body;
        if (record.sha256 !== request.params.sha256.toLowerCase()) {
          throw Object.assign(new Error('the record names another sample than the path'), {
            statusCode: 400,
            code: 'VALIDATION_FAILED',
          });
        }
        return answerOnce(request, reply, async () => {
          // Held here already (another installation's, or a batch before): the peer is not
          // asked, and the caller needs no look-up of its own before each copy.
          if ((await site.findSample({ kind: 'sha256', value: record.sha256 })) !== undefined) {
            return { status: 200, body: { copied: false } };
          }
          const plaintext = await peers.openSamplePlaintext(source, record.sha256);
          // Gathered as an upload is (a peer's TLS records are 16 KiB); the peer's answer goes
          // when the site stops early (it holds the sample already).
          const body = limitedBody(plaintext, maxSampleBytes);
          body.once('close', () => plaintext.destroy());
          return { status: 200, body: await site.importSample(record, body) };
        });
      },
    );
  }

  app.put(
    r.importInstallation.path,
    { schema: { params: InstallationParams, body: ImportInstallationBody } },
    (request, reply) =>
      answerOnce(request, reply, async () => {
        // The path names the installation; the body's own id is only its echo.
        const records = { ...request.body.records, installationId: request.params.installationId };
        return { status: 200, body: await site.importInstallation(records, request.body.replace) };
      }),
  );

  app.get(r.verifySample.path, { schema: { params: Sha256Params } }, async (request) => ({
    ok: await site.verifySample(request.params.sha256),
  }));

  app.get(r.authenticateSample.path, { schema: { params: Sha256Params } }, async (request) => ({
    ok: await site.authenticateSample(request.params.sha256),
  }));

  app.post(r.purgeInstallations.path, { schema: { body: PurgeBody } }, (request, reply) =>
    answerOnce(request, reply, async () => ({
      status: 200,
      body: await site.purgeInstallations(request.body.installationIds),
    })),
  );

  app.post(r.recordRelocation.path, { schema: { body: RelocationBody } }, (request, reply) =>
    answerOnce(request, reply, async () => {
      await site.recordRelocation(request.body.entry, request.body.actor);
      return { status: 204, body: undefined };
    }),
  );

  app.get(r.scanResidency.path, () => site.scanResidency());

  app.post(r.scanSamples.path, { schema: { body: ScanSamplesBody } }, (request) =>
    site.scanSamples(request.body),
  );

  app.get(r.readLogTile.path, async (request, reply) => {
    const path = (request.params as { '*': string })['*'];
    const data =
      path === 'checkpoint' ? await textOrUndefined(log.checkpoint()) : await log.readPublished(path);
    if (data === undefined) throw new LedgerError('TILE_NOT_FOUND', `no published file ${path}`);
    return reply.type(OCTET_STREAM).send(data);
  });
};

async function textOrUndefined(text: Promise<string | undefined>): Promise<Buffer | undefined> {
  const value = await text;
  return value === undefined ? undefined : Buffer.from(value, 'utf8');
}

function isStream(body: unknown): body is Readable {
  return typeof (body as Readable | undefined)?.pipe === 'function';
}

function streamBody(request: FastifyRequest): Readable {
  if (!isStream(request.body)) {
    throw new VaultError('UNSUPPORTED_MEDIA_TYPE', `send the bytes as ${OCTET_STREAM}`);
  }
  return request.body;
}

/**
 * When the site answers before the body is read through (it held the sample already, or
 * refused it), the rest of the body is not worth keeping, but the connection stays open and
 * what still comes is read and dropped, until the client, which stops sending on the answer,
 * closes it. Closing first raced the client's writes: its write failed (EPIPE) before it read
 * the answer, and a site that had answered looked unavailable.
 */
async function answerEarly(
  request: FastifyRequest,
  reply: FastifyReply,
  work: () => Promise<RememberedAnswer>,
): Promise<FastifyReply> {
  reply.raw.once('finish', () => {
    if (!request.raw.readableEnded) request.raw.resume();
  });
  return send(reply, await work());
}

function send(reply: FastifyReply, answer: RememberedAnswer): FastifyReply {
  reply.status(answer.status);
  return answer.body === undefined ? reply.send() : reply.send(answer.body);
}
