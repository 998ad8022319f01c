import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { dataDirContains, extractWith7z, filesUnder, listWith7z, sha256 } from './support/files.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { publishAll } from './support/ledger.js';

const MAX_SAMPLE_BYTES = 4 * 1024 * 1024;
let h: Harness;
let product: string;
let analyst: string;
let installation: { id: string; site: string };

beforeAll(async () => {
  h = await startHarness({ maxSampleBytes: MAX_SAMPLE_BYTES });
  product = await h.token('product');
  analyst = await h.token('analyst');
  installation = await register('CH');
});
afterAll(() => h.close());

async function register(country: string) {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/installations',
    headers: bearer(product),
    payload: { country, product: 'endpoint-12' },
  });
  expect(response.statusCode).toBe(201);
  return response.json<{ id: string; secret: string; site: string }>();
}

function upload(bytes: Buffer, options: { installationId?: string; filename?: string; token?: string } = {}) {
  const filename = encodeURIComponent(options.filename ?? 'invoice.pdf.exe');
  return h.app.inject({
    method: 'POST',
    url: `/v1/samples?installation=${options.installationId ?? installation.id}&filename=${filename}`,
    headers: { ...bearer(options.token ?? product), 'content-type': 'application/octet-stream' },
    payload: bytes,
  });
}

describe('POST /v1/samples', () => {
  describe('when a new sample is submitted', () => {
    it('answers 201 with every digest computed in one pass', async () => {
      const bytes = randomBytes(200_000);
      const response = await upload(bytes);
      expect(response.statusCode).toBe(201);
      expect(response.json()).toEqual({
        sha256: sha256(bytes),
        sha1: createHash('sha1').update(bytes).digest('hex'),
        md5: createHash('md5').update(bytes).digest('hex'),
        sha512: createHash('sha512').update(bytes).digest('hex'),
        size: bytes.length,
        site: 'zurich',
        new: true,
      });
    });
  });

  describe('when the same file is submitted again', () => {
    it('answers 200, stores the bytes once and counts both submissions', async () => {
      const bytes = randomBytes(70_000);
      expect((await upload(bytes)).statusCode).toBe(201);
      // The sample's files only: logs publish tiles and databases checkpoint in the background.
      const blobFiles = () => filesUnder(h.dataDir).filter((file) => file.includes('blobs')).length;
      const before = blobFiles();
      expect(before).toBeGreaterThan(0);
      const again = await upload(bytes, { installationId: (await register('DE')).id, filename: 'other.exe' });
      expect(again.statusCode).toBe(200);
      expect(again.json().new).toBe(false);
      expect(blobFiles()).toBe(before);
      const described = await h.app.inject({ url: `/v1/samples/${sha256(bytes)}`, headers: bearer(analyst) });
      expect(described.json().sites).toEqual([expect.objectContaining({ site: 'zurich', submissions: 2 })]);
    });
  });

  describe('when the data directory is read raw', () => {
    it('holds neither the sample plaintext nor its file name', async () => {
      const marker = Buffer.from(`GLASSHOUSE-PLAINTEXT-MARKER-${randomBytes(16).toString('hex')}`);
      const filename = `secret-name-${randomBytes(8).toString('hex')}.docm`;
      const bytes = Buffer.concat([randomBytes(1000), marker, randomBytes(100_000), marker]);
      expect((await upload(bytes, { filename })).statusCode).toBe(201);
      // The plaintext must also not hide in the first segment or in small files (SQLite pages, WAL).
      const small = Buffer.concat([marker, Buffer.from(' tiny')]);
      expect((await upload(small, { filename })).statusCode).toBe(201);
      expect(dataDirContains(h.dataDir, marker)).toBeUndefined();
      expect(dataDirContains(h.dataDir, Buffer.from(filename))).toBeUndefined();
      expect(dataDirContains(h.dataDir, Buffer.from(filename, 'utf16le'))).toBeUndefined();
    });
  });
});

