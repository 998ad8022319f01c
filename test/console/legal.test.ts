import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bearer } from '../support/harness.js';
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
 * The legal officers' desk in the browser: the queue by state with counts and ages, registering
 * a request (with the mouse and with the keyboard only), the four eyes of two officers in two
 * browsers, the package password shown once and the package it opens, and the history import.
 * Both clocks are pinned: the server's (what "today" is for the API) and the browser's (ages).
 */

const NOW = new Date('2026-03-10T12:00:00Z');
let c: ConsoleHarness;

beforeAll(async () => {
  if (consoleUnavailable) return;
  c = await startConsole({ now: () => NOW, stats: { minGroupSize: 1 } });
});
afterAll(async () => {
  if (consoleUnavailable) return;
  await c?.close();
});

/** A new officer (a new person, a new browser context) signed in at the desk's queue. */
async function officer(viewport?: { width: number; height: number }) {
  const token = await c.h.token('legal');
  const opened = await c.open(viewport);
  await opened.page.clock.setFixedTime(NOW);
  await signIn(opened.page, token);
  await opened.page
    .getByRole('navigation', { name: 'Desks' })
    .getByRole('link', { name: 'Legal requests' })
    .click();
  await opened.page.getByRole('heading', { level: 1, name: 'Legal requests' }).waitFor();
  return { ...opened, token };
}

async function createByApi(token: string, body: Record<string, unknown>) {
  const response = await c.h.app.inject({
    method: 'POST',
    url: '/v1/legal-requests',
    headers: bearer(token),
    payload: {
      requesterCountry: 'DE',
      authorityKind: 'law_enforcement',
      authority: 'Bundeskriminalamt',
      legalBasis: '§ 100a StPO',
      category: 'technical_expertise',
      scope: { threats: ['Trojan.Win32.Agent'] },
      ...body,
    },
  });
  expect(response.statusCode, response.body).toBe(201);
  return response.json<{ id: string }>();
}

async function countOf(page: Page, state: string): Promise<string> {
  const link = page.getByRole('navigation', { name: 'Requests by state' }).getByRole('link', { name: state });
  return (await link.locator('.legal-count').textContent()) ?? '';
}

