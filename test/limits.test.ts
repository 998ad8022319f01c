import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RateLimitsConfig, ServerConfig } from '../src/config/config.js';
import { PRODUCT_EVENT } from './support/events.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation } from './support/installations.js';

/**
 * The limits against abuse (src/http/limits.ts, src/http/server-limits.ts), with short
 * settings so that each takes effect within a test: slow clients over real sockets on
 * 127.0.0.1, rates per address through `inject` (which sets the peer address).
 */
let h: Harness | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const socket of sockets.splice(0)) socket.destroy();
  await h?.close();
  h = undefined;
});

async function harness(options: {
  server?: Partial<ServerConfig>;
  rateLimits?: Partial<RateLimitsConfig>;
  stats?: { maxBatchBytes: number };
  lookup?: { maxImportBytes: number };
}): Promise<Harness> {
  h = await startHarness(options);
  return h;
}

async function listen(app: Harness['app']): Promise<number> {
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('not listening on a port');
  return address.port;
}

/** A raw connection: what it received, and whether (and when) the server closed it. */
interface RawClient {
  readonly socket: Socket;
  received(): string;
  /** Resolves with the milliseconds until the close, or 'open' if still open after `withinMs`. */
  closed(withinMs: number): Promise<number | 'open'>;
}

function rawClient(port: number): Promise<RawClient> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    const opened = Date.now();
    let text = '';
    let closedAt: number | undefined;
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      closedAt = Date.now();
    });
    socket.once('connect', () =>
      resolve({
        socket,
        received: () => text,
        closed: (withinMs) =>
          new Promise((done) => {
            if (closedAt !== undefined) return done(closedAt - opened);
            const timer = setTimeout(() => done('open'), withinMs);
            socket.once('close', () => {
              clearTimeout(timer);
              done(Date.now() - opened);
            });
          }),
      }),
    );
    socket.once('error', reject);
  });
}

function head(method: string, path: string, headers: Record<string, string>): string {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}`);
  return [`${method} ${path} HTTP/1.1`, 'host: 127.0.0.1', ...lines, '', ''].join('\r\n');
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('slow clients', () => {
  describe('when a body trickles in, a byte at a time', () => {
    it('closes the connection once the body falls below the minimum rate, and a brisk body passes', async () => {
      const app = (
        await harness({
          server: { minBodyBytesPerSecond: 1000, bodyGraceMs: 400, requestTimeoutMs: 600_000 },
        })
      ).app;
      const product = await h!.token('product');
      const port = await listen(app);
      const slow = await rawClient(port);
      slow.socket.write(
        head('POST', '/v1/events', {
          ...bearer(product),
          'content-type': 'application/x-ndjson',
          'content-length': '100000',
        }),
      );
      const drip = setInterval(() => slow.socket.write('{'), 100);
      const closedAfter = await slow.closed(8000);
      clearInterval(drip);
      expect(closedAfter).not.toBe('open');
      expect(slow.received()).not.toMatch(/^HTTP\/1\.1 200/);

      // The same server takes a body that arrives at once.
      const installation = await registerInstallation(app, product, 'CH');
      const brisk = await fetch(`http://127.0.0.1:${port}/v1/events`, {
        method: 'POST',
        headers: { ...bearer(product), 'content-type': 'application/x-ndjson' },
        body: `${JSON.stringify({ ...PRODUCT_EVENT, ts: new Date().toISOString(), installation: installation.id })}\n`,
      });
      expect(brisk.status).toBe(200);
    });
  });

  describe('when a connection sends nothing', () => {
    it('closes it once the headers timeout has passed', async () => {
      const port = await listen((await harness({ server: { headersTimeoutMs: 500 } })).app);
      const idle = await rawClient(port);
      expect(await idle.closed(8000)).not.toBe('open');
    });
  });
});

describe('connections per client address', () => {
  describe('when one address opens more than maxConnectionsPerAddress', () => {
    it('closes the one over the cap at once and accepts a new one when another has closed', async () => {
      const port = await listen((await harness({ server: { maxConnectionsPerAddress: 3 } })).app);
      const held = [await rawClient(port), await rawClient(port), await rawClient(port)];
      // Each of the three is served.
      for (const client of held) client.socket.write(head('GET', '/healthz', {}));
      await sleep(200);
      for (const client of held) expect(client.received()).toMatch(/^HTTP\/1\.1 200/);
      const fourth = await rawClient(port);
      fourth.socket.write(head('GET', '/healthz', {}));
      expect(await fourth.closed(3000)).not.toBe('open');
      expect(fourth.received()).toBe('');

      held[0]!.socket.destroy();
      await sleep(100);
      const fifth = await rawClient(port);
      fifth.socket.write(head('GET', '/healthz', {}));
      await sleep(200);
      expect(fifth.received()).toMatch(/^HTTP\/1\.1 200/);
    });
  });
});

const FAILED_AUTH = { failedAuthPerAddress: { max: 5, windowMs: 60_000 } };
const wrong = () => bearer(`gh_${randomBytes(24).toString('hex')}`);

