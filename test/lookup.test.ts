import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync } from './support/cli.js';
import { bearer, type Harness, startHarness } from './support/harness.js';

let h: Harness;
let product: Record<string, string>;
let analyst: Record<string, string>;
let scratch: string;

beforeAll(async () => {
  h = await startHarness();
  product = bearer(await h.token('product'));
  analyst = bearer(await h.token('analyst'));
  scratch = mkdtempSync(join(tmpdir(), 'glasshouse-lookup-'));
});
afterAll(async () => {
  await h.close();
  rmSync(scratch, { recursive: true, force: true });
});

const hex = (bytes: number) => randomBytes(bytes).toString('hex');

function lookup(hash: string) {
  return h.app.inject({ url: `/v1/lookup/${hash}`, headers: product });
}

function putVerdict(hash: string, body: Record<string, unknown>) {
  return h.app.inject({ method: 'PUT', url: `/v1/verdicts/${hash}`, headers: analyst, payload: body });
}

function importFeed(body: string, contentType: string, query = '') {
  return h.app.inject({
    method: 'POST',
    url: `/v1/verdicts/import${query}`,
    headers: { ...analyst, 'content-type': contentType },
    payload: body,
  });
}

async function controlEntries(): Promise<Record<string, unknown>[]> {
  const log = h.glasshouse.logs.get('control')!;
  return (await log.readEntries(0, await log.size())).map((e) => JSON.parse(e.toString('utf8')));
}

describe('hash look-ups', () => {
  describe('when a verdict is set for each hash kind', () => {
    for (const [kind, bytes] of [
      ['MD5', 16],
      ['SHA-1', 20],
      ['SHA-256', 32],
    ] as const) {
      it(`answers a look-up by ${kind}`, async () => {
        const hash = hex(bytes);
        const set = await putVerdict(hash, {
          verdict: 'malicious',
          threat: 'Trojan.Win32.Agent',
          firstSeen: '2021-03-04',
        });
        expect(set.statusCode, set.body).toBe(200);
        const response = await lookup(hash.toUpperCase());
        expect(response.statusCode).toBe(200);
        expect(response.json()).toEqual({
          hash,
          verdict: 'malicious',
          threat: 'Trojan.Win32.Agent',
          firstSeen: '2021-03-04T00:00:00Z',
        });
      });
    }
  });

  describe('when the hash is unknown', () => {
    it('answers verdict "unknown"', async () => {
      const hash = hex(32);
      expect((await lookup(hash)).json()).toEqual({
        hash,
        verdict: 'unknown',
        threat: null,
        firstSeen: null,
      });
    });
  });

  describe('when the hash is malformed', () => {
    it('answers a MALFORMED_HASH problem document (SHA-512 included: verdicts are not kept by it)', async () => {
      for (const bad of ['abc', 'z'.repeat(32), hex(64).slice(1), hex(64)]) {
        const response = await lookup(bad);
        expect(response.statusCode).toBe(400);
        expect(response.headers['content-type']).toContain('application/problem+json');
        expect(response.json().code).toBe('MALFORMED_HASH');
      }
    });
  });

  describe('when a verdict changes', () => {
    it('shows the new verdict at once, keeps the earliest first-seen, and logs each change', async () => {
      const hash = hex(32);
      await putVerdict(hash, { verdict: 'suspicious', firstSeen: '2020-01-01' });
      expect((await lookup(hash)).json().verdict).toBe('suspicious');
      await putVerdict(hash, { verdict: 'clean', threat: '', firstSeen: '2022-01-01' });
      expect((await lookup(hash)).json()).toEqual({
        hash,
        verdict: 'clean',
        threat: null,
        firstSeen: '2020-01-01T00:00:00Z',
      });
      const logged = (await controlEntries()).filter((e) => e.type === 'verdict.set' && e.hash === hash);
      expect(logged.map((e) => e.verdict)).toEqual(['suspicious', 'clean']);
    });

    it('refuses a malformed date and an unknown verdict, changing nothing', async () => {
      const hash = hex(20);
      expect((await putVerdict(hash, { verdict: 'malicious', firstSeen: 'yesterday' })).json().code).toBe(
        'INVALID_VERDICT',
      );
      expect((await putVerdict(hash, { verdict: 'evil' })).json().code).toBe('VALIDATION_FAILED');
      expect((await lookup(hash)).json().verdict).toBe('unknown');
    });
  });

  describe('when the hash is one of a stored sample', () => {
    it('gives the verdict to the sample’s MD5, SHA-1 and SHA-256 alike', async () => {
      const registered = await h.app.inject({
        method: 'POST',
        url: '/v1/installations',
        headers: product,
        payload: { country: 'DE', product: 'endpoint-12' },
      });
      const file = randomBytes(1000);
      const stored = await h.app.inject({
        method: 'POST',
        url: `/v1/samples?installation=${registered.json().id}`,
        headers: { ...product, 'content-type': 'application/octet-stream' },
        payload: file,
      });
      expect(stored.statusCode).toBe(201);
      const set = await putVerdict(createHash('sha1').update(file).digest('hex'), {
        verdict: 'malicious',
        threat: 'Worm.X',
      });
      expect(set.json().hashes).toHaveLength(3);
      for (const algorithm of ['md5', 'sha1', 'sha256']) {
        const answer = (await lookup(createHash(algorithm).update(file).digest('hex'))).json();
        expect(answer).toMatchObject({ verdict: 'malicious', threat: 'Worm.X' });
      }
    });
  });
});

