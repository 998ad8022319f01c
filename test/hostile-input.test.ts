import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROLES, type Role } from '../src/control/auth/roles.js';
import { sha256 } from './support/files.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { HOSTILE_STRINGS, HOSTILE_URL_PARTS, hostileBody, type Schema } from './support/hostile.js';
import { storesAndLogs } from './support/snapshot.js';

const NOW = new Date('2024-05-01T12:00:00Z');
type Method = NonNullable<InjectOptions['method']>;

interface Parameter {
  readonly in: 'path' | 'query';
  readonly name: string;
  readonly schema: Schema;
}

interface Route {
  readonly method: string;
  /** OpenAPI form: `/v1/samples/{hash}`. */
  readonly path: string;
  readonly parameters: readonly Parameter[];
  /** Content type → schema, when the route declares its body. */
  readonly body: Readonly<Record<string, Schema>> | undefined;
  /** Roles admitted; empty for public routes. */
  roles: Role[];
}

let h: Harness;
let routes: Route[];
const tokens = new Map<Role, string>();
/** Ids of things that exist, so that hostile requests also reach existing records. */
let realSegments: string[];

beforeAll(async () => {
  h = await startHarness({ now: () => NOW, maxSampleBytes: 64 * 1024 });
  for (const role of ROLES) tokens.set(role, await h.token(role));
  const installation = await h.app.inject({
    method: 'POST',
    url: '/v1/installations',
    headers: bearer(tokens.get('product')!),
    payload: { country: 'DE', product: 'fuzz' },
  });
  const sample = randomBytes(100);
  await h.app.inject({
    method: 'POST',
    url: `/v1/samples?installation=${installation.json().id}&filename=a.exe`,
    headers: { ...bearer(tokens.get('product')!), 'content-type': 'application/octet-stream' },
    payload: sample,
  });
  realSegments = [
    installation.json().id,
    sha256(sample),
    'control',
    'zurich',
    'moscow',
    '2021-H2',
    'tile/0/000',
  ];
  routes = await routesOf(h);
}, 300_000);
afterAll(() => h.close());

/** Every route of the OpenAPI document, with the roles it admits (found by asking it). */
async function routesOf(harness: Harness): Promise<Route[]> {
  const api = (await harness.app.inject({ url: '/openapi.json' })).json();
  const found: Route[] = [];
  for (const [path, operations] of Object.entries<Record<string, Record<string, unknown>>>(api.paths)) {
    for (const [method, operation] of Object.entries(operations)) {
      const content = (operation.requestBody as { content?: Record<string, { schema: Schema }> } | undefined)
        ?.content;
      const route: Route = {
        method: method.toUpperCase(),
        path,
        parameters: (operation.parameters as Parameter[] | undefined) ?? [],
        body:
          content === undefined
            ? undefined
            : Object.fromEntries(Object.entries(content).map(([type, media]) => [type, media.schema])),
        roles: [],
      };
      for (const role of ROLES) {
        const probe = await harness.app.inject({
          method: route.method as Method,
          url: path.replaceAll(/\{[^}]+\}/g, 'x'),
          headers: bearer(tokens.get(role)!),
        });
        // Public pages answer HTML: only a problem document can refuse the role.
        const refused =
          String(probe.headers['content-type']).includes('json') && probe.json().code === 'FORBIDDEN_ROLE';
        if (!refused) route.roles.push(role);
      }
      found.push(route);
    }
  }
  return found;
}

const WRONG_CONTENT_TYPES = [
  'text/plain',
  'application/xml',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'image/png',
  'application/json; charset=utf-16',
  'text/csv',
  'application/x-ndjson',
  'application/octet-stream',
];

/** JSON texts that a parser or a validator must refuse. */
const HOSTILE_JSON_TEXTS = [
  '',
  '{',
  'null',
  '"Evil\\ud800"',
  '{"__proto__":{"admin":true}}',
  '{"constructor":{"prototype":{"admin":true}}}',
  '[1,2,3]',
  `${'['.repeat(50_000)}${']'.repeat(50_000)}`,
  `${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}`,
  `{"a":"${'x'.repeat(2 * 1024 * 1024)}"}`,
];

const urlPart = fc.oneof(
  fc.constantFrom(...HOSTILE_URL_PARTS),
  fc.string({ maxLength: 40 }).map(encodeURIComponent),
  fc.constantFrom('%00', '%ed%a0%80'),
);

type Body =
  | { readonly kind: 'none' }
  | { readonly kind: 'json'; readonly value: unknown }
  | { readonly kind: 'raw'; readonly contentType: string | undefined; readonly payload: string | Uint8Array };

