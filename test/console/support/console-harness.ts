import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { expect } from 'vitest';
import { CONSOLE_DIR } from '../../../src/http/console-routes.js';
import { CHROMIUM, launchChromium } from '../../support/chromium.js';
import { type Harness, startHarness } from '../../support/harness.js';

/*
 * The console through the real server in Debian's Chromium: a whole Glasshouse on a temporary
 * data directory, listening on 127.0.0.1, and a browser whose every page records what went
 * wrong (console errors, CSP violations, failed requests, requests to another origin).
 */

/** Locally, without the browser or the built console, a suite is skipped; under CI it fails. */
export const consoleUnavailable =
  !process.env.CI && (!existsSync(CHROMIUM) || !existsSync(join(CONSOLE_DIR, 'index.html')));

export const DESKTOP = { width: 1280, height: 900 } as const;
export const PHONE = { width: 390, height: 844 } as const;

export interface ConsolePage {
  readonly page: Page;
  readonly context: BrowserContext;
  /** Everything the page reported as going wrong; a test ends by expecting it empty. */
  readonly problems: string[];
}

export interface ConsoleHarness {
  readonly h: Harness;
  /** `http://127.0.0.1:PORT` */
  readonly origin: string;
  readonly browser: Browser;
  /** A new browser context (its own sessionStorage: a second person) at `viewport`. */
  open(viewport?: { width: number; height: number }): Promise<ConsolePage>;
  close(): Promise<void>;
}

export async function startConsole(
  options: Parameters<typeof startHarness>[0] = {},
): Promise<ConsoleHarness> {
  const h = await startHarness(options);
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  const address = h.app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no address');
  const origin = `http://127.0.0.1:${address.port}`;
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  return {
    h,
    origin,
    browser,
    async open(viewport = DESKTOP) {
      const context = await browser.newContext({ viewport, baseURL: origin, acceptDownloads: true });
      contexts.push(context);
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(`console: ${message.text()}`);
      });
      page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
      page.on('request', (request) => {
        const url = request.url();
        if (!url.startsWith(origin) && !url.startsWith('blob:') && !url.startsWith('data:')) {
          problems.push(`request to another origin: ${url}`);
        }
      });
      return { page, context, problems };
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => undefined);
      await browser.close();
      await h.close();
    },
  };
}

/** How Chromium reports on the console an answer of `status` that the page asked for. */
export function refusalReport(status: 400 | 404 | 409): string {
  const reason = { 400: 'Bad Request', 404: 'Not Found', 409: 'Conflict' }[status];
  return `console: Failed to load resource: the server responded with a status of ${status} (${reason})`;
}

/** The problems a page reported, less the refusals of `statuses` a test provoked on purpose. */
export function unexpectedProblems(
  problems: readonly string[],
  statuses: readonly (400 | 404 | 409)[],
): string[] {
  const expected = new Set(statuses.map(refusalReport));
  return problems.filter((p) => !expected.has(p));
}

/** Signs in through the form, as a person would, and waits for the signed-in navigation. */
export async function signIn(page: Page, token: string): Promise<void> {
  await page.goto('/console/');
  await page.getByLabel('Token', { exact: true }).fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  readonly id: string;
  readonly impact: string | null;
  readonly help: string;
  readonly nodes: readonly { readonly target: readonly string[] }[];
}

/**
 * axe-core over the page as it is now: no serious or critical violation. axe is evaluated
 * through the browser's debugging protocol, which the page's own CSP does not govern, so
 * the policy under test stays as strict as it is served.
 */
export async function expectAccessible(page: Page, what: string): Promise<void> {
  await page.evaluate(AXE_SOURCE);
  // A string, evaluated in the page: this file is compiled without the DOM's types.
  const violations = (await page.evaluate(`axe.run(document, { resultTypes: ['violations'] }).then((result) =>
    result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) })))`)) as AxeViolation[];
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(
    serious.map(
      (v) =>
        `${what}: ${v.id} (${v.impact}) ${v.help} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`,
    ),
  ).toEqual([]);
}