describe('an analyst reading a verdict', () => {
  it('gets the answer a product gets, unknown for a hash without one, and the field error for a malformed hash', async () => {
    const hash = hex(20);
    await putVerdict(hash, { verdict: 'suspicious', threat: 'Adware.Generic', firstSeen: '2022-01-02' });
    const read = await h.app.inject({ url: `/v1/verdicts/${hash.toUpperCase()}`, headers: analyst });
    expect(read.statusCode, read.body).toBe(200);
    expect(read.json()).toEqual((await lookup(hash)).json());
    expect(read.json()).toMatchObject({ verdict: 'suspicious', threat: 'Adware.Generic' });

    const unknown = hex(16);
    const none = await h.app.inject({ url: `/v1/verdicts/${unknown}`, headers: analyst });
    expect(none.json()).toEqual({ hash: unknown, verdict: 'unknown', threat: null, firstSeen: null });

    const bad = await h.app.inject({ url: '/v1/verdicts/xyz', headers: analyst });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().code).toBe('MALFORMED_HASH');
    // Products keep their own route; this one is the analysts'.
    expect((await h.app.inject({ url: `/v1/verdicts/${hash}`, headers: product })).statusCode).toBe(403);
  });
});

describe('batch look-ups', () => {
  let known: string[];
  beforeAll(async () => {
    known = [hex(16), hex(20), hex(32)];
    for (const hash of known) await putVerdict(hash, { verdict: 'malicious', threat: 'Batch.Test "quoted"' });
  });

  describe('when sent as JSON', () => {
    it('answers in the same order, with per-item errors for malformed hashes', async () => {
      const unknown = hex(32);
      const hashes = [known[2]!, 'not-a-hash', unknown, known[0]!, known[1]!];
      const response = await h.app.inject({
        method: 'POST',
        url: '/v1/lookup',
        headers: product,
        payload: { hashes },
      });
      expect(response.statusCode).toBe(200);
      const results = response.json().results as Record<string, unknown>[];
      expect(results.map((r) => r.hash)).toEqual(hashes);
      expect(results.map((r) => r.verdict ?? r.error)).toEqual([
        'malicious',
        'MALFORMED_HASH',
        'unknown',
        'malicious',
        'malicious',
      ]);
      expect(results[0]!.threat).toBe('Batch.Test "quoted"');
    });
  });

  describe('when sent as text/plain', () => {
    it('answers NDJSON, one line a hash, in order, echoing only malformed hashes', async () => {
      const unknown = hex(20);
      const body = `${known[1]}\r\n${unknown}\nxyz\n${known[0]}\n`;
      const response = await h.app.inject({
        method: 'POST',
        url: '/v1/lookup',
        headers: { ...product, 'content-type': 'text/plain' },
        payload: body,
      });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('application/x-ndjson');
      const lines = response.body
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => l.hash)).toEqual([undefined, undefined, 'xyz', undefined]);
      expect(lines.map((l) => l.verdict ?? l.error)).toEqual([
        'malicious',
        'unknown',
        'MALFORMED_HASH',
        'malicious',
      ]);
      expect(lines[0].threat).toBe('Batch.Test "quoted"');
      expect(lines[1]).toEqual({ verdict: 'unknown', threat: null, firstSeen: null });
      expect(lines[0].firstSeen).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    });
  });

  describe('when the batch is over the limit', () => {
    it('answers 413 BATCH_TOO_LARGE with the limit, JSON or text', async () => {
      const hashes = Array.from({ length: 10_001 }, () => hex(16));
      const json = await h.app.inject({
        method: 'POST',
        url: '/v1/lookup',
        headers: product,
        payload: { hashes },
      });
      expect(json.statusCode).toBe(413);
      expect(json.json()).toMatchObject({ code: 'BATCH_TOO_LARGE', limit: 10_000 });
      const text = await h.app.inject({
        method: 'POST',
        url: '/v1/lookup',
        headers: { ...product, 'content-type': 'text/plain' },
        payload: hashes.join('\n'),
      });
      expect(text.statusCode).toBe(413);
      const exactly = await h.app.inject({
        method: 'POST',
        url: '/v1/lookup',
        headers: product,
        payload: { hashes: hashes.slice(1) },
      });
      expect(exactly.json().results).toHaveLength(10_000);
    });
  });
});