describe('failed authentications per client address', () => {
  describe('when one address sends max wrong tokens', () => {
    it('answers that address 429 with Retry-After, even with a valid token, and no other address', async () => {
      const { app } = await harness({ rateLimits: FAILED_AUTH });
      const admin = bearer(await h!.token('admin'));
      const from = (remoteAddress: string, headers: Record<string, string>) =>
        app.inject({ method: 'GET', url: '/v1/policy', headers, remoteAddress });
      for (let i = 0; i < 5; i++) expect((await from('192.0.2.1', wrong())).statusCode).toBe(401);

      for (const headers of [wrong(), admin]) {
        const refused = await from('192.0.2.1', headers);
        expect(refused.statusCode).toBe(429);
        expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(refused.json()).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
        const retryAfter = Number(refused.headers['retry-after']);
        expect(retryAfter).toBeGreaterThan(0);
        expect(retryAfter).toBeLessThanOrEqual(60);
      }
      expect((await from('192.0.2.2', admin)).statusCode).toBe(200);
      expect((await from('192.0.2.2', wrong())).statusCode).toBe(401);
    });

    it('counts wrong installation secrets alike', async () => {
      const { app } = await harness({ rateLimits: FAILED_AUTH });
      const installation = await registerInstallation(app, await h!.token('product'), 'CH');
      const guess = () =>
        app.inject({
          method: 'POST',
          url: '/v1/privacy-requests',
          headers: { authorization: `Installation ${installation.id}:${randomBytes(16).toString('hex')}` },
          payload: { type: 'inventory' },
          remoteAddress: '192.0.2.1',
        });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) statuses.push((await guess()).statusCode);
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
    });

    it('refuses the look-up fast path to that address too', async () => {
      const { app } = await harness({ rateLimits: FAILED_AUTH });
      const product = bearer(await h!.token('product'));
      const port = await listen(app);
      const url = `http://127.0.0.1:${port}/v1/lookup/${'d'.repeat(64)}`;
      // Known from now on: the fast path answers this token without Fastify.
      expect((await fetch(url, { headers: product })).status).toBe(200);
      for (let i = 0; i < 5; i++) expect((await fetch(url, { headers: wrong() })).status).toBe(401);
      const refused = await fetch(url, { headers: product });
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect(await refused.json()).toMatchObject({ code: 'RATE_LIMITED' });
    });
  });

  describe('when X-Forwarded-For names another client', () => {
    it('ignores it without trusted proxies: changing it does not escape the limit', async () => {
      const { app } = await harness({ rateLimits: FAILED_AUTH });
      const statuses: number[] = [];
      for (let i = 0; i < 7; i++) {
        const response = await app.inject({
          method: 'GET',
          url: '/v1/policy',
          headers: { ...wrong(), 'x-forwarded-for': `198.51.100.${i}` },
          remoteAddress: '192.0.2.1',
        });
        statuses.push(response.statusCode);
      }
      expect(statuses).toEqual([401, 401, 401, 401, 401, 429, 429]);
    });

    it('honours it from a trusted proxy: each forwarded client is counted alone', async () => {
      const { app } = await harness({ rateLimits: FAILED_AUTH, server: { trustProxy: ['192.0.2.0/24'] } });
      const viaProxy = (client: string) =>
        app.inject({
          method: 'GET',
          url: '/v1/policy',
          headers: { ...wrong(), 'x-forwarded-for': client },
          remoteAddress: '192.0.2.10',
        });
      for (let i = 0; i < 5; i++) expect((await viaProxy('198.51.100.7')).statusCode).toBe(401);
      expect((await viaProxy('198.51.100.7')).statusCode).toBe(429);
      expect((await viaProxy('198.51.100.8')).statusCode).toBe(401);
    });
  });
});

describe('request rates', () => {
  describe('when one address passes perAddress, or one token perToken', () => {
    it('answers 429 with Retry-After, look-ups excepted', async () => {
      const { app } = await harness({
        rateLimits: { perAddress: { max: 3, windowMs: 60_000 }, perToken: { max: 5, windowMs: 60_000 } },
      });
      const admin = bearer(await h!.token('admin'));
      const policy = (remoteAddress: string) =>
        app.inject({ method: 'GET', url: '/v1/policy', headers: admin, remoteAddress });
      const fromOne = [];
      for (let i = 0; i < 4; i++) fromOne.push((await policy('192.0.2.1')).statusCode);
      expect(fromOne).toEqual([200, 200, 200, 429]);
      // The same token from other addresses: 3 + 2 requests are its 5.
      expect((await policy('192.0.2.2')).statusCode).toBe(200);
      expect((await policy('192.0.2.3')).statusCode).toBe(200);
      const overToken = await policy('192.0.2.4');
      expect(overToken.statusCode).toBe(429);
      expect(overToken.headers['retry-after']).toMatch(/^\d+$/);

      const product = bearer(await h!.token('product'));
      for (let i = 0; i < 5; i++) {
        const lookup = await app.inject({
          method: 'GET',
          url: `/v1/lookup/${'e'.repeat(64)}`,
          headers: product,
          remoteAddress: '192.0.2.1',
        });
        expect(lookup.statusCode).toBe(200);
      }
    });
  });
});

