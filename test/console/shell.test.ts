import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONSOLE_CSP } from '../../src/http/console-routes.js';
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
 * The console's shell: served by the server itself under a strict policy, signed in with a
 * token kept in the tab only, a navigation that shows what the token's role and sites allow,
 * and API errors said as the problem document says them.
 */

let c: ConsoleHarness;

beforeAll(async () => {
  if (consoleUnavailable) return;
  c = await startConsole();
});
afterAll(async () => {
  if (consoleUnavailable) return;
  await c?.close();
});

describe.skipIf(consoleUnavailable)('the console shell', () => {
  it('is served at /console/ with a strict Content-Security-Policy, and / leads to it', async () => {
    const root = await fetch(`${c.origin}/`, { redirect: 'manual' });
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/console/');

    for (const path of ['/console/', '/console/legal/requests/some-id']) {
      const page = await fetch(`${c.origin}${path}`);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-security-policy')).toBe(CONSOLE_CSP);
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      const html = await page.text();
      expect(html).toContain('<div id="root">');
      // Nothing inline: every script is a file of this origin.
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
      expect(html).not.toMatch(/(src|href)="(https?:)?\/\//);
    }
    const html = await (await fetch(`${c.origin}/console/`)).text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const asset = await fetch(`${c.origin}${script}`);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(asset.headers.get('content-type')).toContain('javascript');
    // The API's own routes are untouched by the console's fallback.
    expect((await fetch(`${c.origin}/v1/nothing`)).status).toBe(404);
  });

  it('signs in with a token kept in sessionStorage only, and signs out forgetting it', async () => {
    const token = await c.h.token('analyst', ['zurich']);
    const { page, problems } = await c.open();
    await page.goto('/console/');
    await expectAccessible(page, 'sign in');
    await screenshot(page, 'sign-in');
    await signIn(page, token);
    await expect.poll(() => page.locator('.whoami').textContent()).toContain('analyst');
    expect(await page.locator('.whoami').textContent()).toContain('zurich');
    expect(await page.evaluate(`sessionStorage.getItem('glasshouse.token')`)).toBe(token);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect((await page.context().cookies()).length).toBe(0);

    // A reload keeps the tab's session.
    await page.reload();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Token', { exact: true }).waitFor();
    expect(await page.evaluate(`sessionStorage.getItem('glasshouse.token')`)).toBeNull();
    expect(problems).toEqual([]);
  });

  it('shows a refused token as the problem document says it, and stays signed out', async () => {
    const { page } = await c.open();
    await page.goto('/console/');
    await page.getByLabel('Token', { exact: true }).fill('gh_not_a_real_token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/Unauthorized/);
    expect(await alert.textContent()).toMatch(/UNAUTHENTICATED|TOKEN/);
    expect(await page.evaluate(`sessionStorage.getItem('glasshouse.token')`)).toBeNull();
  });

  it("shows each role only its own desks, and a site-scoped admin none of the deployment's", async () => {
    const navOf = async (role: Parameters<typeof c.h.token>[0], sites?: string[]) => {
      const { page } = await c.open();
      await signIn(page, await c.h.token(role, sites));
      const links = await page.getByRole('navigation', { name: 'Desks' }).getByRole('link').allInnerTexts();
      await page.context().close();
      return links;
    };
    const everyone = await navOf('product');
    const legal = await navOf('legal');
    const admin = await navOf('admin');
    const zurichAdmin = await navOf('admin', ['zurich']);
    // Every role sees the public pages; each officer sees more, and only their own.
    for (const links of [legal, admin]) expect(links).toEqual(expect.arrayContaining(everyone));
    expect(legal.length).toBeGreaterThan(everyone.length);
    expect(legal).not.toEqual(admin);
    expect(zurichAdmin.length).toBeLessThan(admin.length);
  });

  it('works at 390 pixels wide: signing in and the home page', async () => {
    const { page, problems } = await c.open(PHONE);
    await page.goto('/console/');
    await page.getByLabel('Token', { exact: true }).waitFor();
    await expectFitsPhone(page, 'sign in');
    await signIn(page, await c.h.token('admin'));
    await expectFitsPhone(page, 'home');
    expect(problems).toEqual([]);
  });
});