describe('feed imports', () => {
  describe('when an NDJSON feed is good', () => {
    it('loads every line, answers from the index at once, and logs one entry', async () => {
      const hashes = [hex(16), hex(20), hex(32), hex(32)];
      const feed = [
        JSON.stringify({
          hash: hashes[0],
          verdict: 'malicious',
          threat: 'A',
          firstSeen: '2019-05-01T10:00:00Z',
        }),
        '',
        JSON.stringify({ hash: hashes[1], verdict: 'suspicious', threat: 'B', source: 'feed-x' }),
        JSON.stringify({ hash: hashes[2], verdict: 'clean' }),
        JSON.stringify({ hash: hashes[3], verdict: 'malicious', threat: 'A' }),
      ].join('\n');
      const before = (await controlEntries()).length;
      const response = await importFeed(feed, 'application/x-ndjson');
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({ records: 4, loaded: 4, bad: 0 });
      expect((await lookup(hashes[0]!)).json()).toEqual({
        hash: hashes[0],
        verdict: 'malicious',
        threat: 'A',
        firstSeen: '2019-05-01T10:00:00Z',
      });
      expect((await lookup(hashes[2]!)).json()).toMatchObject({ verdict: 'clean', threat: null });
      const added = (await controlEntries()).slice(before);
      expect(added.map((e) => e.type)).toEqual(['verdicts.imported']);
      expect(added[0]).toMatchObject({
        loaded: 4,
        sha256: createHash('sha256').update(feed).digest('hex'),
      });
    });
  });

  describe('when a CSV feed is good', () => {
    it('loads it, with RFC 4180 quoting', async () => {
      const [a, b] = [hex(32), hex(20)];
      const feed = [
        'hash,verdict,threat,first_seen,last_seen,source',
        `${a},malicious,"Trojan, ""Agent"" variant",2020-02-02,2021-01-01,vendor`,
        `${b},suspicious,"multi`,
        `line",,,`,
      ].join('\r\n');
      const response = await importFeed(feed, 'text/csv');
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({ loaded: 2, bad: 0 });
      expect((await lookup(a)).json()).toMatchObject({
        threat: 'Trojan, "Agent" variant',
        firstSeen: '2020-02-02T00:00:00Z',
      });
      expect((await lookup(b)).json()).toMatchObject({ verdict: 'suspicious', threat: 'multi\r\nline' });
    });
  });

  describe('when a feed has bad lines', () => {
    const good = [hex(32), hex(32)];
    const feed = () =>
      [
        JSON.stringify({ hash: good[0], verdict: 'malicious', threat: 'G' }),
        JSON.stringify({ hash: 'xyz', verdict: 'malicious' }),
        '{not json',
        JSON.stringify({ hash: good[1], verdict: 'malicious', threat: 'G' }),
        JSON.stringify({ hash: hex(16), verdict: 'bad-verdict' }),
      ].join('\n');

    it('loads none of it and reports each bad line by number', async () => {
      const before = (await controlEntries()).length;
      const response = await importFeed(feed(), 'application/x-ndjson');
      expect(response.statusCode).toBe(400);
      const problem = response.json();
      expect(problem.code).toBe('INVALID_FEED');
      expect(problem.invalidLines).toBe(3);
      expect(problem.errors.map((e: { line: number }) => e.line)).toEqual([2, 3, 5]);
      for (const hash of good) expect((await lookup(hash)).json().verdict).toBe('unknown');
      expect((await controlEntries()).length).toBe(before);
    });

    it('loads the good lines with skipBad', async () => {
      const response = await importFeed(feed(), 'application/x-ndjson', '?skipBad=true');
      expect(response.statusCode).toBe(200);
      expect(response.json()).toMatchObject({ records: 4, loaded: 2, bad: 3 });
      for (const hash of good) expect((await lookup(hash)).json().verdict).toBe('malicious');
    });

    it('refuses a CSV feed with an unknown column, loading nothing', async () => {
      const hash = hex(16);
      const response = await importFeed(`hash,verdict,colour\n${hash},malicious,red\n`, 'text/csv');
      expect(response.statusCode).toBe(400);
      expect(response.json().errors[0]).toMatchObject({ line: 1 });
      expect((await lookup(hash)).json().verdict).toBe('unknown');
    });
  });

  describe('when the content type is not a feed', () => {
    it('answers 415', async () => {
      const response = await importFeed('{}', 'application/json');
      expect(response.statusCode).toBe(415);
    });
  });
});

