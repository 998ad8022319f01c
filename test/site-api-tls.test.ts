import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type TLSSocket } from 'node:tls';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpSiteClient } from '../src/adapters/site-http/http-site-client.js';
import type { TlsMaterial } from '../src/pki/certificates.js';
import {
  encodeHeaderJson,
  IDEMPOTENCY_KEY_HEADER,
  SAMPLE_HEADER,
  SUBMISSION_HEADER,
} from '../src/ports/site-wire.js';
import { GlasshouseError } from '../src/shared/errors.js';
import { type SiteApi, startSiteApi } from '../src/site/api/site-api-server.js';
import { REPO_ROOT } from './support/cli.js';
import { openTestSite, type TestSite } from './support/site-node.js';
import { createTestPki, issueForeignSubject, type TestPki } from './support/site-pki.js';

const now = () => new Date('2026-03-02T12:00:00Z');
const ACTOR = { role: 'admin', token: 'tls-test' };
const MiB = 1024 * 1024;
const UPLOAD_CHILD = join(REPO_ROOT, 'test', 'support', 'site-upload-child.ts');

let pki: TestPki;
let zurich: TestSite;
let api: SiteApi;
let control: TlsMaterial;
const clients: HttpSiteClient[] = [];

beforeAll(async () => {
  pki = await createTestPki();
  control = await pki.material('control', 'control');
  zurich = await openTestSite({ now, maxSampleBytes: 512 * MiB });
  api = await startSiteApi({
    site: zurich.site,
    log: zurich.log,
    tls: await pki.material('site', 'zurich'),
    host: '127.0.0.1',
    port: 0,
    now,
  });
}, 300_000);

afterAll(async () => {
  await api?.close();
  await zurich?.close();
});

afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});

function clientOf(options: { name?: string; url?: string; tls?: TlsMaterial; timeoutMs?: number } = {}) {
  const client = new HttpSiteClient({
    name: options.name ?? 'zurich',
    jurisdiction: 'CH',
    url: options.url ?? api.url,
    tls: options.tls ?? control,
    timeoutMs: options.timeoutMs ?? 10_000,
  });
  clients.push(client);
  return client;
}

/** One raw request with whatever TLS material the test gives; the response or the error. */
function rawRequest(
  tls: { ca: string; cert?: string; key?: string },
  options: { method?: string; path?: string; headers?: Record<string, string>; body?: Buffer } = {},
): Promise<{ response: IncomingMessage; body: Buffer } | { error: NodeJS.ErrnoException }> {
  const url = new URL(api.url);
  return new Promise((resolve) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path ?? '/site/v1/health',
        headers: options.headers ?? {},
        agent: false,
        ...tls,
      },
      (response) => {
        buffer(response).then(
          (body) => resolve({ response, body }),
          (error: NodeJS.ErrnoException) => resolve({ error }),
        );
      },
    );
    req.on('error', (error) => resolve({ error }));
    req.end(options.body);
  });
}

