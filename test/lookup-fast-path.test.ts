import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ROLES } from '../src/control/auth/roles.js';
import { LOOKUP_ROLES } from '../src/control/lookup/lookup-routes.js';
import { bearer, type Harness, startHarness } from './support/harness.js';

/**
 * `GET /v1/lookup/{hash}` is answered before Fastify's routing when the token is known and
 * the hash well formed (src/control/lookup/lookup-fast-path.ts). Over a real socket, it must answer
 * exactly what the Fastify route answers, and leave everything else to that route.
 */
let h: Harness;
let baseUrl: string;
let productToken: string;
let product: Record<string, string>;
let analyst: Record<string, string>;
let routeCalls: ReturnType<typeof vi.spyOn>;

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

beforeAll(async () => {
  h = await startHarness();
  productToken = await h.token('product');
  product = bearer(productToken);
  analyst = bearer(await h.token('analyst'));
  baseUrl = await h.app.listen({ host: '127.0.0.1', port: 0 });
  // The Fastify route's handler is the only caller of VerdictService.lookupJson.
  routeCalls = vi.spyOn(h.glasshouse.verdicts, 'lookupJson');
  // The first request with a token is authenticated by Fastify (and cached).
  await get(`/v1/lookup/${hex(32)}`, product);
});
afterAll(async () => {
  routeCalls.mockRestore();
  await h.close();
});

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

async function get(path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const response = await fetch(`${baseUrl}${path}`, { method, headers });
  const body = await response.text();
  const kept: Record<string, string> = {};
  // Date changes by the second; everything else must be byte for byte the same.
  response.headers.forEach((value, name) => {
    if (name !== 'date') kept[name] = value;
  });
  return { status: response.status, headers: kept, body };
}

async function putVerdict(hash: string, verdict: string, threat: string): Promise<void> {
  const set = await h.app.inject({
    method: 'PUT',
    url: `/v1/verdicts/${hash}`,
    headers: analyst,
    payload: { verdict, threat, firstSeen: '2021-03-04T05:06:07Z' },
  });
  expect(set.statusCode).toBe(200);
}

/** The same look-up through the Fastify route: a query string keeps it off the fast path. */
const throughRoute = (hash: string) => get(`/v1/lookup/${hash}?via=route`, product);

