import type { IncomingMessage } from 'node:http';
import { Transform, type TransformCallback } from 'node:stream';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { RateLimit, RateLimitsConfig } from '../config/config.js';
import { clientKey, type TrustedProxies } from './client-address.js';
import { LimitError } from './limit-errors.js';
import './fastify-types.js';

export interface LimitsOptions {
  readonly rateLimits: RateLimitsConfig;
  readonly trusted: TrustedProxies;
  /** The largest body a route takes, by `METHOD /url` (its route pattern). */
  readonly bodyLimits: Readonly<Record<string, number>>;
  /** Routes no request-rate limit counts (the look-ups: see the README's Security model). */
  readonly unmetered: readonly string[];
}

/** What the look-up fast path, which answers before Fastify, must ask of the limits. */
export interface FastPathGate {
  /** False when the request must go through Fastify, which will refuse it. */
  admits(request: IncomingMessage): boolean;
}

type Limiter = ReturnType<FastifyInstance['createRateLimit']>;

const REGISTRATION_ROUTE = 'POST /v1/installations';
/** Monitoring keeps working whatever a client does. */
const EXEMPT = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics']);

/**
 * The limits against abuse that Fastify enforces, with `@fastify/rate-limit` counting (in
 * memory, per process):
 * - every request per client address and per bearer token (look-ups excepted);
 * - failed authentications (401) per client address: past the limit, the address gets 429
 *   on every request, before any credential is checked, so that guessing stops and a right
 *   guess is not told from a wrong one;
 * - successful installation registrations per client address and per token;
 * - the declared and the actual size of bodies that routes stream themselves.
 * Refusals are 429 `RATE_LIMITED` with `Retry-After` and 413 `BODY_TOO_LARGE` problem
 * documents. Register it before the authentication hook: it must run first.
 */
export async function registerLimits(app: FastifyInstance, options: LimitsOptions): Promise<FastPathGate> {
  const { rateLimits, trusted, bodyLimits } = options;
  const unmetered = new Set(options.unmetered);
  await app.register(rateLimit, { global: false, cache: 10_000 });
  const addressOf = (request: FastifyRequest) => clientKey(request.ip);
  const tokenOf = (request: FastifyRequest) => request.principal?.tokenId ?? '';
  const limiter = (limit: RateLimit, key: (request: FastifyRequest) => string): Limiter | undefined =>
    limit.max === 0
      ? undefined
      : app.createRateLimit({ max: limit.max, timeWindow: limit.windowMs, keyGenerator: key });
  const perAddress = limiter(rateLimits.perAddress, addressOf);
  const perToken = limiter(rateLimits.perToken, tokenOf);
  const failedAuth = limiter(rateLimits.failedAuthPerAddress, addressOf);
  const registrationsPerAddress = limiter(rateLimits.registrationsPerAddress, addressOf);
  const registrationsPerToken = limiter(rateLimits.registrationsPerToken, tokenOf);
  const blocked = new BlockedAddresses();

  app.addHook('onRequest', async (request, reply) => {
    const route = routeOf(request);
    if (EXEMPT.has(route)) return;
    if (failedAuth !== undefined) {
      const state = await failedAuth(request, { increment: false });
      if (!state.isAllowed && state.remaining === 0) {
        refuse(reply, state.ttl, 'too many failed authentications from this address');
      }
    }
    if (perAddress !== undefined && !unmetered.has(route)) {
      const state = await perAddress(request);
      if (!state.isAllowed && state.isExceeded)
        refuse(reply, state.ttl, 'too many requests from this address');
    }
  });

  // After authentication (an `onRequest` hook), before the body is read.
  app.addHook('preParsing', async (request, reply, payload) => {
    const route = routeOf(request);
    if (perToken !== undefined && request.principal !== null && !unmetered.has(route)) {
      const state = await perToken(request);
      if (!state.isAllowed && state.isExceeded) refuse(reply, state.ttl, 'too many requests with this token');
    }
    if (route === REGISTRATION_ROUTE) {
      for (const quota of [registrationsPerAddress, registrationsPerToken]) {
        if (quota === undefined) continue;
        const state = await quota(request, { increment: false });
        if (!state.isAllowed && state.remaining === 0) {
          refuse(reply, state.ttl, 'the quota of installation registrations is used up');
        }
      }
    }
    const limit = bodyLimits[route];
    if (limit === undefined) return payload;
    const declared = Number(request.headers['content-length']);
    if (declared > limit) tooLarge(reply, limit);
    return limitStream(payload, limit, () => tooLargeError(reply, limit));
  });

  app.addHook('onResponse', async (request, reply) => {
    if (reply.statusCode === 401 && failedAuth !== undefined) {
      const state = await failedAuth(request);
      if (!state.isAllowed && state.remaining === 0) blocked.add(addressOf(request), state.ttl);
    }
    if (reply.statusCode === 201 && routeOf(request) === REGISTRATION_ROUTE) {
      await registrationsPerAddress?.(request);
      await registrationsPerToken?.(request);
    }
  });

  return { admits: (request) => blocked.admits(request, trusted) };
}

function routeOf(request: FastifyRequest): string {
  return `${request.method} ${request.routeOptions.url ?? ''}`;
}

function refuse(reply: FastifyReply, ttlMs: number, detail: string): never {
  const seconds = Math.max(1, Math.ceil(ttlMs / 1000));
  reply.header('retry-after', String(seconds));
  throw new LimitError('RATE_LIMITED', `${detail}; retry in ${seconds} s`, {
    details: { retryAfter: seconds },
  });
}

function tooLargeError(reply: FastifyReply, limit: number): LimitError {
  // Answer, then close: the rest of the body is not read (Node would read it to keep the
  // connection alive).
  reply.header('connection', 'close');
  return new LimitError('BODY_TOO_LARGE', `this route takes bodies of at most ${limit} bytes`, {
    details: { limit },
  });
}

function tooLarge(reply: FastifyReply, limit: number): never {
  throw tooLargeError(reply, limit);
}

/** The body as it arrives, failing as soon as more than `limit` bytes have come. */
function limitStream<T extends NodeJS.ReadableStream>(
  payload: T,
  limit: number,
  error: () => Error,
): Transform {
  let seen = 0;
  const limited = new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback) {
      seen += chunk.length;
      if (seen > limit) callback(error());
      else callback(null, chunk);
    },
  });
  payload.on('error', (cause) => limited.destroy(cause));
  return payload.pipe(limited);
}

/**
 * Addresses refused for failed authentications, kept where the look-up fast path can ask
 * synchronously. It is empty but for an attack, and then costs the fast path one look-up.
 */
class BlockedAddresses {
  readonly #until = new Map<string, number>();

  add(key: string, ttlMs: number): void {
    if (this.#until.size >= 10_000) this.#prune();
    this.#until.set(key, Date.now() + ttlMs);
  }

  admits(request: IncomingMessage, trusted: TrustedProxies): boolean {
    if (this.#until.size === 0) return true;
    const peer = request.socket.remoteAddress;
    // Behind a proxy the client is in X-Forwarded-For: Fastify works it out and decides.
    if (peer === undefined || trusted.has(peer)) return false;
    const key = clientKey(peer);
    const until = this.#until.get(key);
    if (until === undefined) return true;
    if (until > Date.now()) return false;
    this.#until.delete(key);
    return true;
  }

  #prune(): void {
    const now = Date.now();
    for (const [key, until] of this.#until) if (until <= now) this.#until.delete(key);
  }
}