/**
 * A screenshot of a page for `docs/console.md`: written under `docs/console/` when
 * `GLASSHOUSE_SCREENSHOTS=1` (`GLASSHOUSE_SCREENSHOTS=1 npm run test:console`), otherwise to a
 * temporary folder, so an ordinary run leaves the working tree as it was.
 */
export async function screenshot(page: Page, name: string): Promise<void> {
  const dir =
    process.env.GLASSHOUSE_SCREENSHOTS === '1'
      ? join(process.cwd(), 'docs', 'console')
      : join(tmpdir(), 'glasshouse-console-shots');
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false });
}

/**
 * What "works at 390 pixels wide" means, checked on the page as it is now, resized to `PHONE`
 * for the check and back to its own size after: the document does not scroll sideways; every
 * control of the header and of the main content (link, button, field) lies within the screen,
 * or inside a region that scrolls sideways on its own (a wide table); and axe-core finds no
 * serious or critical violation at that width.
 */
export async function expectFitsPhone(page: Page, what: string): Promise<void> {
  const before = page.viewportSize();
  await page.setViewportSize(PHONE);
  try {
    const overflow = await page.evaluate(
      'document.documentElement.scrollWidth - document.documentElement.clientWidth',
    );
    expect(overflow, `${what}: the page scrolls sideways at 390 px`).toBeLessThanOrEqual(0);
    // A string, evaluated in the page: this file is compiled without the DOM's types.
    const offScreen = (await page.evaluate(`(() => {
      const width = document.documentElement.clientWidth;
      const inScroller = (element) => {
        for (let up = element.parentElement; up !== null; up = up.parentElement) {
          const x = getComputedStyle(up).overflowX;
          if (x === 'auto' || x === 'scroll') return true;
        }
        return false;
      };
      const controls = document.querySelectorAll(
        'header a[href], header button, main a[href], main button, main input, main select, main textarea, main summary',
      );
      const out = [];
      for (const element of controls) {
        const box = element.getBoundingClientRect();
        if (box.width === 0 && box.height === 0) continue;
        if (getComputedStyle(element).visibility === 'hidden' || inScroller(element)) continue;
        if (box.left < -0.5 || box.right > width + 0.5) {
          const name = (element.getAttribute('aria-label') || element.textContent || element.getAttribute('name') || element.tagName).trim();
          out.push(name + ' spans ' + Math.round(box.left) + ' to ' + Math.round(box.right) + ' px');
        }
      }
      return out;
    })()`)) as string[];
    expect(offScreen, `${what}: controls off the screen at 390 px`).toEqual([]);
    await expectAccessible(page, `${what} at 390 px`);
  } finally {
    if (before !== null) await page.setViewportSize(before);
  }
}

/**
 * Presses Tab until the focused control is named `name` (its label, or its text), as a person
 * with a keyboard moves to it; fails if a whole round of the page never reaches it.
 */
export async function tabTo(page: Page, name: string): Promise<void> {
  for (let i = 0; i < 80; i++) {
    await page.keyboard.press('Tab');
    const focused = (await page.evaluate(`(() => {
      const element = document.activeElement;
      if (element === null) return '';
      const label = element.labels && element.labels[0];
      return ((label ? label.textContent : element.getAttribute('aria-label') || element.textContent) || '').trim();
    })()`)) as string;
    if (focused === name) return;
  }
  throw new Error(`Tab never reached ${name}`);
}

/** Every keyboard-reachable control has a visible name, and Tab moves through them in order. */
export async function tabStops(page: Page, count: number): Promise<string[]> {
  const names: string[] = [];
  await page.locator('body').focus();
  for (let i = 0; i < count; i++) {
    await page.keyboard.press('Tab');
    names.push(
      (await page.evaluate(`(() => {
        const element = document.activeElement;
        if (element === null) return '';
        return (element.getAttribute('aria-label') ?? element.textContent ?? element.getAttribute('name') ?? '').trim();
      })()`)) as string,
    );
  }
  return names;
}
