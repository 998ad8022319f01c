import type { FastifyInstance, FastifyRequest } from 'fastify';
import { textFault } from '../shared/text.js';
import { HttpError } from './http-errors.js';

/** Deeper than any body a route takes (legal scopes are the deepest, at 3). */
export const MAX_BODY_DEPTH = 32;

/**
 * Refuses, before validation and in one place for every route:
 * - a missing body where the route declares one (Fastify skips validation when no content
 *   type says how to read it, and the handler would meet `undefined`);
 * - text no route could store or put on the record: a lone surrogate (RFC 8785 has no form
 *   for it, so the log entry would fail after the write) or a control character (bar tab
 *   and line breaks) in any string of a JSON body, member names included, the query string
 *   or the path parameters;
 * - bodies nested deeper than {@link MAX_BODY_DEPTH};
 * - any body (`null` included) sent to a route marked `noBody`, whose meaning would be unclear.
 *
 * @example
 * registerInputChecks(app);
 */
export function registerInputChecks(app: FastifyInstance): void {
  app.addHook('preValidation', async (request: FastifyRequest) => {
    if (request.body === undefined && request.routeOptions.schema?.body !== undefined) {
      throw new HttpError('MISSING_BODY', 'this route needs a body, sent with its content type');
    }
    const schema = request.routeOptions.schema;
    checkFlat(request.query, 'querystring', schema?.querystring);
    checkFlat(request.params, 'params', schema?.params);
    // A JSON text may be a bare string ("Evil\ud800"), which routes without a body ignore.
    if (isJsonValue(request.body) || (typeof request.body === 'string' && isJson(request))) {
      checkJson(request.body);
    }
    if (request.routeOptions.config.noBody === true && hasBody(request)) {
      throw new HttpError('UNEXPECTED_BODY', 'this route takes no body; send the request without one');
    }
  });
}

function checkFlat(values: unknown, part: string, schema: unknown): void {
  if (values === null || typeof values !== 'object') return;
  for (const [name, value] of Object.entries(values)) {
    const numeric = isNumericSchema(propertyOf(schema, name));
    for (const text of [name, ...(Array.isArray(value) ? value : [value])]) {
      if (typeof text === 'string') {
        refuseFault(text, `${part}/${name}`);
        if (numeric) refuseInfinity(text, `${part}/${name}`);
      }
    }
  }
}

/** The schema of one member of an object schema (`properties`), if it declares one. */
function propertyOf(schema: unknown, name: string): unknown {
  if (schema === null || typeof schema !== 'object') return undefined;
  const properties = (schema as { properties?: unknown }).properties;
  if (properties === null || typeof properties !== 'object' || !Object.hasOwn(properties, name))
    return undefined;
  return (properties as Record<string, unknown>)[name];
}

/**
 * Whether a member's schema lets Ajv coerce its text to a number (itself, an array of it, or
 * one branch of a union). Only those can become Infinity: an identifier such as the token id
 * `3e9918671381` is text, whatever it looks like.
 */
function isNumericSchema(schema: unknown): boolean {
  if (schema === null || typeof schema !== 'object') return false;
  const { type, items, anyOf, oneOf } = schema as {
    type?: unknown;
    items?: unknown;
    anyOf?: unknown;
    oneOf?: unknown;
  };
  const types = Array.isArray(type) ? type : [type];
  if (types.includes('number') || types.includes('integer')) return true;
  if (isNumericSchema(items)) return true;
  return [anyOf, oneOf].some((branches) => Array.isArray(branches) && branches.some(isNumericSchema));
}

/** Walks the body without recursion, so a hostile depth cannot exhaust the stack. */
function checkJson(body: unknown): void {
  const pending: { value: unknown; path: string; depth: number }[] = [
    { value: body, path: 'body', depth: 1 },
  ];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path, depth } = next;
    if (typeof value === 'string') refuseFault(value, path);
    if (value === null || typeof value !== 'object') continue;
    if (depth > MAX_BODY_DEPTH) {
      throw new HttpError('BODY_TOO_DEEP', `the body is nested deeper than ${MAX_BODY_DEPTH} levels`, {
        details: { limit: MAX_BODY_DEPTH },
      });
    }
    for (const [name, member] of Object.entries(value)) {
      const memberPath = `${path}/${name}`;
      refuseFault(name, memberPath);
      pending.push({ value: member, path: memberPath, depth: depth + 1 });
    }
  }
}

function refuseFault(text: string, field: string): void {
  const fault = textFault(text);
  if (fault !== undefined) {
    const named = safeField(field);
    throw new HttpError('INVALID_TEXT', `${named} ${fault}`, { details: { field: named } });
  }
}

/** The path names members the client sent: keep it short and well formed before echoing it. */
const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?$/i;

/** Ajv coerces `1e309` to Infinity and then lets it pass `maximum`: refused before it can. */
function refuseInfinity(text: string, field: string): void {
  if (NUMBER.test(text) && !Number.isFinite(Number(text))) {
    throw new HttpError('NUMBER_OUT_OF_RANGE', `${field} is beyond any number this API takes`, {
      details: { field },
    });
  }
}

function safeField(field: string): string {
  return textFault(field) === undefined ? field.slice(0, 200) : '(a member name that is not text)';
}

/** A parsed JSON body (streams, buffers and plain text are the routes' own business). */
function hasBody(request: FastifyRequest): boolean {
  const length = request.headers['content-length'];
  return request.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function isJson(request: FastifyRequest): boolean {
  return /^application\/(?:[\w.+-]+\+)?json\b/i.test(request.headers['content-type'] ?? '');
}

function isJsonValue(body: unknown): body is object {
  return Array.isArray(body) || (body !== null && typeof body === 'object' && isPlain(body));
}

function isPlain(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}
