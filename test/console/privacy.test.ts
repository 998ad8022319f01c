import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nodeSigner } from '../../src/ledger/open-node-log.js';
import { bearer } from '../support/harness.js';
import { type RegisteredInstallation, registerInstallation, submitSample } from '../support/installations.js';
import {
  type ConsoleHarness,
  consoleUnavailable,
  expectAccessible,
  expectFitsPhone,
  PHONE,
  refusalReport,
  screenshot,
  signIn,
  startConsole,
  tabTo,
} from './support/console-harness.js';

/*
 * The privacy officers' desk in the browser: the queue with overdue requests first, filing,
 * verifying, rejecting and extending a request, an inventory and an export, and an erasure
 * through to its receipt, whose inclusion proof the page checks itself with WebCrypto.
 */

/** Requests filed at EARLY are past their 30 days at LATE, the time the desk is used at. */
const EARLY = new Date('2026-01-05T09:00:00Z');
const LATE = new Date('2026-03-02T10:00:00Z');

/** How Chromium reports a refused request (the page shows its problem document). */
const REFUSED = refusalReport(400);

let c: ConsoleHarness;
let clock = EARLY;
let product: string;
let officer: string;
let overdueInstallation: RegisteredInstallation;
let overdueRequest: string;

beforeAll(async () => {
  if (consoleUnavailable) return;
  c = await startConsole({ now: () => clock });
  product = await c.h.token('product');
  overdueInstallation = await registerInstallation(c.h.app, product, 'DE');
  overdueRequest = (await fileByApi('inventory', overdueInstallation.id, c.h.token('privacy'))).id;
  clock = LATE;
  officer = await c.h.token('privacy');
});
afterAll(async () => {
  if (consoleUnavailable) return;
  await c?.close();
});

async function fileByApi(
  type: string,
  installation: string,
  token: string | Promise<string>,
  verificationNote?: string,
): Promise<{ id: string }> {
  const response = await c.h.app.inject({
    method: 'POST',
    url: '/v1/privacy-requests',
    headers: bearer(await token),
    payload: { type, installation, ...(verificationNote === undefined ? {} : { verificationNote }) },
  });
  expect(response.statusCode, response.body).toBe(202);
  return response.json();
}

/** An installation that submitted a sample and sent an event, so a site holds data of it. */
async function installationWithData(country: string): Promise<RegisteredInstallation> {
  const installation = await registerInstallation(c.h.app, product, country);
  const submitted = await submitSample(
    c.h.app,
    product,
    installation.id,
    'C:\\Users\\ana\\invoice.exe',
    Buffer.from(`sample of ${installation.id}`),
  );
  expect(submitted.statusCode, submitted.body).toBeLessThan(300);
  const event = await c.h.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...bearer(product), 'content-type': 'application/x-ndjson' },
    payload: JSON.stringify({
      ts: new Date(LATE.getTime() - 3_600_000).toISOString(),
      installation: installation.id,
      type: 'detection',
      verdict: 'malicious',
      threat: 'Trojan.A',
    }),
  });
  expect(event.json().accepted, event.body).toBe(1);
  return installation;
}

async function openDesk(viewport?: { width: number; height: number }) {
  const opened = await c.open(viewport);
  await signIn(opened.page, officer);
  await opened.page
    .getByRole('navigation', { name: 'Desks' })
    .getByRole('link', { name: 'Privacy requests' })
    .click();
  await opened.page.getByRole('heading', { name: 'Privacy requests' }).waitFor();
  return opened;
}

