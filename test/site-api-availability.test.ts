import { randomUUID } from 'node:crypto';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpSiteClient } from '../src/adapters/site-http/http-site-client.js';
import type { TlsMaterial } from '../src/pki/certificates.js';
import { IDEMPOTENCY_KEY_HEADER } from '../src/ports/site-wire.js';
import { startSiteApi } from '../src/site/api/site-api-server.js';
import { openTestSite } from './support/site-node.js';
import { createTestPki, type TestPki } from './support/site-pki.js';

/*
 * HttpSiteClient against sites that are away, silent, starting or busy: timeouts, retries,
 * SITE_UNAVAILABLE. (test/site-api-tls.test.ts covers who may talk to whom, and streams.)
 */

const now = () => new Date('2026-03-02T12:00:00Z');

let pki: TestPki;
let control: TlsMaterial;
const clients: HttpSiteClient[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  control = await pki.material('control', 'control');
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

function clientOf(options: { name?: string; url: string; timeoutMs: number }) {
  const client = new HttpSiteClient({
    name: options.name ?? 'zurich',
    jurisdiction: 'CH',
    url: options.url,
    tls: control,
    timeoutMs: options.timeoutMs,
  });
  clients.push(client);
  return client;
}

async function codeOf(action: Promise<unknown>): Promise<string | undefined> {
  try {
    await action;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('HttpSiteClient when a site is not there', () => {
  describe('when the site is stopped', () => {
    it('fails with SITE_UNAVAILABLE within the timeout', async () => {
      const stopped = await openTestSite({ name: 'moscow', now });
      const moscowApi = await startSiteApi({
        site: stopped.site,
        log: stopped.log,
        tls: await pki.material('site', 'moscow'),
        host: '127.0.0.1',
        port: 0,
      });
      const client = clientOf({ name: 'moscow', url: moscowApi.url, timeoutMs: 1500 });
      await client.health();
      await moscowApi.close();
      await stopped.close();
      const started = Date.now();
      expect(await codeOf(client.health())).toBe('SITE_UNAVAILABLE');
      expect(await codeOf(client.usage())).toBe('SITE_UNAVAILABLE');
      expect(Date.now() - started).toBeLessThan(2 * 1500);
    });
  });

  describe('when the site accepts connections but never answers', () => {
    let silent: Server;
    const sockets: Socket[] = [];
    afterAll(() => {
      for (const socket of sockets) socket.destroy();
      silent?.close();
    });

    it('fails with SITE_UNAVAILABLE after the timeout', async () => {
      silent = createServer((socket) => sockets.push(socket));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const address = silent.address() as { port: number };
      const client = clientOf({ url: `https://127.0.0.1:${address.port}`, timeoutMs: 400 });
      const started = Date.now();
      expect(await codeOf(client.health())).toBe('SITE_UNAVAILABLE');
      expect(Date.now() - started).toBeGreaterThanOrEqual(350);
      // One timeout, not one per retry: the retries share the call's timeout.
      expect(Date.now() - started).toBeLessThan(3 * 400);
    });
  });

  describe('when the site comes up while an idempotent call retries', () => {
    it('answers once it is there', async () => {
      const late = await openTestSite({ name: 'moscow', now });
      const probe = createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
      const port = (probe.address() as { port: number }).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));
      const client = clientOf({ name: 'moscow', url: `https://127.0.0.1:${port}`, timeoutMs: 5000 });
      const answer = client.usage();
      await sleep(150);
      const lateApi = await startSiteApi({
        site: late.site,
        log: late.log,
        tls: await pki.material('site', 'moscow'),
        host: '127.0.0.1',
        port,
      });
      try {
        await expect(answer).resolves.toMatchObject({ samples: 0, bytes: 0 });
      } finally {
        await lateApi.close();
        await late.close();
      }
    });
  });

  describe('when a site answers 503 for a while', () => {
    let flaky: HttpsServer;
    let answers: { path: string; key: string | undefined }[];
    let failuresLeft = 0;
    beforeAll(async () => {
      const tls = await pki.material('site', 'zurich');
      // A stand-in for a site that is starting: 503 problems, then the answer.
      flaky = createHttpsServer({ ...tls, requestCert: true, rejectUnauthorized: true }, (req, res) => {
        req.resume();
        const key = req.headers[IDEMPOTENCY_KEY_HEADER];
        answers.push({ path: req.url ?? '', key: typeof key === 'string' ? key : undefined });
        if (failuresLeft > 0) {
          failuresLeft -= 1;
          res.writeHead(503, { 'content-type': 'application/problem+json' });
          res.end(JSON.stringify({ status: 503, code: 'LOG_CLOSED', detail: 'starting' }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ installations: 0, submissions: 0, samples: 0, bytes: 0, events: 0 }));
      });
      await new Promise<void>((resolve) => flaky.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => flaky.close(() => resolve())));

    function flakyClient() {
      return clientOf({
        url: `https://127.0.0.1:${(flaky.address() as { port: number }).port}`,
        timeoutMs: 5000,
      });
    }

    it('retries a call safe to repeat, with the same Idempotency-Key', async () => {
      answers = [];
      failuresLeft = 2;
      await expect(flakyClient().purgeInstallations([randomUUID()])).resolves.toMatchObject({
        installations: 0,
      });
      expect(answers).toHaveLength(3);
      expect(new Set(answers.map((a) => a.key)).size).toBe(1);
      expect(answers[0]?.key).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('does not repeat a call that is not safe to, and keeps the code', async () => {
      answers = [];
      failuresLeft = 1;
      expect(await codeOf(flakyClient().appendEvents(Buffer.from('row\n')))).toBe('LOG_CLOSED');
      expect(answers).toHaveLength(1);
    });

    it('gives up within the timeout when the site stays away', async () => {
      answers = [];
      failuresLeft = 100;
      const started = Date.now();
      expect(
        await codeOf(
          clientOf({
            url: `https://127.0.0.1:${(flaky.address() as { port: number }).port}`,
            timeoutMs: 600,
          }).usage(),
        ),
      ).toBe('LOG_CLOSED');
      expect(Date.now() - started).toBeLessThan(600 + 400);
      expect(answers.length).toBeGreaterThan(1);
    });
  });
});
