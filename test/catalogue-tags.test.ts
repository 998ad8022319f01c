import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation, submitSample } from './support/installations.js';

/*
 * Tags and comments on samples, kept at the sites that hold them and logged there: zurich
 * holds `atZurich`, moscow `atMoscow`, both `atBoth`.
 */

let h: Harness;
let analyst: Record<string, string>;
let zurichAnalyst: Record<string, string>;
let atZurich = '';
let atMoscow = '';
let atBoth = '';

async function upload(product: string, installation: string, bytes: Buffer): Promise<string> {
  const response = await submitSample(h.app, product, installation, 'a.exe', bytes);
  expect(response.statusCode, response.body).toBeLessThan(300);
  return response.json().sha256;
}

/** The entries a site's log gained since `from`. */
async function entriesSince(site: string, from: number): Promise<Record<string, unknown>[]> {
  const log = h.glasshouse.logs.get(site)!;
  const size = await log.size();
  if (size === from) return [];
  return (await log.readEntries(from, size)).map((e) => JSON.parse(e.toString('utf8')));
}

const logSize = (site: string) => h.glasshouse.logs.get(site)!.size();

function tag(sha256: string, name: string, method: 'PUT' | 'DELETE' = 'PUT', headers = analyst) {
  return h.app.inject({ method, url: `/v1/samples/${sha256}/tags/${encodeURIComponent(name)}`, headers });
}

function comment(sha256: string, text: string, headers = analyst) {
  return h.app.inject({ method: 'POST', url: `/v1/samples/${sha256}/comments`, headers, payload: { text } });
}

const describeSample = async (sha256: string, headers = analyst) =>
  (await h.app.inject({ url: `/v1/samples/${sha256}`, headers })).json();

beforeAll(async () => {
  h = await startHarness();
  const product = await h.token('product');
  analyst = bearer(await h.token('analyst'));
  zurichAnalyst = bearer(await h.token('analyst', ['zurich']));
  const zurich = await registerInstallation(h.app, product, 'DE');
  const moscow = await registerInstallation(h.app, product, 'RU');
  atZurich = await upload(product, zurich.id, randomBytes(300));
  atMoscow = await upload(product, moscow.id, randomBytes(300));
  const both = randomBytes(300);
  atBoth = await upload(product, zurich.id, both);
  await upload(product, moscow.id, both);
}, 300_000);
afterAll(() => h.close());

describe('tags', () => {
  describe('when an analyst tags a sample', () => {
    it('keeps the tag at its site, shows it on the sample, and logs the change there', async () => {
      const before = await logSize('zurich');
      const added = await tag(atZurich, 'family:emotet');
      expect(added.statusCode, added.body).toBe(200);
      expect(added.json()).toEqual({
        sha256: atZurich,
        tag: 'family:emotet',
        sites: ['zurich'],
        changed: true,
      });
      expect((await describeSample(atZurich)).tags).toEqual(['family:emotet']);
      expect(await entriesSince('zurich', before)).toMatchObject([
        {
          type: 'sample.tagged',
          site: 'zurich',
          sha256: atZurich,
          tag: 'family:emotet',
          actor: { role: 'analyst' },
        },
      ]);
    });

    it('answers a repeat as unchanged, and logs nothing more', async () => {
      await tag(atZurich, 'packed');
      const before = await logSize('zurich');
      const again = await tag(atZurich, 'packed');
      expect(again.json().changed).toBe(false);
      expect(await entriesSince('zurich', before)).toEqual([]);
    });

    it('tags a sample held at two sites at each, logged at each', async () => {
      const before = { zurich: await logSize('zurich'), moscow: await logSize('moscow') };
      const added = await tag(atBoth, 'campaign:2021-07');
      expect(added.json().sites.sort()).toEqual(['moscow', 'zurich']);
      for (const site of ['zurich', 'moscow'] as const) {
        expect(await entriesSince(site, before[site])).toMatchObject([{ type: 'sample.tagged', site }]);
      }
    });

    it('tags only at the token’s sites a sample held at two', async () => {
      const added = await tag(atBoth, 'seen-by-zurich', 'PUT', zurichAnalyst);
      expect(added.json().sites).toEqual(['zurich']);
      const tagsAt = await h.glasshouse.siteClients.get('moscow')!.sampleNotes(atBoth);
      expect(tagsAt.tags).not.toContain('seen-by-zurich');
    });
  });

  describe('when an analyst removes a tag', () => {
    it('removes it, logs it at the site, and answers a repeat as unchanged', async () => {
      await tag(atZurich, 'to-remove');
      const before = await logSize('zurich');
      const removed = await tag(atZurich, 'to-remove', 'DELETE');
      expect(removed.statusCode, removed.body).toBe(200);
      expect(removed.json().changed).toBe(true);
      expect((await describeSample(atZurich)).tags).not.toContain('to-remove');
      expect(await entriesSince('zurich', before)).toMatchObject([
        { type: 'sample.untagged', sha256: atZurich, tag: 'to-remove' },
      ]);
      expect((await tag(atZurich, 'to-remove', 'DELETE')).json().changed).toBe(false);
    });
  });

  describe('when the tag is malformed', () => {
    it.each(['Family:Emotet', 'family:', ':emotet', 'a:b:c', 'with space', `x${'y'.repeat(128)}`, 'ümlaut'])(
      'answers %j with 400 INVALID_TAG and changes nothing',
      async (bad) => {
        const before = await logSize('zurich');
        const tagsBefore = (await describeSample(atZurich)).tags;
        const response = await tag(atZurich, bad);
        expect(response.statusCode, response.body).toBe(400);
        expect(response.json().code).toBe('INVALID_TAG');
        expect((await describeSample(atZurich)).tags).toEqual(tagsBefore);
        expect(await logSize('zurich')).toBe(before);
      },
    );
  });
});

