/**
 * Web console benchmark: the size of the built console (its JavaScript, gzipped) and each main
 * page's first render in Debian's Chromium against `glasshouse up --example` (the example legal
 * and privacy requests and their published reports), beside a baseline measured in the same
 * run: the published HTML transparency report, a server-rendered page without JavaScript.
 *
 * First render: from the start of the navigation, in a new browser context (nothing cached,
 * as a person arriving), to the page's heading shown with no "Loading" left in it, read from
 * the page's own clock (`performance.now()`).
 *
 * Goals (from the issue): at most 250 KB of JavaScript gzipped; every page's first render
 * within 1 s.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { type Browser, chromium } from 'playwright-core';
import type { Benchmark } from './support/benchmark.js';
import { runCleanups, tempDir } from './support/cleanup.js';
import { createToken, glasshouseCli, initDataDir, REPO_ROOT, ServerProcess } from './support/server.js';
import { summarize } from './support/stats.js';
import { fixed, passFail, renderTable, withRange } from './support/table.js';

const BUNDLE_GOAL_BYTES = 250 * 1000;
const RENDER_GOAL_MS = 1000;
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

/** A page of the console and the role that opens it (none: signed out). */
interface ConsolePage {
  readonly path: string;
  readonly role?: string;
}

const PAGES: readonly ConsolePage[] = [
  { path: '/console/' },
  { path: '/console/legal', role: 'legal' },
  { path: '/console/privacy', role: 'privacy' },
  { path: '/console/samples', role: 'analyst' },
  { path: '/console/statistics', role: 'analyst' },
  { path: '/console/policy', role: 'admin' },
  { path: '/console/relocations', role: 'admin' },
  { path: '/console/tokens', role: 'admin' },
  { path: '/console/log' },
  { path: '/console/reports' },
];
const BASELINE_PATH = '/reports/2021-H2/';

function bundleBytes(): { files: number; raw: number; gzipped: number } {
  const dir = join(REPO_ROOT, 'dist', 'console', 'assets');
  const scripts = readdirSync(dir).filter((name) => name.endsWith('.js'));
  let raw = 0;
  let gzipped = 0;
  for (const name of scripts) {
    const bytes = readFileSync(join(dir, name));
    raw += bytes.length;
    gzipped += gzipSync(bytes, { level: 9 }).length;
  }
  return { files: scripts.length, raw, gzipped };
}

/** Milliseconds from the navigation's start to the heading shown with nothing loading. */
async function firstRender(browser: Browser, url: string, token: string | undefined): Promise<number> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    if (token !== undefined) {
      // As after signing in: the tab's session holds the token and its description.
      const session = await (
        await fetch(new URL('/v1/session', url), { headers: { authorization: `Bearer ${token}` } })
      ).text();
      await context.addInitScript({
        content: `sessionStorage.setItem('glasshouse.token', ${JSON.stringify(token)});
          sessionStorage.setItem('glasshouse.session', ${JSON.stringify(session)});`,
      });
    }
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'commit' });
    await page.locator('h1').first().waitFor();
    await page.locator('.loading').first().waitFor({ state: 'detached', timeout: 30_000 });
    return (await page.evaluate('performance.now()')) as number;
  } finally {
    await context.close();
  }
}

const benchmark: Benchmark = {
  name: 'console',
  summary:
    'the web console: JavaScript size gzipped, and each page’s first render against the static report page',
  options: ['--rounds N   rounds per page (default 7)'],
  async run(args) {
    const { values } = parseArgs({ args: [...args], options: { rounds: { type: 'string' } } });
    const rounds = Number(values.rounds ?? 7);
    try {
      const bundle = bundleBytes();
      const dataDir = tempDir('glasshouse-bench-console');
      await initDataDir(dataDir.path);
      const server = await ServerProcess.start({ dataDir: dataDir.path, upArgs: ['--example'] });
      const tokens = new Map<string, string>();
      for (const role of new Set(PAGES.flatMap((p) => (p.role === undefined ? [] : [p.role])))) {
        const personal = role === 'legal' || role === 'privacy';
        const created = personal
          ? (JSON.parse(
              await glasshouseCli([
                'token',
                'create',
                '--role',
                role,
                '--person',
                `bench ${role}`,
                '--data',
                dataDir.path,
                '--json',
              ]),
            ) as { token: string })
          : await createToken(dataDir.path, role);
        tokens.set(role, created.token);
      }
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      const times = new Map<string, number[]>(PAGES.map((p) => [p.path, []]));
      const baseline: number[] = [];
      // Rounds interleave the pages and the baseline, so a busy moment of the machine falls on all.
      for (let round = 0; round < rounds; round++) {
        baseline.push(await firstRender(browser, `${server.baseUrl}${BASELINE_PATH}`, undefined));
        for (const page of PAGES) {
          const token = page.role === undefined ? undefined : tokens.get(page.role);
          times.get(page.path)!.push(await firstRender(browser, `${server.baseUrl}${page.path}`, token));
        }
      }
      await browser.close();
      await server.stop();

      const base = summarize(baseline);
      const rows = PAGES.map((page) => {
        const summary = summarize(times.get(page.path)!);
        return [
          page.path,
          page.role ?? 'signed out',
          withRange(summary, 0),
          `${fixed(summary.median / base.median, 2)}x`,
          passFail(summary.max <= RENDER_GOAL_MS),
        ];
      });
      process.stdout.write(
        `\nconsole: first render, ms from navigation start (median of ${rounds} rounds, range), new browser context each\n`,
      );
      process.stdout.write(
        `${renderTable(
          [
            { header: 'page' },
            { header: 'as' },
            { header: 'first render ms', align: 'right' },
            { header: 'vs report page', align: 'right' },
            { header: `≤ ${RENDER_GOAL_MS} ms` },
          ],
          [...rows, [BASELINE_PATH, 'signed out (baseline: static HTML)', withRange(base, 0), '1.00x', '']],
        )}\n`,
      );
      process.stdout.write(
        `\nconsole bundle: ${bundle.files} JavaScript file(s), ${fixed(bundle.raw / 1000, 1)} kB, gzipped ${fixed(bundle.gzipped / 1000, 1)} kB` +
          ` (goal ≤ ${BUNDLE_GOAL_BYTES / 1000} kB: ${passFail(bundle.gzipped <= BUNDLE_GOAL_BYTES)}, ${fixed(bundle.gzipped / BUNDLE_GOAL_BYTES, 2)}x of it)\n`,
      );
      return 0;
    } finally {
      await runCleanups();
    }
  },
};

export default benchmark;