/** The id of the request whose page is open. */
function erasureId(page: Page): string {
  return /\/requests\/([^/?#]+)/.exec(page.url())![1]!;
}

function text(page: Page, selector: string): Promise<string> {
  return page
    .locator(selector)
    .first()
    .evaluate((e) => e.textContent ?? '');
}

describe.skipIf(consoleUnavailable)("the privacy officers' desk", () => {
  it('lists overdue requests first, filters by state and type, and fits a phone', async () => {
    const recent = await installationWithData('FR');
    await fileByApi('export', recent.id, officer);
    const { page, problems } = await openDesk();
    const firstRow = page.locator('tbody tr').first();
    await expect.poll(() => firstRow.evaluate((e) => e.textContent ?? '')).toContain('Overdue');
    expect(await firstRow.getAttribute('class')).toBe('overdue');
    expect(await firstRow.getByRole('link').getAttribute('href')).toContain(overdueRequest);
    expect(await page.locator('tbody tr').count()).toBeGreaterThan(1);
    expect(await text(page, 'p[role=status]')).toContain('1 overdue');
    await expectAccessible(page, 'privacy queue');
    await screenshot(page, 'privacy-queue');

    // Filters: the export type leaves out the overdue inventory.
    await page.getByLabel('Type').selectOption('export');
    await expect.poll(() => text(page, 'p[role=status]')).toContain('0 overdue');
    expect(await page.locator('tbody').evaluate((e) => e.textContent ?? '')).toContain('Export');
    expect(await page.locator('tbody').evaluate((e) => e.textContent ?? '')).not.toContain('Inventory');
    await page.getByLabel('Type').selectOption('');
    await page.getByLabel('Overdue only').check();
    await expect.poll(() => page.locator('tbody tr').count()).toBe(1);
    expect(problems).toEqual([]);

    const phone = await openDesk(PHONE);
    await phone.page.locator('tbody tr').first().waitFor();
    await expectFitsPhone(phone.page, 'privacy queue');
    expect(phone.problems).toEqual([]);
  });

  it('files an inventory from the keyboard with per-field errors, and renders the answer', async () => {
    const installation = await installationWithData('DE');
    const { page, problems } = await openDesk();
    await page.getByRole('link', { name: 'New request' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'New request' }).waitFor();

    // Refused: no installation named. The API's message stands under the field.
    await page.getByRole('button', { name: 'File the request' }).click();
    await page.locator('.field-invalid').waitFor();
    expect(await text(page, '.field-invalid label')).toBe('Installation');
    expect(await page.getByLabel('Installation').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, 'new privacy request (refused)');
    await expectFitsPhone(page, 'new privacy request (refused)');

    await page.getByLabel('Installation').focus();
    await page.keyboard.type(installation.id);
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.tagName')).toBe('TEXTAREA');
    await page.keyboard.type('Identity checked against the licence record.');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: 'Inventory request' }).waitFor();
    // Verified at filing: the page follows the job until it answers.
    await page.getByRole('heading', { name: 'Inventory', exact: true }).waitFor();
    const answer = await page
      .locator('section')
      .filter({ hasText: 'Residency policy' })
      .evaluate((e) => e.textContent ?? '');
    expect(answer).toContain('Telemetry events');
    expect(answer).toContain('Submissions (with file names)');
    expect(answer).toContain(`Site ${installation.site}`);
    expect(answer).not.toContain('{');
    await expectAccessible(page, 'privacy request with inventory');
    await expectFitsPhone(page, 'privacy request with inventory');
    // The refused filing is the only thing the browser reported.
    await page.goto(`${page.url()}/receipt`);
    await page.getByText('This request has no receipt').waitFor();
    expect(problems).toEqual([REFUSED]);
  });

  it('extends from the keyboard (a refused length shows the problem) and rejects with a Data Rights Protocol reason', async () => {
    const installation = await installationWithData('IT');
    const { id } = await fileByApi('erasure', installation.id, officer);
    const { page, problems } = await openDesk();
    await page.goto(`/console/privacy/requests/${id}`);
    await page.getByRole('heading', { name: 'Erasure request' }).waitFor();
    await expectAccessible(page, 'privacy request (received)');
    await expectFitsPhone(page, 'privacy request (received)');

    await tabTo(page, 'More days');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('90');
    await tabTo(page, 'Why more time is needed');
    await page.keyboard.type('The user sent a second address.');
    await tabTo(page, 'Extend');
    await page.keyboard.press('Enter');
    await page.locator('.problem').first().waitFor();
    expect(await page.locator('.field-invalid label').first().textContent()).toBe('More days');
    expect(await text(page, '.problem')).toContain('days');
    await tabTo(page, 'More days');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('14');
    await page.keyboard.press('Enter');
    await expect.poll(() => text(page, 'dl.facts')).toContain('14 days on 2026-03-02');

    await page.getByLabel('Reason', { exact: true }).selectOption('outside_jurisdiction');
    await page.getByLabel('Note to the user').fill('The installation is outside our jurisdiction.');
    await page.getByRole('button', { name: 'Reject' }).click();
    await expect.poll(() => text(page, 'dl.facts')).toContain('outside_jurisdiction');
    expect(await text(page, 'dl.facts')).toContain('Rejected');
    expect(await page.getByRole('button', { name: 'Verify' }).count()).toBe(0);
    const stored = await c.h.app.inject({ url: `/v1/privacy-requests/${id}`, headers: bearer(officer) });
    expect(stored.json()).toMatchObject({ state: 'rejected', reason: 'outside_jurisdiction' });
    expect(stored.json().extensions).toEqual([expect.objectContaining({ days: 14 })]);
    expect(problems).toEqual([REFUSED]);
  });

  it('downloads the export of an export request', async () => {
    const installation = await installationWithData('DE');
    const { id } = await fileByApi('export', installation.id, officer, 'Checked by phone.');
    await c.h.glasshouse.privacyWorker.idle();
    const { page, problems } = await openDesk();
    await page.goto(`/console/privacy/requests/${id}`);
    await page.getByRole('button', { name: 'Download export' }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download export' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`export-${id}.zip`);
    expect(problems).toEqual([]);
  });

  it('takes an erasure from filing to its receipt, verified from the keyboard, the proof checked in the browser', async () => {
    const installation = await installationWithData('DE');
    const { page, problems } = await openDesk();
    await page.getByRole('link', { name: 'New request' }).click();
    await page.getByLabel('Type').selectOption('erasure');
    await page.getByLabel('Installation').fill(installation.id);
    await page.getByRole('button', { name: 'File the request' }).click();
    await page.getByRole('heading', { name: 'Erasure request filed' }).waitFor();
    expect((await text(page, '.secret')).length).toBeGreaterThan(20);
    await page.getByRole('link', { name: 'Open the request' }).click();
    await page.getByRole('heading', { name: 'Erasure request' }).waitFor();
    expect(await text(page, 'dl.facts .badge')).toBe('Received');

    await tabTo(page, 'How the identity was checked');
    await page.keyboard.type('Signed form and ID card.');
    await tabTo(page, 'Verify');
    await page.keyboard.press('Enter');
    // The page asks again while the job works, until the erasure is completed.
    await page.getByRole('link', { name: 'Open the receipt' }).waitFor({ timeout: 60_000 });
    expect(await text(page, 'dl.facts')).toContain('Completed');
    expect(await text(page, 'dl.facts')).toContain('erased');
    await expectAccessible(page, 'privacy request (completed erasure)');
    const verified = await c.h.app.inject({
      url: `/v1/privacy-requests/${erasureId(page)}`,
      headers: bearer(officer),
    });
    expect(verified.json(), verified.body).toMatchObject({ state: 'completed' });
    expect(verified.json().verificationNote).toBe('Signed form and ID card.');

    await page.getByRole('link', { name: 'Open the receipt' }).click();
    await page.getByRole('heading', { name: 'Erasure receipt' }).waitFor();
    await page.getByText('Inclusion proof verified in this browser').waitFor();
    const body = await text(page, 'main');
    expect(body).toContain(`Site ${installation.site}`);
    expect(body).toContain('telemetry events');
    expect(body).toContain('Checkpoint signature not checked');
    await page.getByLabel('Log verifier key').fill(nodeSigner(c.h.glasshouse.config, 'control').verifierKey);
    await page.getByRole('button', { name: 'Check the signature' }).click();
    await page.getByText('Checkpoint signature verified in this browser').waitFor();
    await expectAccessible(page, 'erasure receipt');
    await screenshot(page, 'privacy-receipt');
    await expectFitsPhone(page, 'erasure receipt');
    expect(problems).toEqual([]);

    // A receipt changed on the way: one proof hash altered, and the page says it does not add up.
    const receiptUrl = page.url();
    const tampered = await openDesk();
    await tampered.page.route('**/v1/privacy-requests/*/receipt', async (route) => {
      const response = await route.fetch();
      const json = await response.json();
      const hash = Buffer.from(json.answer.log.proof[0], 'base64');
      hash[0] = hash[0]! ^ 0xff;
      json.answer.log.proof[0] = hash.toString('base64');
      await route.fulfill({ response, json });
    });
    await tampered.page.goto(receiptUrl);
    await tampered.page.getByText('The inclusion proof does not verify').waitFor();
    expect(await text(tampered.page, '.problem')).toContain("the checkpoint's root is");
    expect(await tampered.page.getByText('Inclusion proof verified in this browser').count()).toBe(0);
    expect(tampered.problems).toEqual([]);
  });
});