function requestFor(route: Route): fc.Arbitrary<InjectOptions & { readonly description: string }> {
  const pathParameters = route.path.match(/\{[^}]+\}/g) ?? [];
  const queryParameters = route.parameters.filter((p) => p.in === 'query');
  const segment = fc.oneof(urlPart, fc.constantFrom(...realSegments));
  const query = fc.array(
    fc.tuple(
      queryParameters.length === 0
        ? fc.constant('x')
        : fc.oneof(fc.constantFrom(...queryParameters.map((p) => p.name)), fc.constant('extra')),
      fc.oneof(urlPart, fc.constantFrom(...queryParameters.flatMap((p) => boundaryTexts(p.schema)), '1')),
    ),
    { minLength: queryParameters.length === 0 ? 0 : 1, maxLength: 3 },
  );
  const accepted = Object.keys(route.body ?? {});
  const jsonSchema = route.body?.['application/json'];
  const bodies: fc.Arbitrary<Body>[] = [
    fc.record({
      kind: fc.constant('raw' as const),
      contentType: fc.constantFrom(undefined, ...WRONG_CONTENT_TYPES.filter((t) => !accepted.includes(t))),
      payload: fc.oneof(fc.uint8Array({ maxLength: 512 }), fc.constantFrom(...HOSTILE_STRINGS)),
    }),
    fc.record({
      kind: fc.constant('raw' as const),
      contentType: fc.constant('application/json'),
      payload: fc.constantFrom(...HOSTILE_JSON_TEXTS),
    }),
  ];
  if (jsonSchema !== undefined) {
    const hostile = hostileBody(jsonSchema).map((value): Body => ({ kind: 'json', value }));
    bodies.push(hostile, hostile, hostile);
  }
  if (route.method === 'GET') bodies.push(fc.constant({ kind: 'none' }));
  return fc
    .record({
      segments: fc.array(segment, { minLength: pathParameters.length, maxLength: pathParameters.length }),
      query,
      body: fc.oneof(...bodies),
      role: route.roles.length === 0 ? fc.constant(undefined) : fc.constantFrom(...route.roles),
    })
    .map(({ segments, query: pairs, body, role }) => {
      let url = route.path;
      for (const [i, name] of pathParameters.entries()) url = url.replace(name, segments[i]!);
      if (pairs.length > 0) url += `?${pairs.map(([name, value]) => `${name}=${value}`).join('&')}`;
      const headers: Record<string, string> = role === undefined ? {} : bearer(tokens.get(role)!);
      const request: InjectOptions = { method: route.method as Method, url, headers };
      if (body.kind === 'json') {
        headers['content-type'] = 'application/json';
        request.payload = JSON.stringify(body.value) ?? 'null';
      } else if (body.kind === 'raw') {
        if (body.contentType !== undefined) headers['content-type'] = body.contentType;
        request.payload = Buffer.from(body.payload);
      }
      const shown = typeof request.payload === 'string' ? request.payload : String(body.kind);
      return { ...request, description: `${route.method} ${url} as ${role}: ${shown.slice(0, 200)}` };
    });
}

/** Query values at and past a parameter's bounds, as text. */
function boundaryTexts(schema: Schema): string[] {
  const texts: string[] = [];
  if (schema.maximum !== undefined) texts.push(String(schema.maximum + 1));
  if (schema.minimum !== undefined) texts.push(String(schema.minimum - 1), '1.5');
  if (schema.maxLength !== undefined) texts.push('a'.repeat(schema.maxLength + 1));
  if (schema.enum !== undefined) texts.push('not-one-of-them');
  return texts;
}

describe('every route of /openapi.json', () => {
  describe('when given hostile input derived from its schema', () => {
    it('never answers 5xx, answers errors as problem documents, and a refusal changes nothing', async () => {
      const request = fc.constantFrom(...routes).chain(requestFor);
      await fc.assert(
        fc.asyncProperty(request, async ({ description, ...options }) => {
          const before = await storesAndLogs(h);
          const response = await h.app.inject(options);
          const context = `${description} → ${response.statusCode} ${response.body.slice(0, 300)}`;
          expect(response.statusCode, context).toBeLessThan(500);
          if (options.method !== 'GET') expect(response.statusCode, context).toBeGreaterThanOrEqual(400);
          if (response.statusCode >= 400) {
            expect(response.headers['content-type'], context).toContain('application/problem+json');
            expect(response.json(), context).toMatchObject({
              status: response.statusCode,
              code: expect.any(String),
            });
            expect(await storesAndLogs(h), context).toEqual(before);
          }
        }),
        { numRuns: 800, interruptAfterTimeLimit: 40_000 },
      );
    }, 120_000);
  });
});
