import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ServerConfig } from '../config/config.js';
import { clientKey, type TrustedProxies } from './client-address.js';

export type ServerLimits = Pick<
  ServerConfig,
  | 'maxConnectionsPerAddress'
  | 'headersTimeoutMs'
  | 'requestTimeoutMs'
  | 'keepAliveTimeoutMs'
  | 'minBodyBytesPerSecond'
  | 'bodyGraceMs'
>;

/**
 * How often Node checks its connections against the header and request timeouts, and how
 * often bodies are checked against their minimum rate: often enough that a timeout takes
 * effect within a fraction of itself (Node's default, 30 s, would double a 20 s timeout).
 */
export function checkingIntervalMs(limits: ServerLimits): number {
  return Math.max(50, Math.min(1000, Math.floor(Math.min(limits.headersTimeoutMs, limits.bodyGraceMs) / 4)));
}

/**
 * Creates the HTTP server with the timeouts and caps that only the Node server can enforce,
 * so they hold for the look-up fast path too, which answers before Fastify:
 * - headers must arrive within `headersTimeoutMs` and a whole request within
 *   `requestTimeoutMs` (Node answers 408 and closes); an idle keep-alive connection closes
 *   after `keepAliveTimeoutMs`; a connection that sends nothing is cut by the headers timeout;
 * - a body must arrive at `minBodyBytesPerSecond` on average once `bodyGraceMs` have passed,
 *   or its connection is closed: a body sent a byte at a time cannot hold a connection for
 *   minutes, while a large upload on a slow link still may take as long as it needs;
 * - one client address holds at most `maxConnectionsPerAddress` connections; further ones
 *   are closed at once. Trusted proxies carry many clients and are exempt.
 */
export function createLimitedServer(
  limits: ServerLimits,
  trusted: TrustedProxies,
  handler: (request: IncomingMessage, response: ServerResponse) => void,
): Server {
  const bodies = limits.minBodyBytesPerSecond > 0 ? new BodyRateWatch(limits) : undefined;
  const server = createServer(
    { connectionsCheckingInterval: checkingIntervalMs(limits) },
    (request, response) => {
      // Only requests that may carry a body are watched: a look-up (GET) costs one comparison.
      if (bodies !== undefined && request.method !== 'GET' && request.method !== 'HEAD') bodies.add(request);
      handler(request, response);
    },
  );
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  if (limits.maxConnectionsPerAddress > 0) capConnections(server, limits.maxConnectionsPerAddress, trusted);
  bodies?.start(server);
  return server;
}

function capConnections(server: Server, max: number, trusted: TrustedProxies): void {
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const peer = socket.remoteAddress;
    if (peer === undefined || trusted.has(peer)) return;
    const key = clientKey(peer);
    const count = (open.get(key) ?? 0) + 1;
    if (count > max) {
      socket.destroy();
      return;
    }
    open.set(key, count);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left === 0) open.delete(key);
      else open.set(key, left);
    });
  });
}

interface Upload {
  readonly request: IncomingMessage;
  readonly started: number;
  readonly bytesBefore: number;
}

/** Bodies being received, checked against the minimum rate by one timer for them all. */
class BodyRateWatch {
  readonly #uploads = new Set<Upload>();
  readonly #limits: ServerLimits;

  constructor(limits: ServerLimits) {
    this.#limits = limits;
  }

  add(request: IncomingMessage): void {
    if (request.complete) return;
    // The socket's byte count, not a 'data' listener: the body stays unread for its route.
    this.#uploads.add({ request, started: performance.now(), bytesBefore: request.socket.bytesRead });
  }

  start(server: Server): void {
    const timer = setInterval(() => this.#check(), checkingIntervalMs(this.#limits));
    timer.unref();
    server.once('close', () => clearInterval(timer));
  }

  #check(): void {
    const now = performance.now();
    const { bodyGraceMs, minBodyBytesPerSecond } = this.#limits;
    for (const upload of this.#uploads) {
      const { request } = upload;
      if (request.complete || request.destroyed) {
        this.#uploads.delete(upload);
        continue;
      }
      const elapsed = now - upload.started;
      if (elapsed < bodyGraceMs) continue;
      const received = request.socket.bytesRead - upload.bytesBefore;
      if (received < (minBodyBytesPerSecond * elapsed) / 1000) {
        this.#uploads.delete(upload);
        request.socket.destroy();
      }
    }
  }
}
