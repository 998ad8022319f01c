import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  injectSender,
  registerInstallation,
  type Send,
  sendEvents,
  uploadSample,
} from '../support/relocation.js';
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
 * The administrators' desk: the residency policy in time and a new version, a relocation
 * planned, started and watched to its end, the residency audit, and tokens made, used and
 * revoked, all through the browser.
 */

let c: ConsoleHarness;
let send: Send;
let admin: string;
let product: string;

beforeAll(async () => {
  if (consoleUnavailable) return;
  c = await startConsole({ stats: { flushIntervalMs: 100, minGroupSize: 1 } });
  send = injectSender(c.h.app);
  admin = await c.h.token('admin');
  product = await c.h.token('product');
});
afterAll(async () => {
  if (consoleUnavailable) return;
  await c?.close();
});

async function openAs(token: string, viewport?: { width: number; height: number }) {
  const opened = await c.open(viewport);
  await signIn(opened.page, token);
  return opened;
}

async function navigate(page: Page, label: string) {
  await page
    .getByRole('navigation', { name: 'Desks' })
    .getByRole('link', { name: label, exact: true })
    .click();
  await page.getByRole('heading', { level: 1, name: label }).waitFor();
}

/** The site the country table shows for a country. */
async function siteInTable(page: Page, date: string, country: string) {
  const table = page.getByRole('table', { name: `Country to site on ${date}` });
  await table.waitFor();
  return table
    .locator('tr')
    .filter({ has: page.locator(`td:text-is("${country}")`) })
    .locator('td')
    .nth(1)
    .textContent();
}

/** The browser reports every 4xx answer on its console: exactly the refusals the test asked for. */
function expectOnlyRefusals(problems: string[], count: number) {
  expect(problems).toEqual(Array.from({ length: count }, () => refusalReport(400)));
}

const textOf = async (page: Page, selector: string) =>
  ((await page.locator(selector).textContent()) ?? '').trim();

