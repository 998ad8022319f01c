import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliAsync } from './support/cli.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation, submitSample } from './support/installations.js';

/*
 * GET /v1/samples over two in-process sites: every filter, paging without gaps or
 * duplicates, site scope and bad input. The clock ticks one second per reading, so every
 * sample has its own first-seen time, apart from the one uploaded at the same instant twice.
 */

interface Hit {
  readonly sha256: string;
  readonly site: string;
  readonly size: number;
  readonly firstSeen: string;
  readonly tags: readonly string[];
  readonly verdict: string | null;
  readonly threat: string | null;
}

const START = Date.parse('2021-07-01T00:00:00Z');
let tick = 0;
const now = () => new Date(START + 1000 * tick++);

let h: Harness;
let analyst: Record<string, string>;
let zurichAnalyst: Record<string, string>;
let zurichToken = '';
let analystToken = '';
/** Every (sample, site) pair uploaded, as the search must list them. */
const uploaded: { sha256: string; site: string; size: number }[] = [];
/** A sample held at both sites. */
let shared = '';

function bytesOf(label: string, size: number): Buffer {
  const seed = createHash('sha256').update(label).digest();
  return Buffer.concat(Array.from({ length: Math.ceil(size / 32) }, () => seed)).subarray(0, size);
}

async function search(query: string, headers = analyst) {
  return h.app.inject({ url: `/v1/samples${query === '' ? '' : `?${query}`}`, headers });
}

async function hits(query: string, headers = analyst): Promise<Hit[]> {
  const response = await search(query, headers);
  expect(response.statusCode, response.body).toBe(200);
  return response.json().samples;
}

/** Follows `next` from the first page to the last, every item in order. */
async function allPages(query: string, limit: number, headers = analyst): Promise<Hit[]> {
  const out: Hit[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 1000; pages++) {
    const params = new URLSearchParams(query);
    params.set('limit', String(limit));
    if (cursor !== null) params.set('cursor', cursor);
    const response = await search(params.toString(), headers);
    expect(response.statusCode, response.body).toBe(200);
    const page = response.json();
    out.push(...page.samples);
    cursor = page.next;
    if (cursor === null) return out;
  }
  throw new Error('paging did not end');
}

const pairs = (list: readonly { sha256: string; site: string }[]) => list.map((s) => `${s.site}/${s.sha256}`);

beforeAll(async () => {
  h = await startHarness({ now });
  const product = await h.token('product');
  analystToken = await h.token('analyst');
  analyst = bearer(analystToken);
  zurichToken = await h.token('analyst', ['zurich']);
  zurichAnalyst = bearer(zurichToken);
  const zurich = await registerInstallation(h.app, product, 'DE');
  const moscow = await registerInstallation(h.app, product, 'RU');
  for (let i = 0; i < 24; i++) {
    const installation = i % 2 === 0 ? zurich : moscow;
    const size = 100 + i * 10;
    const response = await submitSample(h.app, product, installation.id, 'a.exe', bytesOf(`s${i}`, size));
    expect(response.statusCode, response.body).toBe(201);
    uploaded.push({ sha256: response.json().sha256, site: installation.site, size });
  }
  for (const installation of [zurich, moscow]) {
    const response = await submitSample(h.app, product, installation.id, 'b.exe', bytesOf('shared', 77));
    shared = response.json().sha256;
    uploaded.push({ sha256: shared, site: installation.site, size: 77 });
  }
  const tagged = await h.app.inject({
    method: 'PUT',
    url: `/v1/samples/${uploaded[3]!.sha256}/tags/family:emotet`,
    headers: analyst,
  });
  expect(tagged.statusCode, tagged.body).toBe(200);
  for (const [sample, verdict, threat] of [
    [uploaded[0]!, 'malicious', 'Trojan.Emotet'],
    [uploaded[5]!, 'malicious', 'Worm.Conficker'],
    [uploaded[6]!, 'clean', undefined],
  ] as const) {
    const set = await h.app.inject({
      method: 'PUT',
      url: `/v1/verdicts/${sample.sha256}`,
      headers: analyst,
      payload: { verdict, ...(threat === undefined ? {} : { threat }) },
    });
    expect(set.statusCode, set.body).toBe(200);
  }
}, 300_000);
afterAll(() => h.close());

