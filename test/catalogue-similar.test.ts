import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTlsh, tlshDistance } from '../src/site/catalogue/tlsh-distance.js';
import { runCliAsync } from './support/cli.js';
import { DEBIAN_FALSE, DEBIAN_TAIL, DEBIAN_TRUE } from './support/debian-digests.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { type RegisteredInstallation, registerInstallation, submitSample } from './support/installations.js';

/*
 * GET /v1/samples/{hash}/similar over two in-process sites. The fuzzy hashes are recorded on
 * the samples at their sites directly (the vault's `recordFuzzyHashes`): real digests of
 * Debian's /usr/bin/true, /usr/bin/false and /usr/bin/tail, and variants of them.
 */

const TRUE = DEBIAN_TRUE;
const FALSE = DEBIAN_FALSE;
const TAIL = DEBIAN_TAIL;
/** /usr/bin/true with two buckets of its body changed: near it, at the other site. */
const TRUE_VARIANT = { tlsh: `${TRUE.tlsh.slice(0, 20)}0${TRUE.tlsh.slice(21)}`, ssdeep: null };

interface Similar {
  readonly sha256: string;
  readonly site: string;
  readonly distance: number;
  readonly ssdeepScore: number | null;
}

let h: Harness;
let analyst: Record<string, string>;
let zurichAnalyst: Record<string, string>;
let analystToken = '';
let zurichToken = '';
let zurich: RegisteredInstallation;
let moscow: RegisteredInstallation;
let product = '';
const sample: Record<'query' | 'sibling' | 'far' | 'variant' | 'shared' | 'bare', string> = {
  query: '',
  sibling: '',
  far: '',
  variant: '',
  shared: '',
  bare: '',
};

async function upload(installation: RegisteredInstallation, bytes: Buffer): Promise<string> {
  const response = await submitSample(h.app, product, installation.id, 'a.exe', bytes);
  expect(response.statusCode, response.body).toBe(201);
  return response.json().sha256;
}

async function record(site: string, sha256: string, hashes: { tlsh: string; ssdeep: string | null }) {
  expect(await h.glasshouse.sites.get(site)!.vault.recordFuzzyHashes(sha256, hashes)).toBe(true);
}

async function similar(hash: string, query = '', headers = analyst) {
  return h.app.inject({ url: `/v1/samples/${hash}/similar${query === '' ? '' : `?${query}`}`, headers });
}

async function neighbours(hash: string, query = '', headers = analyst): Promise<Similar[]> {
  const response = await similar(hash, query, headers);
  expect(response.statusCode, response.body).toBe(200);
  return response.json().samples;
}

const brief = (list: readonly Similar[]) => list.map((s) => `${s.site}/${s.sha256}/${s.distance}`);

beforeAll(async () => {
  h = await startHarness();
  product = await h.token('product');
  analystToken = await h.token('analyst');
  analyst = bearer(analystToken);
  zurichToken = await h.token('analyst', ['zurich']);
  zurichAnalyst = bearer(zurichToken);
  zurich = await registerInstallation(h.app, product, 'DE');
  moscow = await registerInstallation(h.app, product, 'RU');
  expect([zurich.site, moscow.site]).toEqual(['zurich', 'moscow']);
  sample.query = await upload(zurich, randomBytes(1000));
  sample.sibling = await upload(zurich, randomBytes(1001));
  sample.far = await upload(zurich, randomBytes(1002));
  sample.variant = await upload(moscow, randomBytes(1003));
  const shared = randomBytes(1004);
  sample.shared = await upload(zurich, shared);
  expect(await upload(moscow, shared)).toBe(sample.shared);
  sample.bare = await upload(zurich, randomBytes(1005));
  await record('zurich', sample.query, TRUE);
  await record('zurich', sample.sibling, FALSE);
  await record('zurich', sample.far, TAIL);
  await record('moscow', sample.variant, TRUE_VARIANT);
  await record('zurich', sample.shared, FALSE);
  await record('moscow', sample.shared, FALSE);
  // Whatever else the upload gives a sample, this one has no fuzzy hash.
  expect(
    await h.glasshouse.sites
      .get('zurich')!
      .vault.recordFuzzyHashes(sample.bare, { tlsh: null, ssdeep: null }),
  ).toBe(true);
}, 300_000);
afterAll(() => h?.close());

const variantDistance = () => tlshDistance(parseTlsh(TRUE.tlsh)!, parseTlsh(TRUE_VARIANT.tlsh)!);