describe.skipIf(consoleUnavailable)('the admin desk', () => {
  it('shows the policy as versions in time and where a country goes at two dates', async () => {
    const { page, problems } = await openAs(admin);
    await navigate(page, 'Residency policy');
    await page.getByRole('heading', { name: 'Versions' }).waitFor();
    expect(await page.locator('.timeline > li').count()).toBe(5);
    expect(await page.locator('.timeline > li').first().textContent()).toContain('in force');

    // Before Europe moved to Zurich, and after (the example configuration's versions 1 and 2).
    await page.getByLabel('At the start of (UTC)').fill('2018-01-01');
    expect(await siteInTable(page, '2018-01-01', 'DE')).toBe('moscow');
    expect(await siteInTable(page, '2018-01-01', 'BR')).toBe('moscow');
    await page.getByLabel('At the start of (UTC)').fill('2019-01-01');
    expect(await siteInTable(page, '2019-01-01', 'DE')).toBe('zurich');
    expect(await siteInTable(page, '2019-01-01', 'BR')).toBe('moscow');
    expect(await page.getByRole('status').filter({ hasText: 'Version 2 in force' }).count()).toBe(1);
    // Every row as the server resolves it.
    const rows = await page
      .getByRole('table', { name: 'Country to site on 2019-01-01' })
      .locator('tbody tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)));
    expect(rows.length).toBeGreaterThan(60);
    for (const [country, site] of rows) {
      expect((await c.h.glasshouse.policy.resolve(country!, new Date('2019-01-01T00:00:00Z'))).site).toBe(
        site,
      );
    }

    // A country no region holds, asked of the server, from the keyboard.
    await page.getByLabel('Country code').fill('pr');
    await page.getByLabel('On (UTC)').fill('2023-01-01');
    await page.getByLabel('On (UTC)').press('Enter');
    await page.getByText('PR → moscow').waitFor();
    await expectAccessible(page, 'policy');
    await page.evaluate('window.scrollTo(0, 0)');
    await screenshot(page, 'admin-policy');
    expect(problems).toEqual([]);
  });

  it('adds a policy version from the keyboard, and shows a refused one with the field it is about', async () => {
    const { page, problems } = await openAs(admin);
    await navigate(page, 'Residency policy');
    // The form starts from the latest version; one in the past is refused.
    expect(await page.getByLabel('Countries, row 1').inputValue()).toBe('GB');
    await page.getByLabel('Effective from (UTC)').fill('2000-01-01T00:00');
    await page.getByRole('button', { name: 'Add version' }).click();
    await page.getByRole('alert').waitFor();
    expect(await page.getByRole('alert').textContent()).toContain('EFFECTIVE_IN_PAST');
    expect(await page.getByLabel('Effective from (UTC)').getAttribute('aria-invalid')).toBe('true');
    expect(await textOf(page, '.field-invalid .field-error')).toMatch(/before now/);

    // A country code that is none: the message stands beside the row's countries.
    await page.getByLabel('Effective from (UTC)').fill('');
    await page.getByLabel('Countries, row 1').fill('GB XQ');
    await page.getByRole('button', { name: 'Add version' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('UNKNOWN_COUNTRY');
    expect(await page.getByLabel('Countries, row 1').getAttribute('aria-invalid')).toBe('true');
    await expectAccessible(page, 'policy with a refused version');

    // Puerto Rico to Zurich, effective now, typed and sent from the keyboard.
    await tabTo(page, 'Countries, row 1');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('GB PR');
    await tabTo(page, 'Add version');
    await page.keyboard.press('Enter');
    await page.getByText('Version 6 added').waitFor();
    await page.locator('.timeline > li').first().filter({ hasText: 'Version 6' }).waitFor();
    expect(await page.locator('.timeline > li').first().textContent()).toContain('GB, PR → zurich');
    expect((await c.h.glasshouse.policy.resolve('PR')).site).toBe('zurich');
    expectOnlyRefusals(problems, 2);
  });

  it('works at phone width: the policy', async () => {
    const { page, problems } = await openAs(admin, PHONE);
    await page.goto('/console/policy');
    await page.getByRole('heading', { name: 'Versions' }).waitFor();
    await expectFitsPhone(page, 'policy');
    expect(problems).toEqual([]);
  });

  it('plans a relocation, starts it from the keyboard, watches it to the end, and the audit is clean', async () => {
    // Brazil's data at Zurich (Latin America goes there), then a version sends it to Moscow.
    const installation = await registerInstallation(send, product, 'BR');
    expect(installation.site).toBe('zurich');
    for (let i = 0; i < 3; i++) {
      await uploadSample(send, product, installation.id, randomBytes(20_000 + i), `file-${i}.exe`);
    }
    await sendEvents(send, product, installation.id, 5, new Date());
    const moved = await send('POST', '/v1/policy/versions', admin, {
      default: 'moscow',
      assign: [
        { regions: ['EU', 'NORTH_AMERICA', 'APAC', 'MIDDLE_EAST'], countries: ['GB', 'PR'], site: 'zurich' },
      ],
    });
    expect(moved.status).toBe(201);

    const { page, problems } = await openAs(admin);
    await navigate(page, 'Relocations');
    await page.getByText('None yet.').waitFor();
    await page.getByRole('button', { name: 'Plan relocation' }).focus();
    await page.keyboard.press('Enter');
    const plan = page.getByRole('table', { name: /Relocation plan/ });
    await plan.waitFor();
    const row = plan.getByRole('row', { name: /zurich → moscow/ });
    expect(await row.locator('td').allTextContents()).toEqual([
      '1',
      '3',
      '3',
      expect.stringMatching(/KiB/),
      '5',
    ]);
    await expectAccessible(page, 'relocation plan');

    await page.getByLabel('Batch size').fill('1');
    await page.getByLabel('Batch size').press('Enter');
    await page.waitForURL(/\/console\/relocations\/[0-9a-f-]{36}$/);
    await expect.poll(() => textOf(page, '.admin-state .badge'), { timeout: 60_000 }).toBe('done');
    expect(
      await page.getByText('Installations').locator('xpath=following-sibling::dd[1]').textContent(),
    ).toBe('1 of 1');
    const records = page.getByRole('progressbar', { name: /Records/ });
    expect(await records.getAttribute('value')).toBe(await records.getAttribute('max'));
    expect(await page.getByRole('button', { name: 'Pause' }).count()).toBe(0);
    await expectAccessible(page, 'relocation done');
    await screenshot(page, 'admin-relocation');
    expect((await c.h.glasshouse.registry.get(installation.id)).site).toBe('moscow');

    await page.getByRole('link', { name: 'All relocations' }).click();
    await page.getByRole('table', { name: 'Relocations, newest first' }).getByText('done').waitFor();

    await navigate(page, 'Residency audit');
    await page.getByRole('button', { name: 'Run audit' }).click();
    await page.getByText(/No violation among \d+ installations/).waitFor();
    await expectAccessible(page, 'audit');
    expect(problems).toEqual([]);
  });

  it('pauses, resumes and cancels a relocation from the keyboard at 390 px, and the audit lists what the cancel left', async () => {
    // Mexico at Moscow now (Latin America went there); a version sends it back to Zurich.
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const installation = await registerInstallation(send, product, 'MX');
      expect(installation.site).toBe('moscow');
      await uploadSample(send, product, installation.id, randomBytes(300_000), `big-${i}.exe`);
      ids.push(installation.id);
    }
    const back = await send('POST', '/v1/policy/versions', admin, {
      default: 'moscow',
      assign: [{ regions: ['EU', 'NORTH_AMERICA', 'APAC'], countries: ['GB', 'PR', 'MX'], site: 'zurich' }],
    });
    expect(back.status).toBe(201);

    const { page, problems } = await openAs(admin, PHONE);
    await page.goto('/console/relocations');
    await page.getByRole('heading', { name: 'Relocations so far' }).waitFor();
    await expectFitsPhone(page, 'relocations');
    // Slow enough to act on: 0.1 MB/s for 900 kB.
    await page.getByLabel('Batch size').fill('1');
    await page.getByLabel('Rate limit (MB/s)').fill('0.1');
    await page.getByRole('button', { name: 'Start relocation' }).click();
    await page.waitForURL(/\/console\/relocations\/[0-9a-f-]{36}$/);
    await page.getByRole('button', { name: 'Pause' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => textOf(page, '.admin-state .badge'), { timeout: 30_000 }).toBe('paused');
    // The button is gone with the state it belonged to; the focus is on the state now.
    expect(await page.evaluate(`document.activeElement?.className`)).toBe('admin-state');
    await tabTo(page, 'Resume');
    await page.keyboard.press('Enter');
    await expect.poll(() => textOf(page, '.admin-state .badge')).toBe('running');
    await tabTo(page, 'Cancel');
    await page.keyboard.press('Enter');
    await expect.poll(() => textOf(page, '.admin-state .badge'), { timeout: 30_000 }).toBe('cancelled');
    const relocation = /\/relocations\/([0-9a-f-]{36})$/.exec(page.url())![1]!;
    const cancelled = await send('GET', `/v1/relocations/${relocation}`, admin);
    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({ state: 'cancelled' });
    await expectFitsPhone(page, 'relocation cancelled');

    // Some Mexican installations stayed at Moscow: the audit names them.
    const staying = [];
    for (const id of ids) if ((await c.h.glasshouse.registry.get(id)).site === 'moscow') staying.push(id);
    expect(staying.length).toBeGreaterThan(0);
    await page.goto('/console/audit');
    await page.getByRole('button', { name: 'Run audit' }).click();
    const violations = page.getByRole('table', { name: 'Violations' });
    await violations.waitFor();
    for (const id of staying) {
      expect(await violations.getByRole('row').filter({ hasText: id }).textContent()).toContain(
        'NOT_WHERE_POLICY_SAYS',
      );
    }
    await expectFitsPhone(page, 'audit with violations');
    expect(problems).toEqual([]);
  });

  it('creates a token from the keyboard whose secret works, shown once, and revokes it after a confirmation', async () => {
    const { page, problems } = await openAs(admin);
    await navigate(page, 'Tokens');
    await page.getByRole('table', { name: 'Tokens, oldest first' }).waitFor();
    await expectAccessible(page, 'tokens');

    // A legal token names its holder: refused without one.
    await page.getByLabel('Role').selectOption('legal');
    await page.getByRole('button', { name: 'Create token' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('INVALID_TOKEN_REQUEST');
    expect(await page.getByLabel('Person').getAttribute('aria-invalid')).toBe('true');

    await tabTo(page, 'Person');
    await page.keyboard.type('Grace Hopper');
    await tabTo(page, 'Expires');
    await page.keyboard.type('90d');
    await tabTo(page, 'Label');
    await page.keyboard.type('console test');
    await tabTo(page, 'zurich');
    await page.keyboard.press('Space');
    await tabTo(page, 'Create token');
    await page.keyboard.press('Enter');
    await page.locator('.admin-secret').waitFor();
    const secret = (await page.locator('.admin-secret').textContent()) ?? '';
    expect(await page.getByText('it will not be shown again').count()).toBe(1);
    expect(await page.getByRole('button', { name: 'Copy secret' }).count()).toBe(1);
    const id = (await page.locator('.notice code').first().textContent()) ?? '';
    await expectAccessible(page, 'token created');
    await screenshot(page, 'admin-tokens');
    await expectFitsPhone(page, 'token created');

    const session = await fetch(`${c.origin}/v1/session`, { headers: { authorization: `Bearer ${secret}` } });
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({
      role: 'legal',
      sites: ['zurich'],
      person: 'Grace Hopper',
      label: 'console test',
    });

    const row = page.getByRole('row').filter({ hasText: id });
    expect(await row.textContent()).toContain('Grace Hopper');
    expect(await row.locator('.badge').textContent()).toBe('active');
    // Revoke asks first; keep backs out, and the keyboard confirms.
    await page.getByRole('button', { name: `Revoke token ${id}` }).click();
    await page.getByRole('button', { name: `Keep token ${id}` }).click();
    await page.getByRole('button', { name: `Revoke token ${id}` }).focus();
    await page.keyboard.press('Enter');
    // The confirmation takes the focus.
    await expect
      .poll(() => page.evaluate(`document.activeElement?.getAttribute('aria-label')`))
      .toBe(`Confirm revoking token ${id}`);
    await page.keyboard.press('Enter');
    await expect.poll(() => row.locator('.badge').textContent()).toBe('revoked');
    const refused = await fetch(`${c.origin}/v1/session`, { headers: { authorization: `Bearer ${secret}` } });
    expect(refused.status).toBe(401);
    expectOnlyRefusals(problems, 1);
  });

  it('shows an admin of some sites the policy and the audit, not relocations or tokens', async () => {
    const { page, problems } = await openAs(await c.h.token('admin', ['zurich']));
    const links = await page.getByRole('navigation', { name: 'Desks' }).getByRole('link').allInnerTexts();
    expect(links).toEqual(expect.arrayContaining(['Residency policy', 'Residency audit']));
    expect(links).not.toContain('Relocations');
    expect(links).not.toContain('Tokens');
    await navigate(page, 'Residency policy');
    await page.getByText('Only an admin of every site adds policy versions.').waitFor();
    expect(await page.getByRole('button', { name: 'Add version' }).count()).toBe(0);
    await expectAccessible(page, 'policy for an admin of some sites');

    const auditor = await openAs(await c.h.token('auditor'));
    const auditorLinks = await auditor.page
      .getByRole('navigation', { name: 'Desks' })
      .getByRole('link')
      .allInnerTexts();
    expect(auditorLinks).toContain('Residency audit');
    expect(auditorLinks).not.toContain('Residency policy');
    expect(problems).toEqual([]);
  });
});