describe('glasshouse verdicts import', () => {
  const run = runCliAsync;

  describe('when run on the data directory', () => {
    it('loads a good file, which the server picks up', async () => {
      const hash = hex(32);
      const file = join(scratch, 'good.ndjson');
      writeFileSync(file, `${JSON.stringify({ hash, verdict: 'malicious', threat: 'CLI.Offline' })}\n`);
      const result = await run(['verdicts', 'import', file, '--data', h.dataDir, '--json']);
      expect(result.status, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ loaded: 1 });
      await h.glasshouse.verdicts.refresh();
      expect((await lookup(hash)).json()).toMatchObject({ verdict: 'malicious', threat: 'CLI.Offline' });
    });

    it('refuses a bad file with line numbers, and --skip-bad loads its good lines', async () => {
      const hash = hex(16);
      const file = join(scratch, 'bad.csv');
      writeFileSync(file, `hash,verdict,threat\n${hash},malicious,T\nnope,malicious,T\n`);
      const refused = await run(['verdicts', 'import', file, '--data', h.dataDir]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('line 3:');
      await h.glasshouse.verdicts.refresh();
      expect((await lookup(hash)).json().verdict).toBe('unknown');
      const skipped = await run(['verdicts', 'import', file, '--data', h.dataDir, '--skip-bad', '--json']);
      expect(skipped.status, skipped.stderr).toBe(0);
      expect(JSON.parse(skipped.stdout)).toMatchObject({ loaded: 1, bad: 1 });
      await h.glasshouse.verdicts.refresh();
      expect((await lookup(hash)).json().verdict).toBe('malicious');
    });
  });

  describe('when run against a server with --url', () => {
    it('streams the file to the import route', async () => {
      const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
      const token = await h.token('analyst');
      const [good, other] = [hex(20), hex(20)];
      const file = join(scratch, 'remote.ndjson');
      writeFileSync(file, `${JSON.stringify({ hash: good, verdict: 'suspicious', threat: 'CLI.Remote' })}\n`);
      const loaded = await run(['verdicts', 'import', file, '--url', address, '--token', token, '--json']);
      expect(loaded.status, loaded.stderr).toBe(0);
      expect((await lookup(good)).json()).toMatchObject({ verdict: 'suspicious', threat: 'CLI.Remote' });

      const bad = join(scratch, 'remote-bad.ndjson');
      writeFileSync(bad, `${JSON.stringify({ hash: other, verdict: 'clean' })}\n{\n`);
      const refused = await run(['verdicts', 'import', bad, '--url', address, '--token', token]);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toContain('line 2: not valid JSON');
      expect((await lookup(other)).json().verdict).toBe('unknown');
    });
  });
});
