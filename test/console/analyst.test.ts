import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { extractWith7z } from '../support/files.js';
import { bearer } from '../support/harness.js';
import { type RegisteredInstallation, registerInstallation, submitSample } from '../support/installations.js';
import {
  type ConsoleHarness,
  consoleUnavailable,
  expectAccessible,
  expectFitsPhone,
  PHONE,
  screenshot,
  signIn,
  startConsole,
  tabTo,
  unexpectedProblems,
} from './support/console-harness.js';

/*
 * The analysts' desk through the browser: a sample looked up by each of its hashes and
 * downloaded as the `infected` zip, a verdict set and seen in the look-up, a feed imported
 * with its bad line named, statistics drawn and tabled with the withheld groups said, and a
 * zurich analyst who never sees what only moscow holds. The server's clock is pinned, so no
 * date here depends on today.
 */

let c: ConsoleHarness;
let clock = new Date('2026-11-20T08:00:00Z');
/** Held at zurich (twice) and at moscow (once). */
const shared = randomBytes(4096);
/** Held at moscow only. */
const moscowOnly = randomBytes(2048);
let product: string;
let analyst: string;
let zurichAnalyst: string;

const digests = (bytes: Buffer) =>
  Object.fromEntries(
    (['md5', 'sha1', 'sha256', 'sha512'] as const).map((algorithm) => [
      algorithm,
      createHash(algorithm).update(bytes).digest('hex'),
    ]),
  ) as Record<'md5' | 'sha1' | 'sha256' | 'sha512', string>;

beforeAll(async () => {
  if (consoleUnavailable) return;
  c = await startConsole({ now: () => clock, stats: { minGroupSize: 2 } });
  product = await c.h.token('product');
  analyst = await c.h.token('analyst');
  zurichAnalyst = await c.h.token('analyst', ['zurich']);
  // DE and BR are zurich's, RU moscow's, under the example policy.
  const de: RegisteredInstallation[] = [];
  const br: RegisteredInstallation[] = [];
  for (let i = 0; i < 3; i += 1) de.push(await registerInstallation(c.h.app, product, 'DE'));
  for (let i = 0; i < 2; i += 1) br.push(await registerInstallation(c.h.app, product, 'BR'));
  const ru = await registerInstallation(c.h.app, product, 'RU');
  expect([de[0]!.site, ru.site]).toEqual(['zurich', 'moscow']);

  const submit = async (installation: RegisteredInstallation, bytes: Buffer) => {
    const response = await submitSample(c.h.app, product, installation.id, 'invoice.exe', bytes);
    expect(response.statusCode, response.body).toBeLessThan(300);
  };
  await submit(de[0]!, shared);
  clock = new Date('2026-11-22T09:30:00Z');
  await submit(de[1]!, shared);
  await submit(ru, shared);
  await submit(ru, moscowOnly);

  clock = new Date('2026-11-25T12:00:00Z');
  const event = (installation: RegisteredInstallation, ts: string, threat: string) =>
    JSON.stringify({
      ts,
      installation: installation.id,
      type: 'detection',
      sha256: 'ab'.repeat(32),
      verdict: 'malicious',
      threat,
      product: 'endpoint-12',
      os: 'windows-11',
    });
  // 23 Nov: Trojan.A at 3 DE installations once and 2 BR twice; 24 Nov: Worm.B at one RU only.
  const lines = [
    ...de.map((i) => event(i, '2026-11-23T10:00:00Z', 'Trojan.A')),
    ...br.flatMap((i) => [
      event(i, '2026-11-23T11:00:00Z', 'Trojan.A'),
      event(i, '2026-11-23T12:00:00Z', 'Trojan.A'),
    ]),
    event(ru, '2026-11-24T10:00:00Z', 'Worm.B'),
  ];
  const posted = await c.h.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(product), 'content-type': 'application/x-ndjson' },
    payload: `${lines.join('\n')}\n`,
  });
  expect(posted.json()).toMatchObject({ accepted: lines.length, rejected: [] });
  await Promise.all([...c.h.glasshouse.sites.values()].map((site) => site.stats!.flush()));
});
afterAll(async () => {
  if (consoleUnavailable) return;
  await c?.close();
});