describe('comments', () => {
  describe('when analysts comment on a sample held at two sites', () => {
    it('keeps each at both, lists each once oldest first across pages, and counts them', async () => {
      const before = { zurich: await logSize('zurich'), moscow: await logSize('moscow') };
      const written: string[] = [];
      for (let i = 0; i < 5; i++) {
        const response = await comment(atBoth, `note ${i}: unpacks to a second stage`);
        expect(response.statusCode, response.body).toBe(201);
        written.push(response.json().id);
      }
      const listed: { id: string; text: string }[] = [];
      let cursor: string | null = null;
      do {
        const query: string = cursor === null ? 'limit=2' : `limit=2&cursor=${cursor}`;
        const page = await h.app.inject({ url: `/v1/samples/${atBoth}/comments?${query}`, headers: analyst });
        expect(page.statusCode, page.body).toBe(200);
        listed.push(...page.json().comments);
        cursor = page.json().next;
      } while (cursor !== null);
      expect(listed.map((c) => c.id)).toEqual(written);
      expect(listed[0]!.text).toBe('note 0: unpacks to a second stage');
      expect((await describeSample(atBoth)).comments).toBe(5);
      for (const site of ['zurich', 'moscow'] as const) {
        const entries = await entriesSince(site, before[site]);
        expect(entries.map((e) => e.type)).toEqual(Array(5).fill('sample.commented'));
        // The text stays out of the log: free text may hold what the log must not.
        expect(JSON.stringify(entries)).not.toContain('second stage');
      }
    });
  });

  describe('when the comment is bad', () => {
    it.each([
      ['blank', '   '],
      ['too long', 'x'.repeat(4001)],
      ['with a control character', 'a\u0007b'],
    ])('answers a %s comment with 400 and stores nothing', async (_label, text) => {
      const before = await logSize('zurich');
      const response = await comment(atZurich, text);
      expect(response.statusCode, response.body).toBe(400);
      expect(['INVALID_COMMENT', 'INVALID_TEXT', 'VALIDATION_FAILED']).toContain(response.json().code);
      expect((await describeSample(atZurich)).comments).toBe(0);
      expect(await logSize('zurich')).toBe(before);
    });
  });
});

describe('site scope', () => {
  describe('when a zurich-only token reaches for a moscow sample', () => {
    it('answers every tag and comment route 404 SAMPLE_NOT_FOUND, and nothing changes at moscow', async () => {
      const before = await logSize('moscow');
      const responses = [
        await tag(atMoscow, 'family:emotet', 'PUT', zurichAnalyst),
        await tag(atMoscow, 'family:emotet', 'DELETE', zurichAnalyst),
        await comment(atMoscow, 'hello', zurichAnalyst),
        await h.app.inject({ url: `/v1/samples/${atMoscow}/comments`, headers: zurichAnalyst }),
      ];
      expect(responses.map((r) => `${r.statusCode} ${r.json().code}`)).toEqual(
        Array(4).fill('404 SAMPLE_NOT_FOUND'),
      );
      expect(await logSize('moscow')).toBe(before);
      expect((await describeSample(atMoscow)).tags).toEqual([]);
    });
  });

  describe('when the sample is unknown everywhere', () => {
    it('answers 404 SAMPLE_NOT_FOUND', async () => {
      const response = await tag('0'.repeat(64), 'x');
      expect(response.statusCode).toBe(404);
    });
  });
});