describe('GET /v1/samples/{hash}', () => {
  describe('when looked up by each kind of hash', () => {
    it('finds the same sample by MD5, SHA-1, SHA-256 and SHA-512, in any case', async () => {
      const bytes = randomBytes(5000);
      const stored = (await upload(bytes)).json<Record<string, string>>();
      for (const hash of [
        stored.md5,
        stored.sha1,
        stored.sha256,
        stored.sha512,
        stored.sha256!.toUpperCase(),
      ]) {
        const response = await h.app.inject({ url: `/v1/samples/${hash}`, headers: bearer(analyst) });
        expect(response.statusCode).toBe(200);
        expect(response.json()).toMatchObject({
          sha256: stored.sha256,
          size: 5000,
          ssdeep: expect.stringMatching(/^96:[A-Za-z0-9+/]+:[A-Za-z0-9+/]+$/),
          tlsh: expect.stringMatching(/^T1[0-9A-F]{70}$/),
          type: expect.any(String),
        });
      }
    });
  });

  describe('when the token may not see the site that holds the sample', () => {
    it('answers 404 as if the sample did not exist', async () => {
      const bytes = randomBytes(3000);
      await upload(bytes);
      const moscowOnly = await h.token('analyst', ['moscow']);
      const response = await h.app.inject({
        url: `/v1/samples/${sha256(bytes)}`,
        headers: bearer(moscowOnly),
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().code).toBe('SAMPLE_NOT_FOUND');
    });
  });
});

describe('GET /v1/samples/{hash}/download', () => {
  describe('when an analyst downloads a sample', () => {
    it('sends an AES-256 zip that 7-Zip opens with the password infected, yielding the same bytes', async () => {
      const bytes = randomBytes(300_000);
      const hash = sha256(bytes);
      await upload(bytes);
      const response = await h.app.inject({ url: `/v1/samples/${hash}/download`, headers: bearer(analyst) });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toBe('application/zip');
      const zip = response.rawPayload;
      expect(zip.includes(bytes.subarray(0, 64))).toBe(false);
      expect(listWith7z(zip)).toMatch(/Method = AES-256/);
      const entries = extractWith7z(zip);
      expect([...entries.keys()]).toEqual([hash]);
      expect(entries.get(hash)!.equals(bytes)).toBe(true);
    });

    it('puts each download on the record at the site before sending it', async () => {
      const bytes = randomBytes(1000);
      const hash = sha256(bytes);
      await upload(bytes);
      await h.app.inject({ url: `/v1/samples/${hash}/download?site=zurich`, headers: bearer(analyst) });
      const log = h.glasshouse.logs.get('zurich')!;
      const size = await log.size();
      const entry = JSON.parse((await log.readEntries(size - 1, size))[0]!.toString('utf8'));
      expect(entry).toMatchObject({
        type: 'sample.download',
        site: 'zurich',
        sha256: hash,
        actor: { role: 'analyst' },
      });
      expect(entry.actor.token).toMatch(/^[0-9a-f]{12}$/);
    });
  });

  describe('when the site asked for is outside the token', () => {
    it('answers 403 FORBIDDEN_SITE', async () => {
      const bytes = randomBytes(1000);
      await upload(bytes);
      const moscowOnly = await h.token('analyst', ['moscow']);
      const response = await h.app.inject({
        url: `/v1/samples/${sha256(bytes)}/download?site=zurich`,
        headers: bearer(moscowOnly),
      });
      expect(response.statusCode).toBe(403);
      expect(response.json().code).toBe('FORBIDDEN_SITE');
    });
  });
});

describe('bad input', () => {
  /**
   * The logs publish their tiles in the background, so every log is brought up to date
   * before and after the request: a tile published late is not mistaken for a change.
   */
  async function storesAndLogs() {
    const logs = [...h.glasshouse.logs.values()];
    for (const log of logs) await publishAll(log);
    return {
      // When the log last found its checkpoint current is a time, not stored data: it moves
      // with every publication, whether or not anything was written.
      usage: (await Promise.all([...h.glasshouse.sites.values()].map((s) => s.usage()))).map((usage) => ({
        ...usage,
        log: { ...usage.log, checkpointCurrentAt: undefined },
      })),
      logSizes: await Promise.all(logs.map((log) => log.size())),
      files: filesUnder(h.dataDir)
        .filter((f) => !f.endsWith('-wal') && !f.endsWith('-shm'))
        .sort(),
    };
  }

  async function expectNothingChanged(
    run: () => Promise<{ statusCode: number; headers: Record<string, unknown>; json(): { code: string } }>,
    status: number,
    code: string,
  ) {
    const before = await storesAndLogs();
    const response = await run();
    expect(response.statusCode).toBe(status);
    expect(String(response.headers['content-type'])).toContain('application/problem+json');
    expect(response.json().code).toBe(code);
    expect(await storesAndLogs()).toEqual(before);
  }

  it('rejects an unknown installation with 404', () =>
    expectNothingChanged(
      () => upload(randomBytes(10), { installationId: '00000000-0000-4000-8000-000000000000' }),
      404,
      'INSTALLATION_NOT_FOUND',
    ));

  it('rejects a malformed installation id with 400', () =>
    expectNothingChanged(
      () => upload(randomBytes(10), { installationId: 'not-an-id' }),
      400,
      'VALIDATION_FAILED',
    ));

  it('rejects an empty body with 400', () =>
    expectNothingChanged(() => upload(Buffer.alloc(0)), 400, 'EMPTY_SAMPLE'));

  it('rejects a body over the limit with 413', () =>
    expectNothingChanged(() => upload(randomBytes(MAX_SAMPLE_BYTES + 1)), 413, 'SAMPLE_TOO_LARGE'));

  it('rejects an over-limit body sent without a length (chunked) with 413', () =>
    expectNothingChanged(
      () =>
        h.app.inject({
          method: 'POST',
          url: `/v1/samples?installation=${installation.id}`,
          headers: {
            ...bearer(product),
            'content-type': 'application/octet-stream',
            'transfer-encoding': 'chunked',
          },
          payload: randomBytes(MAX_SAMPLE_BYTES + 10),
        }),
      413,
      'SAMPLE_TOO_LARGE',
    ));

  it('rejects a wrong content type with 415', () =>
    expectNothingChanged(
      () =>
        h.app.inject({
          method: 'POST',
          url: `/v1/samples?installation=${installation.id}`,
          headers: { ...bearer(product), 'content-type': 'application/json' },
          payload: { file: 'x' },
        }),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ));

  it('rejects a content type with no parser with 415', () =>
    expectNothingChanged(
      () =>
        h.app.inject({
          method: 'POST',
          url: `/v1/samples?installation=${installation.id}`,
          headers: { ...bearer(product), 'content-type': 'image/png' },
          payload: randomBytes(10),
        }),
      415,
      'FST_ERR_CTP_INVALID_MEDIA_TYPE',
    ));

  it('rejects a missing token with 401', () =>
    expectNothingChanged(
      () =>
        h.app.inject({
          method: 'POST',
          url: `/v1/samples?installation=${installation.id}`,
          headers: { 'content-type': 'application/octet-stream' },
          payload: randomBytes(10),
        }),
      401,
      'UNAUTHENTICATED',
    ));

  it('rejects a bad token with 401', () =>
    expectNothingChanged(
      () =>
        upload(randomBytes(10), { token: 'glh_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }),
      401,
      'UNAUTHENTICATED',
    ));

  it('rejects a revoked token with 401', async () => {
    const token = await h.token('product');
    const [id] = token.split('_').slice(1);
    await h.glasshouse.tokens.revoke(id!, { role: 'admin', token: 'test' });
    await expectNothingChanged(() => upload(randomBytes(10), { token }), 401, 'UNAUTHENTICATED');
  });

  it('rejects a token revoked by another process (the CLI) at once, though the server saw it before', async () => {
    const token = await h.token('product');
    expect((await upload(randomBytes(10), { token })).statusCode).toBe(201);
    const revoked = runCli(['token', 'revoke', token.split('_')[1]!, '--data', h.dataDir]);
    expect(revoked.status, revoked.stderr).toBe(0);
    await expectNothingChanged(() => upload(randomBytes(10), { token }), 401, 'UNAUTHENTICATED');
  });

  it('rejects a product token restricted to another site with 403', async () => {
    const moscowOnly = await h.token('product', ['moscow']);
    await expectNothingChanged(() => upload(randomBytes(10), { token: moscowOnly }), 403, 'FORBIDDEN_SITE');
  });

  it('rejects an unknown country with 400', () =>
    expectNothingChanged(
      () =>
        h.app.inject({
          method: 'POST',
          url: '/v1/installations',
          headers: bearer(product),
          payload: { country: 'XX', product: 'endpoint-12' },
        }),
      400,
      'UNKNOWN_COUNTRY',
    ));

  it.each(['zz', 'abc', 'g'.repeat(64), 'a'.repeat(63)])('rejects the malformed hash %s with 400', (hash) =>
    expectNothingChanged(
      () => h.app.inject({ url: `/v1/samples/${hash}`, headers: bearer(analyst) }),
      400,
      'MALFORMED_HASH',
    ),
  );

  it('answers an unknown hash with 404', () =>
    expectNothingChanged(
      () => h.app.inject({ url: `/v1/samples/${'0'.repeat(64)}`, headers: bearer(analyst) }),
      404,
      'SAMPLE_NOT_FOUND',
    ));

  it('answers an unknown route with a 404 problem document', () =>
    expectNothingChanged(
      () => h.app.inject({ url: '/v1/nothing-here', headers: bearer(analyst) }),
      404,
      'ROUTE_NOT_FOUND',
    ));

  it('rejects malformed JSON with 400', () =>
    expectNothingChanged(
      () =>
        h.app.inject({
          method: 'POST',
          url: '/v1/installations',
          headers: { ...bearer(product), 'content-type': 'application/json' },
          payload: '{"country":',
        }),
      400,
      'FST_ERR_CTP_INVALID_JSON_BODY',
    ));
});