describe.skipIf(consoleUnavailable)('the legal desk', () => {
  // First in the file: the counts are of a desk that holds only these requests.
  it('shows the queue by state with counts and the age of each request, also at 390 px', async () => {
    const seed = await c.h.token('legal');
    await createByApi(seed, { receivedAt: '2026-03-01', dueAt: '2026-03-05', reference: 'AZ old' });
    await createByApi(seed, { receivedAt: '2026-03-07', dueAt: '2026-04-07', reference: 'AZ new' });
    const gone = await createByApi(seed, { receivedAt: '2026-03-01', reference: 'AZ gone' });
    const withdrawn = await c.h.app.inject({
      method: 'POST',
      url: `/v1/legal-requests/${gone.id}/actions`,
      headers: bearer(seed),
      payload: { action: 'withdraw' },
    });
    expect(withdrawn.statusCode, withdrawn.body).toBe(200);

    const { page, problems } = await officer();
    await expect.poll(() => countOf(page, 'Received')).toBe('2');
    expect(await countOf(page, 'Withdrawn')).toBe('1');
    expect(await countOf(page, 'In verification')).toBe('0');
    const rows = page.locator('tbody tr');
    await expect.poll(() => rows.count()).toBe(2);
    // Oldest first; ages counted from the received date to the (pinned) present.
    const first = await rows.nth(0).locator('td').allInnerTexts();
    expect(first.slice(0, 5)).toEqual([
      'AZ old',
      '2026-03-01',
      '9 d',
      expect.stringContaining('2026-03-05'),
      'DE',
    ]);
    expect(first[3]).toContain('overdue');
    expect(await rows.nth(0).getAttribute('class')).toBe('overdue');
    const second = await rows.nth(1).locator('td').allInnerTexts();
    expect(second.slice(0, 4)).toEqual(['AZ new', '2026-03-07', '3 d', '2026-04-07']);
    await expectAccessible(page, 'legal queue');
    await screenshot(page, 'legal-queue');

    await page.getByRole('link', { name: /Withdrawn/ }).click();
    await page.getByRole('heading', { level: 2, name: 'Withdrawn' }).waitFor();
    await expect.poll(() => rows.count()).toBe(1);
    expect((await rows.nth(0).locator('td').allInnerTexts()).slice(0, 4)).toEqual([
      'AZ gone',
      '2026-03-01',
      '9 d',
      '2026-03-10',
    ]);
    expect(problems).toEqual([]);

    const phone = await officer(PHONE);
    await expect.poll(() => countOf(phone.page, 'Received')).toBe('2');
    await expectFitsPhone(phone.page, 'legal queue');
    expect(phone.problems).toEqual([]);
  });

  it('registers, verifies with four eyes from the keyboard, fulfils, and the package opens with the password shown once', async () => {
    const hash = randomBytes(16).toString('hex');
    const analyst = await c.h.token('analyst');
    const verdict = await c.h.app.inject({
      method: 'PUT',
      url: `/v1/verdicts/${hash}`,
      headers: bearer(analyst),
      payload: { verdict: 'malicious', threat: 'Trojan.Win32.Agent' },
    });
    expect(verdict.statusCode, verdict.body).toBe(200);

    const a = await officer();
    const b = await officer();
    const reference = `AZ ${randomBytes(3).toString('hex')}`;

    // Officer A registers the request through the form.
    await a.page.getByRole('link', { name: 'Register request' }).click();
    await a.page.getByRole('heading', { level: 1, name: 'Register request' }).waitFor();
    expect(await a.page.getByLabel('Received on').inputValue()).toBe('2026-03-10');
    await a.page.getByLabel('Requester country').fill('DE');
    await a.page.getByLabel('Authority', { exact: true }).fill('Bundeskriminalamt, Referat SO 41');
    await a.page.getByLabel('Legal basis').fill('§ 100a StPO');
    await a.page.getByLabel('Reference').fill(reference);
    await a.page.getByLabel('Hashes').fill(hash);
    await expectAccessible(a.page, 'register form');
    await a.page.getByRole('button', { name: 'Register request' }).click();
    await a.page.getByRole('heading', { level: 1, name: reference }).waitFor();
    const id = /\/requests\/([^/?#]+)$/.exec(a.page.url())![1]!;

    // Officer B opens it while it is still received.
    await b.page.goto(`/console/legal/requests/${id}`);
    await b.page.getByRole('heading', { level: 1, name: reference }).waitFor();

    await a.page.getByRole('button', { name: 'Start verification' }).click();
    await a.page.getByRole('button', { name: 'Propose verification' }).waitFor();

    // B's page is stale: the API refuses the same step, and B reads why.
    await b.page.getByRole('button', { name: 'Start verification' }).click();
    const refusal = b.page.getByRole('alert');
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('INVALID_TRANSITION');
    expect(await refusal.textContent()).toContain('in_verification');

    // Propose, confirm and fulfil from the keyboard: Tab to each control, type, Enter or Space.
    await tabTo(a.page, 'Jurisdictions');
    await a.page.keyboard.type('DE');
    await tabTo(a.page, 'Verification note');
    await a.page.keyboard.type('court order checked');
    await tabTo(a.page, 'Propose verification');
    await a.page.keyboard.press('Enter');
    await a.page.getByText('A second legal officer must confirm it').waitFor();
    expect(await a.page.getByRole('button', { name: 'Confirm verification' }).count()).toBe(0);

    await b.page.reload();
    await b.page.getByRole('button', { name: 'Confirm verification' }).waitFor();
    await tabTo(b.page, 'Confirm verification');
    await b.page.keyboard.press('Enter');
    await b.page.getByRole('button', { name: 'Fulfil' }).waitFor();
    expect(await b.page.getByRole('button', { name: 'Start verification' }).count()).toBe(0);
    await expectAccessible(b.page, 'request page');

    await tabTo(b.page, 'Fulfil');
    await b.page.keyboard.press('Space');
    const secret = b.page.locator('.secret');
    await secret.waitFor();
    const password = ((await secret.textContent()) ?? '').trim();
    expect(password.length).toBeGreaterThan(10);
    await b.page.getByRole('button', { name: 'Copy password' }).waitFor();
    await b.page.getByRole('button', { name: 'Download package' }).waitFor();
    // Only the remaining actions: a fulfilled request accepts none.
    expect(await b.page.getByRole('button', { name: 'Withdraw' }).count()).toBe(0);
    const timeline = (await b.page.locator('.timeline').textContent()) ?? '';
    for (const step of [
      'Registered',
      'Verification started',
      'Verification proposed',
      'Verification confirmed',
      'Fulfilled',
    ]) {
      expect(timeline).toContain(step);
    }
    await expectAccessible(b.page, 'request page, fulfilled');
    await screenshot(b.page, 'legal-request');
    await expectFitsPhone(b.page, 'request page, fulfilled');

    const [download] = await Promise.all([
      b.page.waitForEvent('download'),
      b.page.getByRole('button', { name: 'Download package' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe(`legal-${id}.zip`);
    const dir = mkdtempSync(join(tmpdir(), 'glasshouse-legal-'));
    try {
      const zip = join(dir, 'package.zip');
      await download.saveAs(zip);
      execFileSync('7z', ['t', `-p${password}`, zip], { stdio: 'pipe' });
      expect(() => execFileSync('7z', ['t', '-pnot-the-password', zip], { stdio: 'pipe' })).toThrow();
      execFileSync('7z', ['x', `-p${password}`, `-o${join(dir, 'out')}`, zip], { stdio: 'pipe' });
      const manifest = JSON.parse(readFileSync(join(dir, 'out', 'manifest.json'), 'utf8'));
      expect(manifest).toMatchObject({ reference });
      expect(readFileSync(join(dir, 'out', 'hashes.csv'), 'utf8')).toContain(hash);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    // The password is not to be had again: a reload shows the package, not its password.
    await b.page.reload();
    await b.page.getByRole('button', { name: 'Download package' }).waitFor();
    expect(await b.page.locator('.secret').count()).toBe(0);

    const stored = await c.h.app.inject({ url: `/v1/legal-requests/${id}`, headers: bearer(a.token) });
    expect(stored.json(), stored.body).toMatchObject({ state: 'fulfilled' });
    expect(a.problems).toEqual([]);
    expect(unexpectedProblems(b.problems, [409])).toEqual([]);
  });

  it("shows the API's message next to the field it is about", async () => {
    const { page, problems } = await officer();
    await page.getByRole('link', { name: 'Register request' }).click();
    await page.getByLabel('Requester country').fill('UK');
    await page.getByLabel('Authority', { exact: true }).fill('Metropolitan Police');
    await page.getByLabel('Legal basis').fill('IPA 2016');
    await page.getByRole('button', { name: 'Register request' }).click();
    const field = page.locator('.field-invalid');
    await field.waitFor();
    expect(await field.locator('label').textContent()).toBe('Requester country');
    expect(await field.locator('.field-error').textContent()).toContain('ISO 3166-1 alpha-2');
    expect(await page.getByLabel('Requester country').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('alert').textContent()).toContain('INVALID_LEGAL_REQUEST');
    await expectAccessible(page, 'register form with an error');
    await expectFitsPhone(page, 'register form with an error');
    expect(unexpectedProblems(problems, [400])).toEqual([]);
  });

  it('registers a request with the keyboard only', async () => {
    const { page, problems } = await officer();
    const reference = `AZ ${randomBytes(3).toString('hex')}`;
    await tabTo(page, 'Register request');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Register request' }).waitFor();
    await tabTo(page, 'Requester country');
    await page.keyboard.type('FR');
    await tabTo(page, 'Authority');
    await page.keyboard.type('Parquet de Paris');
    await tabTo(page, 'Legal basis');
    await page.keyboard.type('Art. 60-1 CPP');
    await tabTo(page, 'Reference');
    await page.keyboard.type(reference);
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: reference }).waitFor();
    expect(await page.locator('dl.facts').textContent()).toContain('Parquet de Paris');
    // And the first action from the keyboard too.
    await tabTo(page, 'Start verification');
    await page.keyboard.press('Enter');
    await page.getByRole('button', { name: 'Propose verification' }).waitFor();
    expect(problems).toEqual([]);
  });

  it('rejects with a reason and withdraws from the keyboard, offering only what each state allows', async () => {
    const seed = await c.h.token('legal');
    const toReject = await createByApi(seed, { receivedAt: '2026-03-02', reference: 'AZ reject' });
    const toWithdraw = await createByApi(seed, { receivedAt: '2026-03-02', reference: 'AZ withdraw' });
    const { page, problems } = await officer();

    await page.goto(`/console/legal/requests/${toReject.id}`);
    await page.getByRole('heading', { level: 1, name: 'AZ reject' }).waitFor();
    // Received: no proposal to make or confirm, nothing to fulfil yet.
    const offered = await page.getByRole('region', { name: 'Actions' }).getByRole('button').allInnerTexts();
    expect(offered).toEqual(['Start verification', 'Withdraw', 'Reject']);
    await expectFitsPhone(page, 'request page, received');
    // The reason chosen by typing its first letters on the closed list, as a keyboard does.
    await tabTo(page, 'Reason');
    await page.keyboard.type('Out');
    await tabTo(page, 'Rejection note');
    await page.keyboard.type('asks about a product we do not make');
    await tabTo(page, 'Reject');
    await page.keyboard.press('Enter');
    await page.getByText('reason: out of scope').waitFor();
    expect(await page.getByRole('region', { name: 'Actions' }).count()).toBe(0);
    expect(await page.locator('.timeline').textContent()).toContain('asks about a product we do not make');
    const rejected = await c.h.app.inject({
      url: `/v1/legal-requests/${toReject.id}`,
      headers: bearer(seed),
    });
    expect(rejected.json(), rejected.body).toMatchObject({ state: 'rejected', reason: 'out_of_scope' });

    await page.goto(`/console/legal/requests/${toWithdraw.id}`);
    await page.getByRole('button', { name: 'Withdraw' }).waitFor();
    await tabTo(page, 'Withdraw');
    await page.keyboard.press('Enter');
    await page.locator('.badge', { hasText: 'Withdrawn' }).waitFor();
    expect(await page.getByRole('button', { name: 'Withdraw' }).count()).toBe(0);
    const withdrawn = await c.h.app.inject({
      url: `/v1/legal-requests/${toWithdraw.id}`,
      headers: bearer(seed),
    });
    expect(withdrawn.json(), withdrawn.body).toMatchObject({ state: 'withdrawn' });
    expect(problems).toEqual([]);
  });

  it('imports history from CSV, lists bad rows by line, and imports a file again only on purpose', async () => {
    const { page, problems } = await officer();
    await page.getByRole('link', { name: 'Import history' }).click();
    await page.getByRole('heading', { level: 1, name: 'Import history' }).waitFor();
    await expectAccessible(page, 'import page');
    const header = 'received_at,requester_country,authority_kind,category,outcome,reason,closed_at';
    const bad = [
      header,
      '2021-07-05,DE,law_enforcement,technical_expertise,fulfilled,,2021-07-20',
      '2021-08-11,UK,government,user_data,rejected,no_data,2021-08-30',
      '2021-12-19,DE,government,technical_expertise,,,',
      '2021-12-20,DE,government,technical_expertise,rejected,,2021-12-30',
    ].join('\n');
    const input = page.getByLabel('CSV file');
    await input.setInputFiles({ name: 'bad.csv', mimeType: 'text/csv', buffer: Buffer.from(`${bad}\n`) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const table = page.getByRole('table', { name: 'Bad rows, by line of the file' });
    await table.waitFor();
    const lines = await table.locator('tbody tr td:first-child').allInnerTexts();
    expect(lines).toEqual(['3', '5']);
    expect(await page.getByRole('alert').textContent()).toContain('INVALID_LEGAL_HISTORY');
    await expectAccessible(page, 'import page with bad rows');

    const good = [
      header,
      '2021-07-05,DE,law_enforcement,technical_expertise,fulfilled,,2021-07-20',
      '2021-12-19,DE,government,technical_expertise,,,',
    ].join('\n');
    await input.setInputFiles({ name: 'good.csv', mimeType: 'text/csv', buffer: Buffer.from(`${good}\n`) });
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByText('Imported 2 request(s), 1 of them still open').waitFor();

    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await page.getByRole('button', { name: 'Import again' }).waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('LEGAL_HISTORY_ALREADY_IMPORTED');
    await page.getByRole('button', { name: 'Import again' }).click();
    await page.getByText('Imported 2 request(s), 1 of them still open').waitFor();
    expect(await page.getByRole('button', { name: 'Import again' }).count()).toBe(0);
    await expectFitsPhone(page, 'import page');
    expect(unexpectedProblems(problems, [400, 409])).toEqual([]);
  });
});