async function lookUp(page: Page, hash: string): Promise<void> {
  await page.getByRole('textbox', { name: 'Hash' }).fill(hash);
  await page.getByRole('button', { name: 'Look up' }).click();
}

async function text(page: Page, selector: string): Promise<string> {
  return (await page.locator(selector).first().textContent()) ?? '';
}

async function tableRows(page: Page, region: string): Promise<string[][]> {
  const rows = page.getByRole('region', { name: region }).locator('tbody tr');
  const out: string[][] = [];
  for (const row of await rows.all()) {
    out.push((await row.locator('th, td').allTextContents()).map((t) => t.trim()));
  }
  return out;
}

describe.skipIf(consoleUnavailable)("the analysts' desk", () => {
  it('looks a sample up by each of its hashes and downloads it as the infected zip', async () => {
    const { page, problems } = await c.open();
    await signIn(page, analyst);
    await page.getByRole('navigation', { name: 'Desks' }).getByRole('link', { name: 'Samples' }).click();
    await page.getByRole('heading', { name: 'Samples' }).waitFor();
    const want = digests(shared);

    for (const hash of [want.md5, want.sha1, want.sha256, want.sha512.toUpperCase()]) {
      await lookUp(page, hash);
      await page.getByRole('region', { name: 'Sites' }).waitFor();
      expect(await text(page, '.analyst-hashes')).toContain(want.sha512);
      expect(await tableRows(page, 'Sites')).toEqual([
        ['zurich', '2026-11-20 08:00 UTC', '2026-11-22 09:30 UTC', '2'],
        ['moscow', '2026-11-22 09:30 UTC', '2026-11-22 09:30 UTC', '1'],
      ]);
      // No verdict yet: what a product would be told.
      await expect
        .poll(() => text(page, '#analyst-verdict + p, [aria-labelledby="analyst-verdict"] p'))
        .toContain('unknown');
    }
    await expectAccessible(page, 'sample look-up');
    await screenshot(page, 'analyst-sample');

    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`${want.sha256}.zip`);
    const zip = readFileSync((await download.path())!);
    expect(extractWith7z(zip).get(want.sha256)).toEqual(shared);
    expect(await page.getByText('password is infected').count()).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });

  it('says a hash no site holds is not found, and a malformed hash at its field', async () => {
    const { page, problems } = await c.open();
    await signIn(page, analyst);
    await page.goto('/console/samples');
    await lookUp(page, 'f'.repeat(64));
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('SAMPLE_NOT_FOUND');
    expect(await alert.textContent()).toContain('no sample with that hash at your sites');

    await lookUp(page, 'not-a-hash');
    await page.locator('.field-error').waitFor();
    expect(await text(page, '.field-error')).toMatch(/MD5, SHA-1, SHA-256 or SHA-512/);
    expect(await page.getByRole('textbox', { name: 'Hash' }).getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('alert').first().textContent()).toContain('MALFORMED_HASH');
    await expectAccessible(page, 'a refused look-up');
    // A 404 and a 400 are answers, not page faults; the browser logs the failed requests.
    expect(unexpectedProblems(problems, [400, 404])).toEqual([]);
  });

  it('sets a verdict from the keyboard that then shows in the look-up, and refuses a bad date at its field', async () => {
    const { page, problems } = await c.open();
    await signIn(page, analyst);
    const want = digests(shared);
    await page.goto(`/console/samples/${want.md5}`);
    await page.getByRole('link', { name: 'Set verdict' }).click();
    await page.getByRole('heading', { name: 'Verdicts' }).waitFor();
    expect(await page.getByRole('textbox', { name: 'Hash' }).inputValue()).toBe(want.sha256);

    // The whole form from the keyboard: the verdict chosen by typing on the closed list.
    await tabTo(page, 'Verdict');
    await page.keyboard.type('mal');
    expect(await page.getByLabel('Verdict', { exact: true }).inputValue()).toBe('malicious');
    await tabTo(page, 'Threat');
    await page.keyboard.type('Trojan.Test');
    await tabTo(page, 'First seen');
    await page.keyboard.type('yesterday');
    await tabTo(page, 'Set verdict');
    await page.keyboard.press('Enter');
    await page.locator('.field-error').waitFor();
    expect(await page.getByLabel('First seen').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('alert').textContent()).toContain('INVALID_VERDICT');

    await tabTo(page, 'First seen');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('2026-11-01');
    await tabTo(page, 'Set verdict');
    await page.keyboard.press('Space');
    const answer = page.getByRole('status').filter({ hasText: 'Verdict set' });
    await answer.waitFor();
    const covered = await answer.getByRole('listitem').allTextContents();
    expect(covered.sort()).toEqual([want.md5, want.sha1, want.sha256].sort());
    const stored = await c.h.app.inject({ url: `/v1/verdicts/${want.md5}`, headers: bearer(analyst) });
    expect(stored.json(), stored.body).toMatchObject({ verdict: 'malicious', threat: 'Trojan.Test' });
    await expectAccessible(page, 'verdicts');
    await expectFitsPhone(page, 'verdicts');

    await answer.getByRole('link', { name: want.sha1 }).click();
    await page.getByRole('region', { name: 'Verdict' }).waitFor();
    await expect
      .poll(() => page.getByRole('region', { name: 'Verdict' }).textContent())
      .toMatch(/malicious\s*Trojan\.Test · first seen 2026-11-01 00:00 UTC/);
    expect(unexpectedProblems(problems, [400, 404])).toEqual([]);
  });

  it('imports a feed with upload progress, naming its bad line, all or nothing unless told to skip (by keyboard)', async () => {
    const { page, problems } = await c.open();
    await signIn(page, analyst);
    await page.getByRole('navigation', { name: 'Desks' }).getByRole('link', { name: 'Verdicts' }).click();
    const good = [randomBytes(32).toString('hex'), randomBytes(16).toString('hex')];
    const feed = [
      JSON.stringify({ hash: good[0], verdict: 'malicious', threat: 'Feed.One' }),
      JSON.stringify({ hash: 'nope', verdict: 'malicious', threat: 'Feed.Bad' }),
      JSON.stringify({ hash: good[1], verdict: 'clean' }),
    ].join('\n');
    await page.getByLabel('Feed file').setInputFiles({
      name: 'feed.ndjson',
      mimeType: 'application/x-ndjson',
      buffer: Buffer.from(`${feed}\n`),
    });
    await page.getByRole('button', { name: 'Import feed' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('INVALID_FEED');
    expect(await page.locator('.analyst-bad-lines li').allTextContents()).toEqual([
      expect.stringMatching(/^Line 2: /),
    ]);

    // The file is chosen in the browser's own dialog; the rest from the keyboard.
    await tabTo(page, 'Skip bad lines and load the good ones');
    await page.keyboard.press('Space');
    expect(await page.getByLabel('Skip bad lines and load the good ones').isChecked()).toBe(true);
    await tabTo(page, 'Import feed');
    await page.keyboard.press('Enter');
    const result = page.getByRole('status').filter({ hasText: 'Imported' });
    await result.waitFor();
    expect(await result.textContent()).toContain('2 of 3 records loaded, 1 bad');
    expect(await result.locator('.analyst-bad-lines li').allTextContents()).toEqual([
      expect.stringMatching(/^Line 2: /),
    ]);
    const progress = page.getByRole('progressbar');
    expect(await progress.getAttribute('value')).toBe(await progress.getAttribute('max'));
    await expectAccessible(page, 'feed import');
    await expectFitsPhone(page, 'feed import');
    const loaded = await c.h.app.inject({ url: `/v1/verdicts/${good[1]}`, headers: bearer(analyst) });
    expect(loaded.json(), loaded.body).toMatchObject({ verdict: 'clean' });

    // What the feed loaded is what the look-up says, for a hash no site holds.
    await page.goto(`/console/samples/${good[0]}`);
    await expect
      .poll(() => page.getByRole('region', { name: 'Verdict' }).textContent())
      .toMatch(/malicious\s*Feed\.One/);
    expect(unexpectedProblems(problems, [400, 404])).toEqual([]);
  });

  it('draws detections by day, country and threat, tabled, saying what it withholds', async () => {
    const { page, problems } = await c.open();
    await signIn(page, analyst);
    await page.getByRole('navigation', { name: 'Desks' }).getByRole('link', { name: 'Statistics' }).click();
    await page.getByLabel('From').fill('2026-11-20');
    await page.getByLabel('Through').fill('2026-11-24');
    await page.getByRole('button', { name: 'Show' }).click();
    await expect.poll(() => tableRows(page, 'Detections by day')).toEqual([['2026-11-23', '7', '5']]);
    expect(await tableRows(page, 'Detections by country')).toEqual([
      ['BR', '4', '2'],
      ['DE', '3', '3'],
    ]);
    expect(await tableRows(page, 'Top threats')).toEqual([['Trojan.A', '7', '5']]);
    for (const region of ['Detections by day', 'Detections by country', 'Top threats']) {
      const section = page.getByRole('region', { name: region });
      expect(await section.locator('.analyst-suppressed').textContent()).toBe(
        '1 group with fewer than 2 installations is withheld.',
      );
      expect(await section.getByRole('img').count()).toBe(1);
    }
    expect(
      await page
        .getByRole('region', { name: 'Detections by country' })
        .getByRole('img')
        .getAttribute('aria-label'),
    ).toBe('Detections by country: BR 4, DE 3');
    await expectAccessible(page, 'statistics');
    await screenshot(page, 'analyst-statistics');
    await expectFitsPhone(page, 'statistics');

    // A range the API refuses is said as it says it.
    await page.getByLabel('From').fill('2026-11-30');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.getByRole('alert').first().waitFor();
    expect(await page.getByRole('alert').first().textContent()).toContain('"from" must be before "to"');
    expect(await page.getByLabel('Through').getAttribute('aria-invalid')).toBe('true');
    expect(unexpectedProblems(problems, [400, 404])).toEqual([]);
  });

  it('never shows a zurich analyst what moscow holds, even of a sample both hold', async () => {
    const { page, problems } = await c.open();
    await signIn(page, zurichAnalyst);
    await page.goto('/console/samples');
    await lookUp(page, digests(shared).sha256);
    await page.getByRole('region', { name: 'Sites' }).waitFor();
    expect(await tableRows(page, 'Sites')).toEqual([
      ['zurich', '2026-11-20 08:00 UTC', '2026-11-22 09:30 UTC', '2'],
    ]);
    expect(await page.locator('main').textContent()).not.toContain('moscow');

    await lookUp(page, digests(moscowOnly).sha256);
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('SAMPLE_NOT_FOUND');
    expect(await page.locator('main').textContent()).not.toContain('moscow');
    expect(await page.getByRole('region', { name: 'Sites' }).count()).toBe(0);
    expect(unexpectedProblems(problems, [400, 404])).toEqual([]);
  });

  it('looks up from the keyboard alone at 390 pixels wide', async () => {
    const { page, problems } = await c.open(PHONE);
    await signIn(page, analyst);
    await page.goto('/console/samples');
    await page.getByRole('textbox', { name: 'Hash' }).focus();
    await page.keyboard.type(digests(shared).sha512);
    await page.keyboard.press('Enter');
    await page.getByRole('region', { name: 'Sites' }).waitFor();
    // Tab on to the download and start it with the keyboard.
    const download = page.waitForEvent('download');
    await tabTo(page, 'Download');
    await page.keyboard.press('Enter');
    expect((await download).suggestedFilename()).toBe(`${digests(shared).sha256}.zip`);
    await expectFitsPhone(page, 'sample look-up');
    expect(problems).toEqual([]);
  });
});