describe('GET /v1/samples', () => {
  describe('when nothing filters', () => {
    it('lists every sample of every site once per site holding it, newest first', async () => {
      const all = await hits('limit=1000');
      expect(pairs(all).sort()).toEqual(pairs(uploaded).sort());
      const keys = all.map((s) => `${s.firstSeen} ${s.sha256} ${s.site}`);
      expect(keys).toEqual([...keys].sort().reverse());
      expect(
        all
          .filter((s) => s.sha256 === shared)
          .map((s) => s.site)
          .sort(),
      ).toEqual(['moscow', 'zurich']);
    });

    it('answers technical data only: digests, size, type, first and last seen, site, tags, verdict', async () => {
      const [first] = await hits('limit=1');
      expect(Object.keys(first!).sort()).toEqual(
        [
          'firstSeen',
          'lastSeen',
          'md5',
          'sha1',
          'sha256',
          'sha512',
          'site',
          'size',
          'tags',
          'threat',
          'type',
          'verdict',
        ].sort(),
      );
    });
  });

  describe('when paging', () => {
    it('gives every item exactly once, in order, whatever the page size and filter (property)', async () => {
      const expected = await hits('limit=1000');
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 30 }),
          fc.integer({ min: 0, max: 400 }),
          async (limit, minSize) => {
            const paged = await allPages(`minSize=${minSize}`, limit);
            expect(pairs(paged)).toEqual(pairs(expected.filter((s) => s.size >= minSize)));
          },
        ),
        { numRuns: 12 },
      );
    }, 60_000);

    it('pages with a verdict filter too, a page never holding an item twice', async () => {
      const paged = await allPages('verdict=malicious', 1);
      expect(pairs(paged).sort()).toEqual(pairs([uploaded[0]!, uploaded[5]!]).sort());
    });
  });

  describe('when filtering', () => {
    it('by size, both bounds inclusive', async () => {
      const found = await hits('minSize=150&maxSize=200&limit=1000');
      expect(found.map((s) => s.size).sort()).toEqual([150, 160, 170, 180, 190, 200]);
    });

    it('by first seen, from inclusive and to exclusive', async () => {
      const all = await hits('limit=1000');
      const from = all[10]!.firstSeen;
      const to = all[4]!.firstSeen;
      const found = await hits(`firstSeenFrom=${from}&firstSeenTo=${to}&limit=1000`);
      expect(pairs(found)).toEqual(pairs(all.filter((s) => s.firstSeen >= from && s.firstSeen < to)));
      expect(found.length).toBeGreaterThan(0);
    });

    it('by tag, answering the tags', async () => {
      const found = await hits('tag=family:emotet');
      expect(pairs(found)).toEqual(pairs([uploaded[3]!]));
      expect(found[0]!.tags).toEqual(['family:emotet']);
    });

    it('by verdict and by threat (any case), from the verdict index', async () => {
      const malicious = await hits('verdict=malicious&limit=1000');
      expect(pairs(malicious).sort()).toEqual(pairs([uploaded[0]!, uploaded[5]!]).sort());
      const clean = await hits('verdict=clean');
      expect(clean).toMatchObject([{ sha256: uploaded[6]!.sha256, verdict: 'clean', threat: null }]);
      const emotet = await hits('threat=trojan.emotet');
      expect(emotet).toMatchObject([
        { sha256: uploaded[0]!.sha256, verdict: 'malicious', threat: 'Trojan.Emotet' },
      ]);
    });

    it('by site', async () => {
      const found = await hits('site=moscow&limit=1000');
      expect(found.every((s) => s.site === 'moscow')).toBe(true);
      expect(found).toHaveLength(uploaded.filter((s) => s.site === 'moscow').length);
    });

    it('by file type, and refuses a type that is not a media type', async () => {
      const all = await hits('limit=1000');
      const octets = await hits('type=application/octet-stream&limit=1000');
      expect(pairs(octets).sort()).toEqual(
        pairs(all.filter((s) => (s as Hit & { type: string }).type === 'application/octet-stream')).sort(),
      );
      expect(await hits('type=application/x-msdownload')).toEqual([]);
      expect((await search('type=pe')).statusCode).toBe(400);
    });
  });

  describe('when a total is cheap', () => {
    it('gives it for one site without a verdict filter, and null otherwise', async () => {
      const atZurich = uploaded.filter((s) => s.site === 'zurich').length;
      expect((await search('site=zurich&limit=2')).json().total).toBe(atZurich);
      expect((await search('limit=2', zurichAnalyst)).json().total).toBe(atZurich);
      expect((await search('limit=2')).json().total).toBeNull();
      expect((await search('site=zurich&verdict=clean')).json().total).toBeNull();
    });
  });

  describe('when the token reaches zurich only', () => {
    it('never lists a moscow sample, on any page or filter', async () => {
      const seen = [
        ...(await allPages('', 3, zurichAnalyst)),
        ...(await hits('verdict=malicious', zurichAnalyst)),
        ...(await hits('tag=family:emotet', zurichAnalyst)),
      ];
      expect(seen.length).toBeGreaterThan(0);
      expect(seen.every((s) => s.site === 'zurich')).toBe(true);
      const moscowOnly = uploaded.filter((s) => s.site === 'moscow' && s.sha256 !== shared);
      expect(seen.some((s) => moscowOnly.some((m) => m.sha256 === s.sha256))).toBe(false);
    });

    it('refuses site=moscow with 403 FORBIDDEN_SITE', async () => {
      const response = await search('site=moscow', zurichAnalyst);
      expect(response.statusCode).toBe(403);
      expect(response.json().code).toBe('FORBIDDEN_SITE');
    });
  });

  describe('when the input is bad', () => {
    it.each([
      ['minSize=-1', 'VALIDATION_FAILED'],
      ['maxSize=big', 'VALIDATION_FAILED'],
      ['firstSeenFrom=yesterday', 'VALIDATION_FAILED'],
      ['verdict=evil', 'VALIDATION_FAILED'],
      ['limit=0', 'VALIDATION_FAILED'],
      ['limit=1001', 'VALIDATION_FAILED'],
      ['colour=red', 'VALIDATION_FAILED'],
      ['tag=Family:Emotet', 'INVALID_TAG'],
      ['cursor=not-a-cursor', 'INVALID_CURSOR'],
    ])('answers %s with 400 %s', async (query, code) => {
      const response = await search(query);
      expect(response.statusCode, response.body).toBe(400);
      expect(response.json().code).toBe(code);
    });
  });
});

describe('glasshouse samples search', () => {
  it('prints a page as JSON, and a refusal with its code', async () => {
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const found = await runCliAsync([
      'samples',
      'search',
      '--tag',
      'family:emotet',
      '--url',
      url,
      '--token',
      analystToken,
      '--json',
    ]);
    expect(found.status, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).samples.map((s: Hit) => s.sha256)).toEqual([uploaded[3]!.sha256]);
    const refused = await runCliAsync([
      'samples',
      'search',
      '--site',
      'moscow',
      '--url',
      url,
      '--token',
      zurichToken,
      '--json',
    ]);
    expect(refused.status).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toBe('FORBIDDEN_SITE');
  }, 60_000);
});