describe('installation registrations', () => {
  const register = (app: Harness['app'], token: string, remoteAddress: string) =>
    app.inject({
      method: 'POST',
      url: '/v1/installations',
      headers: bearer(token),
      payload: { country: 'CH', product: 'endpoint-12' },
      remoteAddress,
    });

  describe('when one address has used its quota', () => {
    it('answers it 429 and registers nothing, while another address still registers', async () => {
      const { app, glasshouse } = await harness({
        rateLimits: { registrationsPerAddress: { max: 3, windowMs: 3_600_000 } },
      });
      const product = await h!.token('product');
      // A refused registration (bad input) uses no quota.
      const bad = await app.inject({
        method: 'POST',
        url: '/v1/installations',
        headers: bearer(product),
        payload: { country: 'XX' },
        remoteAddress: '192.0.2.1',
      });
      expect(bad.statusCode).toBe(400);
      for (let i = 0; i < 3; i++) expect((await register(app, product, '192.0.2.1')).statusCode).toBe(201);
      const control = glasshouse.logs.get('control')!;
      const before = await control.size();
      const refused = await register(app, product, '192.0.2.1');
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'RATE_LIMITED' });
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(60);
      expect(await control.size()).toBe(before);
      expect((await register(app, product, '192.0.2.2')).statusCode).toBe(201);
    });
  });

  describe('when a per-token quota is set', () => {
    it('counts the token across addresses', async () => {
      const { app } = await harness({
        rateLimits: { registrationsPerToken: { max: 2, windowMs: 3_600_000 } },
      });
      const product = await h!.token('product');
      const other = await h!.token('product');
      expect((await register(app, product, '192.0.2.1')).statusCode).toBe(201);
      expect((await register(app, product, '192.0.2.2')).statusCode).toBe(201);
      expect((await register(app, product, '192.0.2.3')).statusCode).toBe(429);
      expect((await register(app, other, '192.0.2.3')).statusCode).toBe(201);
    });
  });
});

describe('bodies over a streaming route’s limit', () => {
  const routes = [
    { role: 'product', path: '/v1/events', type: 'application/x-ndjson' },
    { role: 'analyst', path: '/v1/verdicts/import', type: 'application/x-ndjson' },
  ] as const;

  describe.each(routes)('POST $path', ({ role, path, type }) => {
    it('answers 413 at once to a declared 2 GiB body, and closes', async () => {
      const { app } = await harness({});
      const token = await h!.token(role);
      const client = await rawClient(await listen(app));
      client.socket.write(
        head('POST', path, { ...bearer(token), 'content-type': type, 'content-length': String(2 ** 31) }),
      );
      expect(await client.closed(5000)).not.toBe('open');
      expect(client.received()).toMatch(/^HTTP\/1\.1 413 /);
      expect(client.received()).toMatch(/content-type: application\/problem\+json/i);
      expect(client.received()).toContain('"code":"BODY_TOO_LARGE"');
    });

    it('answers 413 to a chunked body once it passes the limit, stores none of it, and closes', async () => {
      const { app } = await harness({ stats: { maxBatchBytes: 2048 }, lookup: { maxImportBytes: 2048 } });
      const token = await h!.token(role);
      const installation = await registerInstallation(app, await h!.token('product'), 'CH');
      const hash = 'f'.repeat(64);
      const line =
        role === 'product'
          ? `${JSON.stringify({ ...PRODUCT_EVENT, ts: new Date().toISOString(), installation: installation.id, sha256: hash })}\n`
          : `${JSON.stringify({ hash, verdict: 'malicious', threat: 'Trojan.Chunked' })}\n`;
      const client = await rawClient(await listen(app));
      client.socket.write(
        head('POST', path, { ...bearer(token), 'content-type': type, 'transfer-encoding': 'chunked' }),
      );
      // Well-formed lines, a chunk each, past the limit; the body never ends.
      for (let sent = 0; sent < 8192; sent += line.length) {
        client.socket.write(`${Buffer.byteLength(line).toString(16)}\r\n${line}\r\n`);
      }
      expect(await client.closed(5000)).not.toBe('open');
      expect(client.received()).toMatch(/^HTTP\/1\.1 413 /);
      expect(client.received()).toContain('"code":"BODY_TOO_LARGE"');

      if (role === 'analyst') {
        const lookup = await app.inject({
          method: 'GET',
          url: `/v1/lookup/${hash}`,
          headers: bearer(await h!.token('product')),
        });
        expect(lookup.json()).toMatchObject({ verdict: 'unknown' });
      } else {
        const site = h!.glasshouse.sites.get(installation.site)!;
        await site.stats!.flush();
        const top = await app.inject({
          method: 'GET',
          url: '/v1/stats/top-threats',
          headers: bearer(await h!.token('analyst')),
        });
        expect(top.json()).toMatchObject({ rows: [], suppressed: 0 });
      }
    });
  });
});
