import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness, startHarness } from './support/harness.js';

let h: Harness;
let legal: string;
let privacy: string;
let admin: string;

const PRIVACY_ROWS = 23;
const LEGAL_ROWS = 17;

beforeAll(async () => {
  h = await startHarness();
  [legal, privacy, admin] = await Promise.all([h.token('legal'), h.token('privacy'), h.token('admin')]);
  // Several rows share a date, so the order's tie-break (the id) is what pages must follow.
  const privacyCsv = Array.from(
    { length: PRIVACY_ROWS },
    (_, i) => `2021-0${1 + (i % 3)}-1${i % 2},erasure,completed,2021-06-01`,
  );
  const legalCsv = Array.from(
    { length: LEGAL_ROWS },
    (_, i) => `2019-0${1 + (i % 4)}-05,CH,court,user_data,fulfilled,,2019-06-01`,
  );
  for (const [url, token, csv] of [
    [
      '/v1/privacy-requests/import',
      privacy,
      `received_at,type,outcome,closed_at\n${privacyCsv.join('\n')}\n`,
    ],
    [
      '/v1/legal-requests/import',
      legal,
      `received_at,requester_country,authority_kind,category,outcome,reason,closed_at\n${legalCsv.join('\n')}\n`,
    ],
  ] as const) {
    const response = await h.app.inject({
      method: 'POST',
      url,
      headers: { ...bearer(token), 'content-type': 'text/csv' },
      payload: csv,
    });
    expect(response.statusCode, response.body).toBe(200);
  }
});
afterAll(() => h.close());

/** Follows `next` from the first page to the last, returning every page's ids. */
async function allPages(path: string, key: string, token: string, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const query = new URLSearchParams({ limit: String(limit), ...(cursor === null ? {} : { cursor }) });
    const response = await h.app.inject({ url: `${path}?${query}`, headers: bearer(token) });
    expect(response.statusCode, response.body).toBe(200);
    const body = response.json() as Record<string, unknown> & { next: string | null };
    pages.push((body[key] as { id: string }[]).map((item) => item.id));
    cursor = body.next;
    expect(pages.length).toBeLessThan(100);
  } while (cursor !== null);
  return pages;
}

async function everything(path: string, key: string, token: string): Promise<string[]> {
  const response = await h.app.inject({ url: `${path}?limit=1000`, headers: bearer(token) });
  expect(response.json().next).toBeNull();
  return (response.json()[key] as { id: string }[]).map((item) => item.id);
}

describe('paged lists', () => {
  describe.each([
    ['/v1/privacy-requests', 'requests', () => privacy, PRIVACY_ROWS],
    ['/v1/legal-requests', 'requests', () => legal, LEGAL_ROWS],
  ])('when %s is read 5 at a time', (path, key, token, rows) => {
    it('gives every item once, in the order of the whole list, with no next after the last page', async () => {
      const pages = await allPages(path, key, token(), 5);
      expect(pages.map((p) => p.length)).toEqual([
        ...Array.from({ length: Math.floor(rows / 5) }, () => 5),
        ...(rows % 5 === 0 ? [] : [rows % 5]),
      ]);
      expect(pages.flat()).toEqual(await everything(path, key, token()));
      expect(new Set(pages.flat()).size).toBe(rows);
    });
  });

  describe('when the list fits in one page exactly', () => {
    it('answers next: null', async () => {
      const response = await h.app.inject({
        url: `/v1/legal-requests?limit=${LEGAL_ROWS}`,
        headers: bearer(legal),
      });
      expect(response.json().requests).toHaveLength(LEGAL_ROWS);
      expect(response.json().next).toBeNull();
    });
  });

  describe('when relocations are listed', () => {
    it('answers a page and its cursor', async () => {
      const response = await h.app.inject({ url: '/v1/relocations?limit=2', headers: bearer(admin) });
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual({ relocations: [], next: null });
    });
  });

  describe('when the query is wrong', () => {
    it.each([
      ['/v1/legal-requests?offset=5', () => legal, 'VALIDATION_FAILED'],
      ['/v1/privacy-requests?offset=5', () => privacy, 'VALIDATION_FAILED'],
      ['/v1/relocations?offset=5', () => admin, 'VALIDATION_FAILED'],
      ['/v1/legal-requests?cursor=bm90LWEtY3Vyc29y', () => legal, 'INVALID_CURSOR'],
      ['/v1/privacy-requests?cursor=%25%25', () => privacy, 'INVALID_CURSOR'],
      ['/v1/relocations?cursor=WyJhIl0', () => admin, 'INVALID_CURSOR'],
      ['/v1/legal-requests?limit=0', () => legal, 'VALIDATION_FAILED'],
    ])('%s answers 400 with a problem document', async (url, token, code) => {
      const response = await h.app.inject({ url, headers: bearer(token()) });
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(response.json().code).toBe(code);
    });
  });

  describe('when the token has another role', () => {
    it('refuses the page before reading the cursor', async () => {
      const response = await h.app.inject({ url: '/v1/legal-requests?cursor=x', headers: bearer(privacy) });
      expect(response.statusCode).toBe(403);
    });
  });
});

describe('a query parameter a route does not take', () => {
  it('is refused with 400 on any route that takes a query', async () => {
    const analyst = await h.token('analyst');
    const response = await h.app.inject({
      url: '/v1/policy/resolve?country=SA&at=2022-02-01&verbose=1',
      headers: bearer(analyst),
    });
    expect(response.statusCode).toBe(400);
    expect(response.json()).toMatchObject({ code: 'VALIDATION_FAILED' });
    const fine = await h.app.inject({
      url: '/v1/policy/resolve?country=SA&at=2022-02-01',
      headers: bearer(analyst),
    });
    expect(fine.statusCode).toBe(200);
  });
});
