import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation, submitSample } from './support/installations.js';

/*
 * `SiteClient.installationRecords`: the one read of an installation's own data that the
 * legal and privacy desks build on. It must return exactly what the installation stored at
 * the site, file names opened, and nothing of anyone else.
 */

let h: Harness;
let product: string;
let clock: Date;

beforeAll(async () => {
  clock = new Date('2026-03-01T10:00:00Z');
  h = await startHarness({ now: () => clock });
  product = await h.token('product');
});
afterAll(() => h.close());

function register(country: string) {
  return registerInstallation(h.app, product, country);
}

async function submit(installation: string, filename: string, body: Buffer): Promise<void> {
  const response = await submitSample(h.app, product, installation, filename, body);
  expect(response.statusCode, response.body).toBeLessThan(300);
}

async function sendEvent(installation: string, ts: string, type: string): Promise<void> {
  const response = await h.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(product), 'content-type': 'application/x-ndjson' },
    payload: JSON.stringify({ ts, installation, type, verdict: 'malicious', threat: 'Trojan.X' }),
  });
  expect(response.json().accepted, response.body).toBe(1);
}

describe('installationRecords', () => {
  it('returns the submissions (file names opened) and events of one installation, in range', async () => {
    const mine = await register('DE');
    const other = await register('DE');
    const shared = randomBytes(300);
    const own = randomBytes(500);
    await submit(mine.id, 'C:\\Users\\ana\\invoice.exe', shared);
    clock = new Date('2026-03-05T10:00:00Z');
    await submit(mine.id, 'report.docm', own);
    await submit(other.id, 'other.exe', shared);
    clock = new Date('2026-03-07T10:00:00Z');
    await sendEvent(mine.id, '2026-03-01T12:00:00Z', 'detection');
    await sendEvent(mine.id, '2026-03-06T12:00:00Z', 'scan');
    await sendEvent(other.id, '2026-03-06T12:00:00Z', 'scan');

    const site = h.glasshouse.sites.get(mine.site)!;
    const all = await site.installationRecords(mine.id);
    expect(all?.site).toBe(mine.site);
    expect(all?.jurisdiction).toBe(site.jurisdiction);
    expect(all?.submissions.map((s) => [s.filename, s.sha256, s.size])).toEqual([
      ['C:\\Users\\ana\\invoice.exe', sha256(shared), 300],
      ['report.docm', sha256(own), 500],
    ]);
    expect(all?.events.map((e) => [e.type, e.ts])).toEqual([
      ['detection', '2026-03-01T12:00:00.000Z'],
      ['scan', '2026-03-06T12:00:00.000Z'],
    ]);
    expect(all?.events.every((e) => e.installation === mine.id && e.country === 'DE')).toBe(true);

    const march5 = { from: new Date('2026-03-05T00:00:00Z') };
    const later = await site.installationRecords(mine.id, march5);
    expect(later?.submissions.map((s) => s.filename)).toEqual(['report.docm']);
    expect(later?.events.map((e) => e.type)).toEqual(['scan']);
  });

  it('is undefined at a site that holds nothing of the installation', async () => {
    const russian = await register('RU');
    const elsewhere = [...h.glasshouse.sites.values()].find((s) => s.name !== russian.site)!;
    expect(await elsewhere.installationRecords(russian.id)).toBeUndefined();
    const home = await h.glasshouse.sites.get(russian.site)!.installationRecords(russian.id);
    expect(home).toMatchObject({ site: russian.site, submissions: [], events: [] });
  });
});

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
