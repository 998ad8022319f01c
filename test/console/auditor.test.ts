import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../src/ledger/open-node-log.js';
import { bearer } from '../support/harness.js';
import { registerInstallation } from '../support/installations.js';
import {
  type ConsoleHarness,
  consoleUnavailable,
  expectAccessible,
  expectFitsPhone,
  PHONE,
  screenshot,
  signIn,
  startConsole,
} from './support/console-harness.js';

/*
 * The auditors' and the public's desk, signed out: the control log's checkpoint and entries
 * read from the public tiles, an entry's inclusion proof and the checkpoint's signature
 * checked in the browser, a tile altered in transit caught; and the published reports.
 */

const NOW = new Date('2026-06-01T12:00:00Z');
const HEADER = 'received_at,requester_country,authority_kind,category,outcome,reason,closed_at';
const COUNTRIES = ['DE', 'FR', 'IT', 'DE', 'ES', 'DE'];
const HISTORY = [
  HEADER,
  '2021-02-01,DE,law_enforcement,technical_expertise,fulfilled,,2021-02-10',
  '2021-03-01,FR,court,user_data,rejected,no_data,2021-03-10',
  // 24 requests in the second half: enough entries for two pages of the explorer.
  ...Array.from({ length: 24 }, (_, i) => {
    const day = String((i % 28) + 1).padStart(2, '0');
    const country = COUNTRIES[i % COUNTRIES.length];
    return i % 3 === 0
      ? `2021-08-${day},${country},government,user_data,rejected,out_of_scope,2021-09-${day}`
      : `2021-08-${day},${country},law_enforcement,technical_expertise,fulfilled,,2021-09-${day}`;
  }),
].join('\n');

let c: ConsoleHarness;
let auditorToken: string;
let size: number;

