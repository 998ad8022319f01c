import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Role } from '../auth/roles.js';
import type { VerdictIndex } from './verdict-index.js';

/** Answers a request itself and returns true, or returns false and leaves it to Fastify. */
export type FastPath = (request: IncomingMessage, response: ServerResponse) => boolean;

export interface LookupFastPathOptions {
  readonly index: () => VerdictIndex;
  /** The roles `GET /v1/lookup/:hash` admits (the route's own `config.roles`). */
  readonly roles: readonly Role[];
  /** The role of an already-verified bearer token, from memory; `undefined` for anything else. */
  readonly cachedRoleOf: (authorization: string | undefined) => Role | undefined;
  /** Counts an answer (200) and its latency under the route's own metric labels. */
  readonly countAnswer: (seconds: number) => void;
  /** True once the server is closing: Fastify then answers (503 with `Connection: close`). */
  readonly isClosing: () => boolean;
  /** False for a client the limits refuse (failed authentications): Fastify then answers 429. */
  readonly admits: (request: IncomingMessage) => boolean;
}

/**
 * The Authorization header from the raw list: reading `request.headers` would build an object
 * of every header for this one value. Node joins no duplicates of it either (it keeps the
 * first), so neither do we.
 */
function authorizationOf(raw: readonly string[]): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 13 && name.toLowerCase() === 'authorization') return raw[i + 1];
  }
  return undefined;
}

export const LOOKUP_ROUTE = '/v1/lookup/:hash';
const PREFIX = '/v1/lookup/';
const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * `GET /v1/lookup/{hash}` without the framework, for the one case that is most of the traffic:
 * a well-formed hash from a product whose token is already known. Fastify's routing, hooks,
 * request and reply objects cost more than the look-up itself (about a third of a request
 * on this machine). Everything else — an unknown, revoked or forbidden token, a malformed
 * hash, a query string, a percent-encoded path, HEAD, a server shutting down, a client address
 * refused for failed authentications — returns false
 * and goes through the Fastify route, which stays the documented one and answers the same
 * bytes (test/lookup-fast-path.test.ts compares them). The answer is counted in the same
 * request metrics; its latency is taken until the answer is handed to the socket.
 */
export function lookupFastPath(options: LookupFastPathOptions): FastPath {
  const { index, roles, cachedRoleOf, countAnswer, isClosing, admits } = options;
  return (request, response) => {
    if (request.method !== 'GET') return false;
    const url = request.url;
    if (url === undefined || !url.startsWith(PREFIX)) return false;
    const started = performance.now();
    const role = cachedRoleOf(authorizationOf(request.rawHeaders));
    if (role === undefined || !roles.includes(role) || isClosing() || !admits(request)) return false;
    // Not hex, or not 32, 40 or 64 digits (a '?', '%' or '/' included): Fastify's problem.
    const answer = index().lookupJson(url.slice(PREFIX.length));
    if (answer === undefined) return false;
    // Headers as a flat list: Node takes them as they are, without an object to walk.
    response.writeHead(200, ['content-type', JSON_TYPE, 'content-length', String(Buffer.byteLength(answer))]);
    response.end(answer);
    countAnswer((performance.now() - started) / 1000);
    return true;
  };
}
