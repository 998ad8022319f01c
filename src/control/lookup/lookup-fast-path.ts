import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Role } from '../auth/roles.js';
import { batchBodyLimit, batchTooLargeProblem, NDJSON } from './lookup-batch.js';
import type { VerdictIndex } from './verdict-index.js';

/** Answers a request itself and returns true, or returns false and leaves it to Fastify. */
export type FastPath = (request: IncomingMessage, response: ServerResponse) => boolean;

export interface LookupFastPathOptions {
  readonly index: () => VerdictIndex;
  /** The roles `GET /v1/lookup/:hash` and `POST /v1/lookup` admit (the routes' own `config.roles`). */
  readonly roles: readonly Role[];
  /** `lookup.maxBatch`: most lines a batch may hold (413 `BATCH_TOO_LARGE` past it). */
  readonly maxBatch: number;
  /** The role of an already-verified bearer token, from memory; `undefined` for anything else. */
  readonly cachedRoleOf: (authorization: string | undefined) => Role | undefined;
  /** Counts an answer (200) and its latency under the route's own metric labels. */
  readonly countAnswer: (seconds: number) => void;
  /** The same for a batch answer, by status (200, or 413 for too many lines). */
  readonly countBatch: (status: 200 | 413, seconds: number) => void;
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
export const BATCH_ROUTE = '/v1/lookup';
const PREFIX = '/v1/lookup/';
const JSON_TYPE = 'application/json; charset=utf-8';
const PROBLEM_TYPE = 'application/problem+json; charset=utf-8';

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
  const batch = batchFastPath(options);
  return (request, response) => {
    if (request.method !== 'GET') return request.method === 'POST' && batch(request, response);
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

/** The fields of a request's raw header list the batch fast path needs, in one pass. */
interface BatchHeaders {
  authorization: string | undefined;
  contentType: string | undefined;
  contentLength: string | undefined;
  chunked: boolean;
}

function batchHeadersOf(raw: readonly string[]): BatchHeaders {
  const found: BatchHeaders = {
    authorization: undefined,
    contentType: undefined,
    contentLength: undefined,
    chunked: false,
  };
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    // The first of each, as Node keeps it (a second Content-Length is refused by its parser).
    if (name === 'authorization') found.authorization ??= raw[i + 1];
    else if (name === 'content-type') found.contentType ??= raw[i + 1];
    else if (name === 'content-length') found.contentLength ??= raw[i + 1];
    else if (name === 'transfer-encoding') found.chunked = true;
  }
  return found;
}

/** `text/plain`, bare or in UTF-8 (how Fastify's parser reads it either way), in any case. */
function isPlainText(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const type = contentType.toLowerCase();
  return type === 'text/plain' || type === 'text/plain; charset=utf-8' || type === 'text/plain;charset=utf-8';
}

/**
 * `POST /v1/lookup` with a text/plain body without the framework, from a product whose token
 * is already known: the body is read as Buffers and its hex parsed from the bytes, with no
 * string, no content-type parser, no schema check, no hooks. Fastify's share of a batch
 * (a body string, its parser, routing, hooks and reply) was about a sixth of the server's
 * time. Only a body whose Content-Length is declared, not 0, and within the route's body limit is
 * taken (Fastify refuses a larger one without reading it, and reads a chunked one); every
 * other request (a JSON body, another content type, a query string, an unknown or forbidden
 * token, a server shutting down, a refused address) goes to the Fastify route, which answers
 * the same bytes (test/lookup-fast-path.test.ts compares them). A body of more than
 * `maxBatch` lines is answered 413 `BATCH_TOO_LARGE` with the route's problem document.
 */
function batchFastPath(options: LookupFastPathOptions): FastPath {
  const { index, roles, maxBatch, cachedRoleOf, countBatch, isClosing, admits } = options;
  const bodyLimit = batchBodyLimit(maxBatch);
  const tooLarge = Buffer.from(JSON.stringify(batchTooLargeProblem(maxBatch, BATCH_ROUTE)));
  return (request, response) => {
    if (request.url !== BATCH_ROUTE) return false;
    const started = performance.now();
    const headers = batchHeadersOf(request.rawHeaders);
    if (headers.chunked || !isPlainText(headers.contentType)) return false;
    const declared = Number(headers.contentLength);
    if (!(declared > 0 && declared <= bodyLimit) || !/^\d+$/.test(headers.contentLength!)) return false;
    const role = cachedRoleOf(headers.authorization);
    if (role === undefined || !roles.includes(role) || isClosing() || !admits(request)) return false;
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    // Node's parser ends the body at Content-Length; a connection cut before that ends nothing
    // (no 'end'), and there is no one left to answer.
    request.once('end', () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      const answer = index().answerLines(body, maxBatch);
      if (answer === undefined) {
        response.writeHead(413, ['content-type', PROBLEM_TYPE, 'content-length', String(tooLarge.length)]);
        response.end(tooLarge);
        countBatch(413, (performance.now() - started) / 1000);
        return;
      }
      response.writeHead(200, ['content-type', NDJSON, 'content-length', String(answer.length)]);
      response.end(answer);
      countBatch(200, (performance.now() - started) / 1000);
    });
    return true;
  };
}
