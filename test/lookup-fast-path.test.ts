import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { ROLES } from '../src/control/auth/roles.js';
import { LOOKUP_ROLES } from '../src/control/lookup/lookup-routes.js';
import type { VerdictIndex } from '../src/control/lookup/verdict-index.js';
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

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** A request over a socket, its answer as bytes; Date left out (it changes by the second). */
function send(
  method: string,
  path: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(new URL(path, baseUrl), { method, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const { date: _date, ...kept } = response.headers;
        resolve({ status: response.statusCode ?? 0, headers: kept, body: Buffer.concat(chunks) });
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('the batch look-up fast path', () => {
  const plain = () => ({ ...product, 'content-type': 'text/plain' });
  let batchCalls: MockInstance<VerdictIndex['answerLines']>;
  beforeAll(() => {
    // The Fastify route hands the index the body as a string, the fast path as bytes.
    batchCalls = vi.spyOn(h.glasshouse.verdicts.index, 'answerLines');
  });
  afterAll(() => batchCalls.mockRestore());
  const fastCalls = () => batchCalls.mock.calls.filter(([body]) => Buffer.isBuffer(body)).length;
  const routeCalls = () => batchCalls.mock.calls.filter(([body]) => typeof body === 'string').length;

  /** The body through the fast path and through the Fastify route (a query string keeps it off). */
  async function both(body: Buffer, headers: Record<string, string> = plain()) {
    batchCalls.mockClear();
    const fast = await send('POST', '/v1/lookup', headers, body);
    const viaRoute = await send('POST', '/v1/lookup?via=route', headers, body);
    return { fast, viaRoute, fastCalls: fastCalls(), routeCalls: routeCalls() };
  }

  it('answers batches exactly as the Fastify route does, without it', async () => {
    const known = [hex(16), hex(20), hex(32)];
    await putVerdict(known[0]!, 'malicious', 'Trojan.Win32.Agent');
    await putVerdict(known[1]!, 'suspicious', 'Riskware.Ünïcödé.名前');
    await putVerdict(known[2]!, 'clean', 'Clean.Tool');
    const lines = [...known, known[2]!.toUpperCase(), hex(16), hex(20), hex(32)];
    const bodies: Buffer[] = [
      Buffer.from(`${lines.join('\n')}\n`),
      Buffer.from(lines.join('\n')), // no final break
      Buffer.from(`${lines.join('\r\n')}\r\n`), // CRLF
      Buffer.from(`${lines.join('\r\n')}\r`), // a final CR alone
      Buffer.from(`${known[0]}\n\n\n${known[1]}\n`), // empty lines
      Buffer.from(`not-a-hash\n${hex(31)}zz\n${hex(24)}\n${known[2]} \n"quoted"\\\n${known[0]}\r\r\n名前\n`),
      Buffer.from(`${hex(32).slice(0, 40)}\n${known[2]!.slice(0, 32)}\n${'0'.repeat(64)}\n`),
      Buffer.concat([
        Buffer.from(`${known[0]}\n`),
        Buffer.from([0xff, 0xfe, 0x0a, 0xe2, 0x82]),
        Buffer.from(`\n${known[1]}`),
      ]),
      Buffer.from('\n'),
      Buffer.from('\r\n'),
    ];
    for (const body of bodies) {
      const { fast, viaRoute, fastCalls, routeCalls } = await both(body);
      expect([fastCalls, routeCalls], JSON.stringify(body.toString())).toEqual([1, 1]);
      expect(fast.status).toBe(200);
      expect(fast.headers).toEqual(viaRoute.headers);
      expect(fast.body.equals(viaRoute.body), body.toString()).toBe(true);
    }
    const answer = (await send('POST', '/v1/lookup', plain(), Buffer.from(`${known[1]}\n${hex(32)}`))).body;
    expect(
      answer
        .toString('utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line)),
    ).toEqual([
      { verdict: 'suspicious', threat: 'Riskware.Ünïcödé.名前', firstSeen: '2021-03-04T05:06:07Z' },
      { verdict: 'unknown', threat: null, firstSeen: null },
    ]);
  });

  it('answers a batch of too many lines 413 BATCH_TOO_LARGE as the route does, and one of exactly the limit', async () => {
    const maxBatch = h.glasshouse.config.lookup.maxBatch;
    const atLimit = Buffer.from(Array.from({ length: maxBatch }, () => hex(32)).join('\n'));
    const ok = await both(atLimit);
    expect([ok.fast.status, ok.fastCalls]).toEqual([200, 1]);
    expect(ok.fast.body.equals(ok.viaRoute.body)).toBe(true);
    for (const body of [
      Buffer.concat([atLimit, Buffer.from(`\n${hex(32)}`)]),
      Buffer.from('\n'.repeat(maxBatch + 1)),
    ]) {
      const { fast, viaRoute, fastCalls } = await both(body);
      expect(fastCalls).toBe(1);
      expect(fast.status).toBe(413);
      expect(fast.headers).toEqual(viaRoute.headers);
      expect(fast.body.toString()).toBe(viaRoute.body.toString());
      expect(JSON.parse(fast.body.toString())).toMatchObject({ code: 'BATCH_TOO_LARGE', limit: maxBatch });
    }
  });

  it('leaves a body over the limit to Fastify, which refuses it without reading it', async () => {
    const maxBatch = h.glasshouse.config.lookup.maxBatch;
    const limit = Math.max(1 << 20, maxBatch * 160);
    batchCalls.mockClear();
    const answer = await send('POST', '/v1/lookup', plain(), Buffer.alloc(limit + 1, 0x61));
    expect(answer.status).toBe(413);
    expect(batchCalls).not.toHaveBeenCalled();
  });

  it('leaves every other batch to the Fastify route, which answers it', async () => {
    const body = Buffer.from(`${hex(32)}\n${hex(16)}\n`);
    const cases: { what: string; headers: Record<string, string>; status: number }[] = [
      { what: 'no token', headers: { 'content-type': 'text/plain' }, status: 401 },
      {
        what: 'an unknown token',
        headers: { ...bearer('gh_nope_x'), 'content-type': 'text/plain' },
        status: 401,
      },
      {
        what: 'a role the route refuses',
        headers: { ...analyst, 'content-type': 'text/plain' },
        status: 403,
      },
      {
        what: 'another charset',
        headers: { ...product, 'content-type': 'text/plain; charset=latin1' },
        status: 200,
      },
      { what: 'another content type', headers: { ...product, 'content-type': 'text/csv' }, status: 415 },
    ];
    for (const c of cases) {
      batchCalls.mockClear();
      const answer = await send('POST', '/v1/lookup', c.headers, body);
      expect(answer.status, c.what).toBe(c.status);
      expect(fastCalls(), c.what).toBe(0);
    }
    batchCalls.mockClear();
    const json = await send(
      'POST',
      '/v1/lookup',
      { ...product, 'content-type': 'application/json' },
      Buffer.from(JSON.stringify({ hashes: [hex(32)] })),
    );
    expect(json.status).toBe(200);
    expect(JSON.parse(json.body.toString()).results).toHaveLength(1);
    // A chunked body (no Content-Length) is read by Fastify too.
    batchCalls.mockClear();
    const chunked = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(
        new URL('/v1/lookup', baseUrl),
        { method: 'POST', headers: { ...plain(), 'transfer-encoding': 'chunked' } },
        (response) => {
          response.resume();
          response.on('end', () => resolve(response.statusCode ?? 0));
        },
      );
      request.on('error', reject);
      request.write(body.subarray(0, 10));
      request.end(body.subarray(10));
    });
    expect(chunked).toBe(200);
    expect([fastCalls(), routeCalls()]).toEqual([0, 1]);
  });

  it('counts its answers in the route metrics', async () => {
    const count = async (status: number) => {
      const text = (await get('/metrics')).body;
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('glasshouse_http_requests_total{') &&
            l.includes('route="/v1/lookup"') &&
            l.includes('method="POST"') &&
            l.includes(`status="${status}"`),
        );
      return line === undefined ? 0 : Number(line.split(' ').at(-1));
    };
    const before = [await count(200), await count(413)];
    batchCalls.mockClear();
    for (let i = 0; i < 5; i += 1) await send('POST', '/v1/lookup', plain(), Buffer.from(hex(32)));
    const tooMany = Buffer.from('\n'.repeat(h.glasshouse.config.lookup.maxBatch + 1));
    await send('POST', '/v1/lookup', plain(), tooMany);
    expect(fastCalls()).toBe(6);
    expect([(await count(200)) - before[0]!, (await count(413)) - before[1]!]).toEqual([5, 1]);
  });
});