describe('the single look-up fast path', () => {
  it('answers known and unknown hashes of each kind exactly as the Fastify route does, without it', async () => {
    const known = [hex(16), hex(20), hex(32)];
    await putVerdict(known[0]!, 'malicious', 'Trojan.Win32.Agent');
    await putVerdict(known[1]!, 'suspicious', 'Riskware.Ünïcödé.名前'); // multi-byte: content-length in bytes
    await putVerdict(known[2]!, 'clean', 'Clean.Tool');
    const hashes = [...known, known[2]!.toUpperCase(), hex(16), hex(20), hex(32)];
    for (const hash of hashes) {
      routeCalls.mockClear();
      const fast = await get(`/v1/lookup/${hash}`, product);
      expect(routeCalls, `${hash} went through the route`).not.toHaveBeenCalled();
      const viaRoute = await throughRoute(hash);
      expect(routeCalls).toHaveBeenCalledTimes(1);
      expect(fast).toEqual(viaRoute);
      expect(fast.status).toBe(200);
      const injected = await h.app.inject({ url: `/v1/lookup/${hash}`, headers: product });
      expect(fast.body).toBe(injected.body);
    }
    const answer = JSON.parse((await get(`/v1/lookup/${known[1]}`, product)).body);
    expect(answer).toEqual({
      hash: known[1],
      verdict: 'suspicious',
      threat: 'Riskware.Ünïcödé.名前',
      firstSeen: '2021-03-04T05:06:07Z',
    });
  });

  it('reads the Authorization header whatever its case', async () => {
    const hash = hex(32);
    routeCalls.mockClear();
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const url = new URL(`/v1/lookup/${hash}`, baseUrl);
      const request = httpRequest(
        url,
        { headers: { AUTHORIZATION: `bearer ${productToken}` } },
        (response) => {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            body += chunk;
          });
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        },
      );
      request.on('error', reject);
      request.end();
    });
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ hash, verdict: 'unknown' });
    expect(routeCalls).not.toHaveBeenCalled();
  });

  it('shows a new verdict at once', async () => {
    const hash = hex(32);
    expect(JSON.parse((await get(`/v1/lookup/${hash}`, product)).body).verdict).toBe('unknown');
    await putVerdict(hash, 'malicious', 'Fresh.Threat');
    expect(JSON.parse((await get(`/v1/lookup/${hash}`, product)).body)).toMatchObject({
      verdict: 'malicious',
      threat: 'Fresh.Threat',
    });
  });

  it('leaves every other request to the Fastify route, which answers it', async () => {
    const cases: {
      what: string;
      path: string;
      headers: Record<string, string>;
      method?: string;
      status: number;
    }[] = [
      { what: 'no token', path: `/v1/lookup/${hex(32)}`, headers: {}, status: 401 },
      { what: 'an unknown token', path: `/v1/lookup/${hex(32)}`, headers: bearer('gh_nope_x'), status: 401 },
      { what: 'a role the route refuses', path: `/v1/lookup/${hex(32)}`, headers: analyst, status: 403 },
      { what: 'a malformed hash', path: '/v1/lookup/not-a-hash', headers: product, status: 400 },
      { what: 'a hash of the wrong length', path: `/v1/lookup/${hex(24)}`, headers: product, status: 400 },
      { what: 'a hash with a non-hex digit', path: `/v1/lookup/${hex(31)}zz`, headers: product, status: 400 },
      { what: 'HEAD', path: `/v1/lookup/${hex(32)}`, headers: product, method: 'HEAD', status: 200 },
    ];
    for (const c of cases) {
      const answer = await get(c.path, c.headers, c.method);
      expect(answer.status, c.what).toBe(c.status);
      if (c.status >= 400) {
        expect(answer.headers['content-type'], c.what).toMatch(/^application\/problem\+json/);
        expect(JSON.parse(answer.body).status, c.what).toBe(c.status);
      }
    }
    for (const role of ROLES.filter((r) => !LOOKUP_ROLES.includes(r))) {
      const token = bearer(await h.token(role));
      for (let i = 0; i < 2; i += 1)
        expect((await get(`/v1/lookup/${hex(32)}`, token)).status, role).toBe(403);
    }
    // A percent-encoded hash is decoded by Fastify's router, then looked up there.
    routeCalls.mockClear();
    const hash = hex(20);
    const encoded = await get(`/v1/lookup/%${hash.charCodeAt(0).toString(16)}${hash.slice(1)}`, product);
    expect(routeCalls).toHaveBeenCalledTimes(1);
    expect(JSON.parse(encoded.body).hash).toBe(hash);
  });

  it('stops answering for a token the moment it is revoked', async () => {
    const created = await h.glasshouse.tokens.create({ role: 'product' }, { role: 'admin', token: 'test' });
    const path = `/v1/lookup/${hex(32)}`;
    expect((await get(path, bearer(created.token))).status).toBe(200);
    expect((await get(path, bearer(created.token))).status).toBe(200);
    await h.glasshouse.tokens.revoke(created.id, { role: 'admin', token: 'test' });
    const refused = await get(path, bearer(created.token));
    expect(refused.status).toBe(401);
    expect((await get(path, product)).status).toBe(200);
  });

  it('counts its answers in the route metrics', async () => {
    const count = async () => {
      const text = (await get('/metrics')).body;
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('glasshouse_http_requests_total{') &&
            l.includes('route="/v1/lookup/:hash"') &&
            l.includes('status="200"'),
        );
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    const before = await count();
    routeCalls.mockClear();
    for (let i = 0; i < 25; i += 1) await get(`/v1/lookup/${hex(32)}`, product);
    expect(routeCalls).not.toHaveBeenCalled();
    expect((await count()) - before).toBe(25);
  });

  it('gives its server the configured timeouts', () => {
    const server = h.app.server;
    const configured = h.glasshouse.config.server;
    expect(server.keepAliveTimeout).toBe(configured.keepAliveTimeoutMs);
    expect(server.headersTimeout).toBe(configured.headersTimeoutMs);
    expect(server.requestTimeout).toBe(configured.requestTimeoutMs);
    expect(server.timeout).toBe(0);
  });
});