beforeAll(async () => {
  if (consoleUnavailable) return;
  c = await startConsole({ now: () => NOW });
  const admin = bearer(await c.h.token('admin'));
  auditorToken = await c.h.token('auditor');
  await c.h.glasshouse.legal.importHistory(HISTORY, { role: 'legal', token: 'test' });
  await registerInstallation(c.h.app, await c.h.token('product'), 'DE');
  for (const period of ['2021-H1', '2021-H2']) {
    const published = await c.h.app.inject({
      method: 'PUT',
      url: `/v1/reports/${period}/publication`,
      headers: admin,
    });
    expect(published.statusCode, published.body).toBe(200);
  }
  // The explorer reads the published checkpoint: wait until it covers every entry.
  const log = c.h.glasshouse.logs.get('control')!;
  size = await log.size();
  for (let waited = 0; (await log.publishedSize()) < size; waited += 50) {
    if (waited > 10_000) throw new Error('the control log published no checkpoint of its entries');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
});
afterAll(async () => {
  if (consoleUnavailable) return;
  await c?.close();
});

async function openControlLog(page: Page): Promise<void> {
  await page.goto('/console/');
  await page
    .getByRole('navigation', { name: 'Desks' })
    .getByRole('link', { name: 'Transparency log' })
    .click();
  await page.getByRole('heading', { name: 'Transparency log', exact: true }).waitFor();
  await page.getByRole('link', { name: /^control/ }).click();
  await page.getByRole('heading', { name: 'Latest checkpoint' }).waitFor();
}

const entryRow = (page: Page, index: number) =>
  page
    .getByRole('row')
    .filter({ has: page.getByRole('button', { name: `Verify inclusion of entry ${index}` }) });

describe.skipIf(consoleUnavailable)('the transparency log explorer, signed out', () => {
  it('shows the checkpoint and pages through the entries decoded from the entry bundles', async () => {
    const { page, problems } = await c.open();
    await openControlLog(page);
    const checkpoint = await (await fetch(`${c.origin}/log/control/checkpoint`)).text();
    const [origin, treeSize, root] = checkpoint.split('\n');
    const facts = page.locator('dl.facts');
    expect(await facts.textContent()).toContain(origin);
    expect(await facts.textContent()).toContain(`${treeSize} entries`);
    expect(await facts.textContent()).toContain(root);
    const signatureLine = checkpoint.split('\n\n')[1]!.trim();
    expect(await page.locator('.signature-lines li').first().textContent()).toBe(signatureLine);

    // Page 1: entries 0..19 as the log stores them.
    const entries = (await c.h.glasshouse.logs.get('control')!.readEntries(0, size)).map((e) =>
      e.toString('utf8'),
    );
    await page.getByText(`Entries 0–19 of ${size}`).waitFor();
    expect(await entryRow(page, 0).locator('pre').textContent()).toBe(entries[0]);
    expect(await entryRow(page, 0).getByRole('cell').nth(1).textContent()).toContain(
      JSON.parse(entries[0]!).type,
    );
    await expectAccessible(page, 'log explorer');
    await screenshot(page, 'log-explorer');

    // The next page from the keyboard.
    await page.getByRole('button', { name: 'Next entries' }).focus();
    await page.keyboard.press('Enter');
    await page.getByText(`Entries 20–${Math.min(39, size - 1)} of ${size}`).waitFor();
    expect(await entryRow(page, 21).locator('pre').textContent()).toBe(entries[21]);
    const imported = entries.findIndex((e, i) => i >= 20 && e.includes('"legal.request"'));
    if (imported >= 0) expect(await entryRow(page, imported).textContent()).toContain('legal.request');
    await page.getByRole('button', { name: 'Previous entries' }).click();
    await entryRow(page, 0).waitFor();
    expect(problems).toEqual([]);
  });

  it('verifies an entry’s inclusion proof from the tiles and the checkpoint’s signature with the verifier key', async () => {
    const { page, problems } = await c.open();
    await openControlLog(page);
    const row = entryRow(page, 5);
    await page.getByRole('button', { name: 'Verify inclusion of entry 5' }).click();
    await row.getByText('Inclusion verified').waitFor();
    expect(await row.textContent()).toContain(`tile/0/000.p/${size}`);
    expect(await row.textContent()).toContain("Not checked: the checkpoint's signature");

    // Another log's key (a site's) is named as such, not taken.
    const keyField = page.getByLabel(/Verifier key of/);
    await keyField.fill(nodeSigner(c.h.glasshouse.config, 'zurich').verifierKey);
    await page.getByRole('button', { name: 'Verify signature' }).click();
    await page.getByText('Signature not verified').waitFor();
    await keyField.fill('not a key');
    await page.getByRole('button', { name: 'Verify signature' }).click();
    await page.getByText('Not checked: a verifier key reads name+hhhhhhhh+base64').waitFor();

    // The node's own key, from the keyboard.
    const key = nodeSigner(c.h.glasshouse.config, 'control').verifierKey;
    await keyField.fill(key);
    await keyField.press('Enter');
    await page.getByText('Signature verified').waitFor();
    expect(await page.locator('.log-key-form').textContent()).toContain(key.split('+').slice(0, 2).join('+'));
    await page.getByRole('button', { name: 'Verify inclusion of entry 7' }).click();
    await entryRow(page, 7).getByText('Inclusion verified').waitFor();
    expect(await entryRow(page, 7).textContent()).toContain('was verified too');
    await expectAccessible(page, 'log explorer, verified');
    expect(problems).toEqual([]);
  });

  it('fails naming the tile when a hash tile is altered in transit, and the entry when its bundle is', async () => {
    const { page, problems } = await c.open();
    const tile = `/log/control/tile/0/000.p/${size}`;
    await page.route(`**${tile}`, async (route) => {
      const response = await route.fetch();
      const body = Buffer.from(await response.body());
      body[32 * 4] = body[32 * 4]! ^ 0xff; // the leaf hash of entry 4, a sibling of entry 5
      await route.fulfill({ response, body });
    });
    await openControlLog(page);
    await page.getByRole('button', { name: 'Verify inclusion of entry 5' }).click();
    const failure = entryRow(page, 5).getByRole('alert');
    await failure.waitFor();
    expect(await failure.textContent()).toContain('Inclusion not verified');
    expect(await failure.textContent()).toContain(`tile/0/000.p/${size}`);
    expect(await failure.textContent()).toContain('does not reach the checkpoint');

    // The same tile's hash of entry 4 itself no longer matches the entry.
    await page.getByRole('button', { name: 'Verify inclusion of entry 4' }).click();
    const altered = entryRow(page, 4).getByRole('alert');
    await altered.waitFor();
    expect(await altered.textContent()).toContain(`entry 4 from tile/entries/000.p/${size}`);
    expect(await altered.textContent()).toContain(tile.slice('/log/control/'.length));
    expect(problems).toEqual([]);
  });

  it('uses the proof route for an auditor, and says when a node has no log', async () => {
    const { page, problems } = await c.open();
    await signIn(page, auditorToken);
    await openControlLog(page);
    await page.getByRole('button', { name: 'Verify inclusion of entry 2' }).click();
    await entryRow(page, 2).getByText('Inclusion verified').waitFor();
    expect(await entryRow(page, 2).textContent()).toContain('GET /v1/log/control/proof/inclusion');
    expect(problems).toEqual([]);

    await page.goto('/console/log/nowhere');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('LOG_NOT_FOUND');
  });

  it("works at 390 pixels wide: the list of nodes and a node's log", async () => {
    const { page, problems } = await c.open(PHONE);
    await page.goto('/console/log');
    await page.getByRole('link', { name: /^control/ }).waitFor();
    await expectFitsPhone(page, 'log nodes');
    await page.goto('/console/log/control');
    await page.getByRole('heading', { name: 'Latest checkpoint' }).waitFor();
    await entryRow(page, 0).waitFor();
    await expectFitsPhone(page, 'log explorer');
    expect(problems).toEqual([]);
  });
});

describe.skipIf(consoleUnavailable)('the published reports, signed out', () => {
  it('lists the published periods, opens one from the picker, and shows its charts and tables', async () => {
    const report = (await c.h.app.inject({ url: '/reports/2021-H2/report.json' })).json();
    const { page, problems } = await c.open();
    await page.goto('/console/');
    await page.getByRole('navigation', { name: 'Desks' }).getByRole('link', { name: 'Reports' }).click();
    const list = page.getByRole('table', { name: /Published reports/ });
    await list.waitFor();
    expect(await list.getByRole('rowheader').allInnerTexts()).toEqual(['2021-H2', '2021-H1']);
    await expectAccessible(page, 'reports');
    await expectFitsPhone(page, 'reports');

    await page.getByLabel('Period').selectOption('2021-H2');
    await page.getByRole('button', { name: 'Open report' }).press('Enter');
    await page.getByRole('heading', { name: 'Transparency report 2021-H2' }).waitFor();
    const headline = page.getByRole('list', { name: 'Headline figures' });
    await headline.waitFor();
    expect(await headline.textContent()).toContain(`${report.legal.total} requests from authorities`);
    expect(await headline.textContent()).toContain(`${report.legal.countries} countries`);

    const byCountry = page.getByRole('table', { name: 'Requests by country' });
    for (const row of report.legal.byCountry) {
      const cells = await byCountry
        .getByRole('row', { name: new RegExp(`^${row.name} \\(${row.country}\\)`) })
        .allInnerTexts();
      expect(cells[0]).toContain(String(row.total));
    }
    expect(
      await page.getByRole('img', { name: /^Requests by country:/ }).getAttribute('aria-label'),
    ).toContain(`${report.legal.byCountry[0].name} ${report.legal.byCountry[0].total}`);
    expect(await page.getByRole('img', { name: /^Outcomes:/ }).getAttribute('aria-label')).toContain(
      `Fulfilled ${report.legal.byOutcome.fulfilled}`,
    );
    await page
      .getByRole('img', { name: /^Requests per published half-year: 2021-H1 2, 2021-H2 24/ })
      .waitFor();
    const outcomes = page.getByRole('table', { name: 'Outcomes' });
    expect(await outcomes.getByRole('row', { name: /Rejected: Out of scope/ }).textContent()).toContain(
      String(report.legal.byOutcome.rejected.out_of_scope),
    );
    const comparison = page.getByRole('table', { name: '2021-H2 and 2021-H1' });
    expect(await comparison.getByRole('row', { name: /^Requests/ }).textContent()).toBe(
      `Requests${report.legal.total}${report.previous.legal.total}`,
    );
    await expectAccessible(page, 'report');
    await screenshot(page, 'report');
    expect(problems).toEqual([]);
  });

  it('links the public files: JSON, Markdown, the HTML page and every CSV table', async () => {
    const { page, problems } = await c.open();
    await page.goto('/console/reports/2021-H2');
    const downloads = page.getByRole('region', { name: 'Downloads' });
    await downloads.getByRole('link', { name: /Table legal-requests/ }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      downloads.getByRole('link', { name: 'Report as JSON' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('report-2021-H2.json');
    const saved = await download.path();
    const { readFileSync } = await import('node:fs');
    expect(JSON.parse(readFileSync(saved, 'utf8'))).toMatchObject({ period: '2021-H2' });

    const hrefs = await downloads
      .getByRole('link')
      .evaluateAll((links) => links.map((a) => a.getAttribute('href')));
    expect(hrefs).toEqual(
      expect.arrayContaining([
        '/reports/2021-H2/report.json',
        '/reports/2021-H2/report.md',
        '/reports/2021-H2/',
      ]),
    );
    expect(hrefs.filter((h) => h?.endsWith('.csv'))).toHaveLength(8);
    for (const href of hrefs) {
      const response = await fetch(`${c.origin}${href}`);
      expect(response.status, href!).toBe(200);
    }
    expect(await (await fetch(`${c.origin}/reports/2021-H2/legal-requests.csv`)).text()).toContain(
      'period_ending',
    );
    expect(problems).toEqual([]);
  });

  it('says an unpublished period is not published, and works at 390 pixels wide', async () => {
    const { page } = await c.open(PHONE);
    await page.goto('/console/reports/2019-H1');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('REPORT_NOT_PUBLISHED');

    const phone = await c.open(PHONE);
    await phone.page.goto('/console/reports/2021-H2');
    await phone.page.getByRole('list', { name: 'Headline figures' }).waitFor();
    await expectFitsPhone(phone.page, 'report');
    expect(phone.problems).toEqual([]);
  });
});
