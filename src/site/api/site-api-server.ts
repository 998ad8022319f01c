import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyRequest } from 'fastify';
import { problem, sendProblem } from '../../http/problem.js';
import type { TransparencyLog } from '../../ledger/transparency-log.js';
import { type PeerRole, peerIdentity, type TlsMaterial } from '../../pki/certificates.js';
import type { PeerSites } from '../../ports/site-client.js';
import type { SiteNode } from '../site-node.js';
import { IdempotencyCache } from './idempotency-cache.js';
import { siteApiErrorHandler } from './site-api-errors.js';
import { siteApiRoutes } from './site-api-routes.js';

/** The control plane, and peer sites (a relocation copies from one site to another). */
const ADMITTED_ROLES: readonly PeerRole[] = ['control', 'site'];
/** JSON bodies and event batches: an installation's records for a copy, a batch of rows. */
const MAX_BODY_BYTES = 64 * 1024 * 1024;

export interface SiteApiOptions {
  readonly site: SiteNode;
  /** The site's log, whose published checkpoint and tiles the control plane serves. */
  readonly log: Pick<TransparencyLog, 'checkpoint' | 'readPublished'>;
  /** The deployment's CA, and this site's certificate and key (role `site`). */
  readonly tls: TlsMaterial;
  readonly host: string;
  readonly port: number;
  readonly now?: () => Date;
  /** Told of every failure answered with a 5xx (the answer itself says nothing more). */
  readonly onError?: (error: unknown) => void;
  /**
   * The site's clients to its peer sites: given, the control plane can have this site copy a
   * sample from a peer directly (`importSampleFrom`), the bytes never passing through it.
   */
  readonly peers?: PeerSites;
}

export interface SiteApi {
  /** `https://host:port`, with the port the server got (port 0 picks one). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * Serves one site's `SiteClient` over HTTPS with mutual TLS. The handshake refuses a client
 * without a certificate of the deployment's CA; each request then needs a certificate that
 * speaks for the control plane or a site (`FORBIDDEN_PEER` otherwise).
 *
 * @example
 * const api = await startSiteApi({ site, log, tls, host: '0.0.0.0', port: 8443 });
 */
export async function startSiteApi(options: SiteApiOptions): Promise<SiteApi> {
  const { tls } = options;
  const peers = new WeakMap<FastifyRequest, string>();
  const app = Fastify({
    https: { ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true },
    logger: false,
    bodyLimit: MAX_BODY_BYTES,
    routerOptions: { maxParamLength: 256 },
    // Idle keep-alive connections go at close; a stream in progress finishes first.
    forceCloseConnections: 'idle',
  });
  app.setErrorHandler(siteApiErrorHandler(options.onError ?? (() => undefined)));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problem(404, 'ROUTE_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`),
    ),
  );
  app.addHook('onRequest', async (request, reply) => {
    const peer = peerOf(request.raw.socket as TLSSocket);
    if (peer === undefined || !ADMITTED_ROLES.includes(peer.role)) {
      return sendProblem(
        reply,
        problem(
          403,
          'FORBIDDEN_PEER',
          'the client certificate speaks for neither the control plane nor a site',
        ),
      );
    }
    peers.set(request, `${peer.role}:${peer.name}`);
    return undefined;
  });
  await app.register(siteApiRoutes, {
    site: options.site,
    log: options.log,
    idempotency: new IdempotencyCache(options.now === undefined ? {} : { now: options.now }),
    peerOf: (request) => peers.get(request) ?? '',
    maxSampleBytes: options.site.maxSampleBytes,
    maxBodyBytes: MAX_BODY_BYTES,
    ...(options.peers === undefined ? {} : { peers: options.peers }),
  });
  await app.listen({ host: options.host, port: options.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `https://${host}:${port}`,
    close: () => app.close(),
  };
}

/** Who each connection speaks for: read once, as a keep-alive connection carries many calls. */
const peersOfSockets = new WeakMap<TLSSocket, ReturnType<typeof peerIdentity>>();

function peerOf(socket: TLSSocket): ReturnType<typeof peerIdentity> {
  if (peersOfSockets.has(socket)) return peersOfSockets.get(socket);
  // The handshake verified the chain (rejectUnauthorized); this reads who it speaks for.
  const certificate = socket.getPeerX509Certificate?.();
  const peer = certificate === undefined ? undefined : peerIdentity(certificate);
  peersOfSockets.set(socket, peer);
  return peer;
}
