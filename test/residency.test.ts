import { afterEach, describe, expect, it } from 'vitest';
import { bearer, type Harness, startHarness } from './support/harness.js';

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

async function registerAt(now: string, country: string) {
  harness = await startHarness({ now: () => new Date(now) });
  const product = await harness.token('product');
  const response = await harness.app.inject({
    method: 'POST',
    url: '/v1/installations',
    headers: bearer(product),
    payload: { country, product: 'endpoint-12' },
  });
  expect(response.statusCode).toBe(201);
  return response.json<{ id: string; secret: string; site: string }>();
}

describe('residency of new installations', () => {
  describe('when the example policy history is in force', () => {
    it.each([
      ['2022-02-28T23:59:59Z', 'BR', 'moscow'],
      ['2022-03-01T00:00:00Z', 'BR', 'zurich'],
      ['2022-02-01T00:00:00Z', 'SA', 'moscow'],
      ['2022-03-02T00:00:00Z', 'SA', 'zurich'],
      ['2018-10-31T00:00:00Z', 'DE', 'moscow'],
      ['2021-06-01T00:00:00Z', 'DE', 'zurich'],
      ['2026-11-23T00:00:00Z', 'RU', 'moscow'],
      ['2026-11-23T00:00:00Z', 'US', 'zurich'],
    ])('registers at %s an installation from %s at %s', async (now, country, site) => {
      const installation = await registerAt(now, country);
      expect(installation.site).toBe(site);
      expect(installation.secret.length).toBeGreaterThanOrEqual(43);
    });
  });

  describe('when a sample is submitted', () => {
    it('reaches only the site the installation is assigned to', async () => {
      const installation = await registerAt('2022-02-15T00:00:00Z', 'BR');
      const h = harness!;
      const product = await h.token('product');
      const upload = await h.app.inject({
        method: 'POST',
        url: `/v1/samples?installation=${installation.id}&filename=a.exe`,
        headers: { ...bearer(product), 'content-type': 'application/octet-stream' },
        payload: Buffer.from('residency probe'),
      });
      expect(upload.statusCode).toBe(201);
      expect(upload.json().site).toBe('moscow');
      expect(await h.glasshouse.sites.get('moscow')!.usage()).toMatchObject({ samples: 1, bytes: 15 });
      expect(await h.glasshouse.sites.get('zurich')!.usage()).toMatchObject({ samples: 0, bytes: 0 });
    });
  });
});

describe('the site log of a new installation', () => {
  describe('when an installation is registered', () => {
    it('records it at its site as a commitment, never the id in clear', async () => {
      const installation = await registerAt('2026-11-23T00:00:00Z', 'DE');
      const log = harness!.glasshouse.logs.get('zurich')!;
      const entries = (await log.readEntries(0, await log.size())).map((e) => e.toString('utf8'));
      const admitted = entries.map((e) => JSON.parse(e)).find((e) => e.type === 'installation.admitted');
      expect(admitted).toMatchObject({
        site: 'zurich',
        actor: { role: 'product' },
        installation: expect.stringMatching(/^[0-9a-f]{64}$/),
      });
      expect(entries.join('\n')).not.toContain(installation.id);
      expect(entries.join('\n')).not.toContain(installation.secret);
    });
  });
});

describe('GET /v1/policy/resolve', () => {
  describe('when asked about Saudi Arabia around 2022-03-01', () => {
    it('answers moscow before and zurich after, with the version and the rule', async () => {
      harness = await startHarness();
      const auditor = await harness.token('auditor');
      const before = await harness.app.inject({
        url: '/v1/policy/resolve?country=SA&at=2022-02-01',
        headers: bearer(auditor),
      });
      expect(before.json()).toEqual({
        country: 'SA',
        at: '2022-02-01T00:00:00.000Z',
        site: 'moscow',
        version: 4,
        rule: { kind: 'default' },
      });
      const after = await harness.app.inject({
        url: '/v1/policy/resolve?country=SA&at=2022-03-02',
        headers: bearer(auditor),
      });
      expect(after.json()).toMatchObject({
        site: 'zurich',
        version: 5,
        rule: { kind: 'region', region: 'MIDDLE_EAST' },
      });
    });
  });

  describe('when the country or date is not valid', () => {
    it.each([
      ['country=XX', 'UNKNOWN_COUNTRY'],
      ['country=UK', 'UNKNOWN_COUNTRY'],
      ['country=br', 'VALIDATION_FAILED'],
      ['country=SA&at=yesterday', 'INVALID_POLICY'],
      ['at=2022-01-01', 'VALIDATION_FAILED'],
    ])('rejects %s with a problem document (%s)', async (query, code) => {
      harness = await startHarness();
      const response = await harness.app.inject({
        url: `/v1/policy/resolve?${query}`,
        headers: bearer(await harness.token('analyst')),
      });
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json().code).toBe(code);
    });
  });

  describe('when the date precedes the whole history', () => {
    it('answers 404 NO_POLICY_IN_FORCE', async () => {
      harness = await startHarness();
      const response = await harness.app.inject({
        url: '/v1/policy/resolve?country=DE&at=2016-01-01',
        headers: bearer(await harness.token('analyst')),
      });
      expect(response.statusCode).toBe(404);
      expect(response.json().code).toBe('NO_POLICY_IN_FORCE');
    });
  });
});