async function codeOf(action: Promise<unknown>): Promise<string | undefined> {
  try {
    await action;
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe('site API over mutual TLS', () => {
  describe('when a client presents no certificate', () => {
    it('is refused at the handshake: no HTTP answer at all', async () => {
      const outcome = await rawRequest({ ca: pki.ca.cert });
      expect('error' in outcome ? outcome.error.code : 'answered').toMatch(/ECONNRESET|ERR_SSL|EPIPE/);
    });
  });

  describe('when a client presents a certificate of another CA', () => {
    it('is refused at the handshake', async () => {
      const stranger = await (await createTestPki('other-deployment')).material('control', 'control');
      const outcome = await rawRequest({ ca: pki.ca.cert, cert: stranger.cert, key: stranger.key });
      expect('error' in outcome ? outcome.error.code : 'answered').toMatch(/ECONNRESET|ERR_SSL|EPIPE/);
    });
  });

  describe('when a client certificate of the CA speaks for no peer', () => {
    it('answers 403 FORBIDDEN_PEER', async () => {
      const auditor = await issueForeignSubject(pki.ca, 'auditor', 'eve');
      const outcome = await rawRequest(auditor);
      if ('error' in outcome) throw outcome.error;
      expect(outcome.response.statusCode).toBe(403);
      expect(JSON.parse(outcome.body.toString('utf8'))).toMatchObject({ code: 'FORBIDDEN_PEER' });
    });
  });

  describe('when the client is a peer site', () => {
    it('is admitted (a relocation copies from site to site)', async () => {
      const moscow = await pki.material('site', 'moscow');
      await expect(clientOf({ tls: moscow }).health()).resolves.toBeUndefined();
    });
  });

  describe('when a client resumes its TLS session on a new connection', () => {
    it('is still known by its certificate', async () => {
      const agent = new Agent({ keepAlive: false, ...control });
      const url = new URL(api.url);
      const outcomes: string[] = [];
      for (let i = 0; i < 3; i += 1) {
        outcomes.push(
          await new Promise<string>((resolve, reject) => {
            const req = request(
              { host: url.hostname, port: url.port, path: '/site/v1/usage', agent },
              (res) => {
                res.resume();
                resolve(`${res.statusCode} ${(res.socket as TLSSocket).isSessionReused()}`);
              },
            );
            req.on('error', reject);
            req.end();
          }),
        );
      }
      agent.destroy();
      expect(outcomes.map((o) => o.split(' ')[0])).toEqual(['200', '200', '200']);
      expect(outcomes.slice(1)).toContain('200 true');
    });
  });

  describe('when the server at the address is another site than expected', () => {
    it('refuses it with SITE_IDENTITY_MISMATCH and sends it nothing', async () => {
      const installationId = randomUUID();
      const wrong = clientOf({ name: 'moscow' });
      expect(await codeOf(wrong.admitInstallation(installationId, ACTOR))).toBe('SITE_IDENTITY_MISMATCH');
      expect(await zurich.site.installationRecords(installationId)).toBeUndefined();
    });
  });

  describe("when the server's certificate is from another CA", () => {
    it('fails with SITE_UNAVAILABLE at once, without retrying', async () => {
      const stranger = await createTestPki('other-deployment');
      const impostor = await startSiteApi({
        site: zurich.site,
        log: zurich.log,
        tls: await stranger.material('site', 'zurich'),
        host: '127.0.0.1',
        port: 0,
      });
      try {
        const started = Date.now();
        const error = await clientOf({ url: impostor.url, timeoutMs: 5000 })
          .health()
          .catch((e: unknown) => e);
        expect(error).toMatchObject({
          code: 'SITE_UNAVAILABLE',
          cause: { code: expect.stringMatching(/CERT|VERIFY|SIGNATURE/) },
        });
        expect(Date.now() - started).toBeLessThan(1000);
      } finally {
        await impostor.close();
      }
    });
  });

  describe('when the site refuses a call', () => {
    it('rejects with a GlasshouseError carrying the site code', async () => {
      const error = await clientOf()
        .openSampleForDownload('0'.repeat(64), ACTOR)
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GlasshouseError);
      expect(error).toMatchObject({ code: 'SAMPLE_NOT_FOUND', message: expect.stringContaining('zurich') });
    });
  });

  describe('when a mutating call is repeated with its Idempotency-Key', () => {
    it('answers the repeat with the first answer', async () => {
      const installationId = randomUUID();
      await zurich.site.admitInstallation(installationId, ACTOR);
      const bytes = Buffer.from(`idempotent ${randomUUID()}`);
      const headers = {
        'content-type': 'application/octet-stream',
        [SUBMISSION_HEADER]: encodeHeaderJson({ installationId, filename: 'a.bin', product: 'endpoint-12' }),
        [IDEMPOTENCY_KEY_HEADER]: randomUUID(),
      };
      const call = () =>
        rawRequest(control, { method: 'POST', path: '/site/v1/samples', headers, body: bytes });
      const first = await call();
      const repeat = await call();
      if ('error' in first || 'error' in repeat) throw new Error('request failed');
      expect(first.response.statusCode).toBe(201);
      expect(repeat.response.statusCode).toBe(201);
      expect(JSON.parse(repeat.body.toString('utf8'))).toEqual(JSON.parse(first.body.toString('utf8')));
      expect((await zurich.site.installationRecords(installationId))?.submissions).toHaveLength(1);
    });
  });

  describe('when a 256 MiB sample streams up and back', () => {
    it("keeps the client's memory far below the body size in both directions", async () => {
      const installationId = randomUUID();
      await zurich.site.admitInstallation(installationId, ACTOR);
      const size = 256 * MiB;
      // A small young generation, so RSS shows what the client holds rather than V8's semi-spaces.
      const child = spawn(
        process.execPath,
        ['--max-semi-space-size=1', '--import', 'tsx', UPLOAD_CHILD, String(size)],
        {
          cwd: REPO_ROOT,
          stdio: ['pipe', 'pipe', 'pipe'],
        },
      );
      child.stdin.end(JSON.stringify({ url: api.url, tls: control, installationId }));
      const [output, errors, [code]] = await Promise.all([
        text(child.stdout),
        text(child.stderr),
        once(child, 'close') as Promise<[number | null]>,
      ]);
      expect(code, errors).toBe(0);
      const result = JSON.parse(output) as {
        stored: { sha256: string; size: number; new: boolean };
        sent: string;
        received: string;
        length: number;
        baseline: number;
        peak: number;
      };
      expect(result.stored).toMatchObject({ size, sha256: result.sent, new: true });
      expect(result.length).toBe(size);
      expect(result.received).toBe(result.sent);
      // Streamed both ways: a few buffers, not the body. The process's growth levels off near
      // 30 MiB whatever the size (garbage the allocator keeps between collections), hence a
      // body large enough for the bound to tell streaming from buffering.
      expect(result.peak - result.baseline).toBeLessThan(size / 4);
    }, 120_000);
  });

  describe('when an upload takes longer than the timeout but never goes silent', () => {
    it('is not cut', async () => {
      const installationId = randomUUID();
      await zurich.site.admitInstallation(installationId, ACTOR);
      const client = clientOf({ timeoutMs: 500 });
      async function* slowly() {
        for (let i = 0; i < 6; i += 1) {
          await sleep(200);
          yield Buffer.alloc(1024, i);
        }
      }
      const stored = await client.storeSample({
        installationId,
        filename: 'slow-upload.bin',
        product: 'endpoint-12',
        body: Readable.from(slowly()),
      });
      expect(stored).toMatchObject({ size: 6 * 1024, new: true });
    });
  });

  describe('when the site answers an import before the body has come (it holds the sample)', () => {
    it('keeps reading what still comes, so the client sees the answer rather than a failed write', async () => {
      const installationId = randomUUID();
      await zurich.site.admitInstallation(installationId, ACTOR);
      const bytes = Buffer.alloc(MiB, 7);
      const stored = await clientOf().storeSample({
        installationId,
        filename: 'held.bin',
        product: 'endpoint-12',
        body: Readable.from([bytes]),
      });
      const record = { ...stored, firstSeen: now().toISOString(), lastSeen: now().toISOString() };
      delete (record as Record<string, unknown>).new;
      delete (record as Record<string, unknown>).site;
      // A raw connection, to see what the site does with it after its answer.
      const url = new URL(api.url);
      const socket = connect({
        host: url.hostname,
        port: Number(url.port),
        servername: 'localhost',
        ...control,
      });
      const events: string[] = [];
      socket.on('error', (error) => events.push(`error ${error.message}`));
      socket.on('end', () => events.push('end'));
      await once(socket, 'secureConnect');
      let answer = '';
      socket.on('data', (chunk: Buffer) => {
        answer += chunk.toString('latin1');
      });
      socket.write(
        [
          `PUT /site/v1/samples/${stored.sha256}/plaintext HTTP/1.1`,
          `host: ${url.host}`,
          'content-type: application/octet-stream',
          'transfer-encoding: chunked',
          `${SAMPLE_HEADER}: ${encodeHeaderJson(record)}`,
          '',
          '',
        ].join('\r\n'),
      );
      const chunk = (bytes: Buffer) => `${bytes.length.toString(16)}\r\n${bytes.toString('latin1')}\r\n`;
      socket.write(chunk(bytes.subarray(0, 64 * 1024)), 'latin1');
      for (let i = 0; i < 100 && !answer.includes('"copied"'); i += 1) await sleep(20);
      expect(answer).toMatch(/^HTTP\/1\.1 200 /);
      expect(answer).toContain('{"copied":false}');
      // A client that has not read the answer yet is still sending: the site does not cut it.
      for (let i = 0; i < 10; i += 1) {
        socket.write(chunk(bytes.subarray(0, 64 * 1024)), 'latin1');
        await sleep(20);
      }
      expect(events).toEqual([]);
      socket.destroy();
      await expect(clientOf().health()).resolves.toBeUndefined();
    });
  });

  describe('when a client goes away in the middle of an upload', () => {
    it('stores nothing and keeps serving', async () => {
      const installationId = randomUUID();
      await zurich.site.admitInstallation(installationId, ACTOR);
      const url = new URL(api.url);
      const req = request({
        host: url.hostname,
        port: url.port,
        method: 'POST',
        path: '/site/v1/samples',
        agent: false,
        ...control,
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(10 * MiB),
          [SUBMISSION_HEADER]: encodeHeaderJson({
            installationId,
            filename: 'cut.bin',
            product: 'endpoint-12',
          }),
        },
      });
      req.on('error', () => undefined);
      req.write(Buffer.alloc(MiB, 1));
      await sleep(200);
      req.destroy();
      await sleep(200);
      await expect(clientOf().health()).resolves.toBeUndefined();
      expect(await zurich.site.countInstallationRecords(installationId)).toEqual({
        submissions: 0,
        events: 0,
      });
    });
  });

  describe('when the reader of a streamed answer pauses longer than the timeout', () => {
    it('does not cut the stream', { timeout: 60_000 }, async () => {
      const installationId = randomUUID();
      await zurich.site.admitInstallation(installationId, ACTOR);
      const bytes = Buffer.alloc(4 * MiB, 7);
      // Stored without the short timeout: only the reading is what this test times.
      const stored = await clientOf({ timeoutMs: 60_000 }).storeSample({
        installationId,
        filename: 'slow.bin',
        product: 'endpoint-12',
        body: Readable.from([bytes]),
      });
      const client = clientOf({ timeoutMs: 5000 });
      const stream = await client.openSamplePlaintext(stored.sha256);
      const chunks: Buffer[] = [];
      let paused = false;
      for await (const chunk of stream) {
        chunks.push(chunk as Buffer);
        if (!paused) {
          paused = true;
          await sleep(6500);
        }
      }
      expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
    });
  });
});