describe('GET /v1/samples/{hash}/similar', () => {
  it('answers the samples of every site of the token, nearest first, once per site holding each', async () => {
    expect(variantDistance()).toBeGreaterThan(0);
    expect(variantDistance()).toBeLessThan(11);
    const page = await similar(sample.query);
    expect(page.statusCode, page.body).toBe(200);
    expect(page.json()).toMatchObject({
      sha256: sample.query,
      tlsh: TRUE.tlsh,
      ssdeep: TRUE.ssdeep,
      unavailableSites: [],
    });
    const [first, second] = [sample.sibling, sample.shared].sort();
    expect(brief(page.json().samples)).toEqual([
      `moscow/${sample.variant}/${variantDistance()}`,
      ...(first === sample.shared
        ? [`moscow/${first}/11`, `zurich/${first}/11`, `zurich/${second}/11`]
        : [`zurich/${first}/11`, `moscow/${second}/11`, `zurich/${second}/11`]),
    ]);
    // TAIL is 158 away: beyond the default 100, within 200.
    expect(brief(await neighbours(sample.query, 'maxDistance=200')).at(-1)).toBe(`zurich/${sample.far}/158`);
    expect(brief(await neighbours(sample.query, 'limit=1'))).toEqual([
      `moscow/${sample.variant}/${variantDistance()}`,
    ]);
    expect(await neighbours(sample.query, `maxDistance=${variantDistance() - 1}`)).toEqual([]);
  });

  it('finds the sample by any of its hashes, and never answers the sample itself', async () => {
    const md5 = (await h.app.inject({ url: `/v1/samples/${sample.query}`, headers: analyst })).json().md5;
    const byMd5 = await neighbours(md5, 'maxDistance=2000');
    expect(byMd5.map((s) => s.sha256)).not.toContain(sample.query);
    expect(brief(byMd5)).toEqual(brief(await neighbours(sample.query, 'maxDistance=2000')));
  });

  it('answers technical data only, with the ssdeep score where both samples have one', async () => {
    const [nearest, ...rest] = await neighbours(sample.query);
    expect(Object.keys(nearest!).sort()).toEqual(
      ['distance', 'md5', 'sha1', 'sha256', 'sha512', 'site', 'size', 'ssdeep', 'ssdeepScore', 'tlsh'].sort(),
    );
    expect(nearest).toMatchObject({ sha256: sample.variant, size: 1003, ssdeep: null, ssdeepScore: null });
    expect(rest.map((s) => s.ssdeepScore)).toEqual([80, 80, 80]);
    const text = JSON.stringify(await neighbours(sample.query, 'maxDistance=2000'));
    expect(text).not.toContain(zurich.id);
    expect(text).not.toContain(moscow.id);
    expect(text).not.toContain('a.exe');
  });

  it('never shows a zurich-only token a moscow sample', async () => {
    const seen = await neighbours(sample.query, 'maxDistance=2000', zurichAnalyst);
    expect(seen.map((s) => s.site)).not.toContain('moscow');
    expect(seen.map((s) => s.sha256)).not.toContain(sample.variant);
    expect(brief(seen)[0]).toMatch(/^zurich\//);
    // A moscow-only sample is unknown to it.
    const refused = await similar(sample.variant, '', zurichAnalyst);
    expect(refused.statusCode, refused.body).toBe(404);
  });

  it('answers a sample without a TLSH digest with no neighbours', async () => {
    const page = await similar(sample.bare);
    expect(page.statusCode, page.body).toBe(200);
    expect(page.json()).toEqual({
      sha256: sample.bare,
      tlsh: null,
      ssdeep: null,
      samples: [],
      unavailableSites: [],
    });
  });

  it('answers 404 for an unknown sample', async () => {
    const response = await similar('ab'.repeat(32));
    expect(response.statusCode).toBe(404);
    expect(response.json().code).toBe('SAMPLE_NOT_FOUND');
  });

  it.each([
    ['maxDistance=-1', 'VALIDATION_FAILED'],
    ['maxDistance=2001', 'VALIDATION_FAILED'],
    ['maxDistance=ten', 'VALIDATION_FAILED'],
    ['limit=0', 'VALIDATION_FAILED'],
    ['limit=1001', 'VALIDATION_FAILED'],
    ['colour=red', 'VALIDATION_FAILED'],
  ])('answers %s with 400 %s', async (query, code) => {
    const response = await similar(sample.query, query);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.json().code).toBe(code);
  });

  it('answers 400 for what is not a hash', async () => {
    const response = await similar('not-a-hash');
    expect(response.statusCode).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
  });

  it('never answers a sample once its site has removed it', async () => {
    const installation = await registerInstallation(h.app, product, 'DE');
    const gone = await upload(installation, randomBytes(1006));
    await record('zurich', gone, TRUE);
    expect((await neighbours(sample.query, 'maxDistance=0')).map((s) => s.sha256)).toEqual([gone]);
    // The relocation's purge at the source, and the erasure, remove samples this way.
    await h.glasshouse.sites.get('zurich')!.purgeInstallations([installation.id]);
    expect(await neighbours(sample.query, 'maxDistance=0')).toEqual([]);
  });
});

describe('glasshouse samples similar', () => {
  it('prints the neighbours as JSON, and a refusal with its code', async () => {
    const url = await h.app.listen({ host: '127.0.0.1', port: 0 });
    const found = await runCliAsync([
      'samples',
      'similar',
      sample.query,
      '--max-distance',
      '200',
      '--limit',
      '2',
      '--url',
      url,
      '--token',
      analystToken,
      '--json',
    ]);
    expect(found.status, found.stderr).toBe(0);
    expect(JSON.parse(found.stdout).samples.map((s: Similar) => s.sha256)).toEqual([
      sample.variant,
      [sample.sibling, sample.shared].sort()[0],
    ]);
    const human = await runCliAsync([
      'samples',
      'similar',
      sample.query,
      '--url',
      url,
      '--token',
      analystToken,
    ]);
    expect(human.status, human.stderr).toBe(0);
    expect(human.stdout).toContain(sample.variant);
    const refused = await runCliAsync([
      'samples',
      'similar',
      sample.variant,
      '--url',
      url,
      '--token',
      zurichToken,
      '--json',
    ]);
    expect(refused.status).toBe(1);
    expect(JSON.parse(refused.stdout).error.code).toBe('SAMPLE_NOT_FOUND');
  }, 120_000);
});