describe('POST /v1/policy/versions', () => {
  // The harness runs on a pinned clock, a week before `future`, whatever the day of the run.
  const today = new Date('2026-11-23T00:00:00Z');
  const future = '2026-12-01T00:00:00Z';

  describe('when an admin adds a complete mapping effective later', () => {
    it('keeps the history and applies the new version from its date', async () => {
      let now = today;
      harness = await startHarness({ now: () => now });
      const admin = await harness.token('admin');
      const added = await harness.app.inject({
        method: 'POST',
        url: '/v1/policy/versions',
        headers: bearer(admin),
        payload: {
          effectiveFrom: future,
          default: 'moscow',
          assign: [{ regions: ['EU', 'LATAM'], countries: ['IS'], site: 'zurich' }],
        },
      });
      expect(added.statusCode).toBe(201);
      expect(added.json()).toMatchObject({
        version: 6,
        effectiveFrom: '2026-12-01T00:00:00.000Z',
        default: 'moscow',
      });
      const policy = await harness.app.inject({ url: '/v1/policy', headers: bearer(admin) });
      expect(policy.json().versions).toHaveLength(6);
      expect(policy.json().inForce).toBe(5);
      const usBefore = await harness.glasshouse.policy.resolve('US', new Date('2026-11-30T00:00:00Z'));
      const usAfter = await harness.glasshouse.policy.resolve('US', new Date('2026-12-02T00:00:00Z'));
      expect([usBefore.site, usAfter.site]).toEqual(['zurich', 'moscow']);
      now = new Date('2026-12-05T00:00:00Z');
      expect((await harness.app.inject({ url: '/v1/policy', headers: bearer(admin) })).json().inForce).toBe(
        6,
      );
      const audit = await harness.glasshouse.policy.versions();
      expect(audit.map((v) => v.version)).toEqual([1, 2, 3, 4, 5, 6]);
    });

    it('takes effect at once without effectiveFrom', async () => {
      harness = await startHarness();
      const response = await harness.app.inject({
        method: 'POST',
        url: '/v1/policy/versions',
        headers: bearer(await harness.token('admin')),
        payload: { default: 'zurich', assign: [] },
      });
      expect(response.statusCode).toBe(201);
      expect((await harness.glasshouse.policy.resolve('RU')).site).toBe('zurich');
    });
  });

  describe('when the version is not valid', () => {
    it.each([
      [{ effectiveFrom: '2020-01-01T00:00:00Z', default: 'moscow', assign: [] }, 'EFFECTIVE_IN_PAST'],
      [{ effectiveFrom: future, default: 'geneva', assign: [] }, 'UNKNOWN_SITE'],
      [
        { effectiveFrom: future, default: 'moscow', assign: [{ regions: ['EUROPA'], site: 'zurich' }] },
        'UNKNOWN_REGION',
      ],
      [
        { effectiveFrom: future, default: 'moscow', assign: [{ countries: ['XX'], site: 'zurich' }] },
        'UNKNOWN_COUNTRY',
      ],
      [
        {
          effectiveFrom: future,
          default: 'moscow',
          assign: [
            { countries: ['DE'], site: 'zurich' },
            { countries: ['DE'], site: 'moscow' },
          ],
        },
        'CONFLICTING_ASSIGNMENT',
      ],
      [{ effectiveFrom: future, default: 'moscow' }, 'VALIDATION_FAILED'],
      [{ effectiveFrom: 'next tuesday', default: 'moscow', assign: [] }, 'VALIDATION_FAILED'],
    ])('rejects %j with %s and stores nothing', async (payload, code) => {
      harness = await startHarness({ now: () => today });
      const admin = await harness.token('admin');
      const response = await harness.app.inject({
        method: 'POST',
        url: '/v1/policy/versions',
        headers: bearer(admin),
        payload,
      });
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json().code).toBe(code);
      expect(await harness.glasshouse.policy.versions()).toHaveLength(5);
    });
  });
});
