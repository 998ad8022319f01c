import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadExampleData } from '../src/control/reports/example-data.js';
import { exampleDesksOf } from '../src/control/reports/example-desks.js';
import { parsePeriod } from '../src/control/reports/period.js';
import { renderHtml } from '../src/control/reports/render-html.js';
import type { Report } from '../src/control/reports/report.js';
import { nodeSigner } from '../src/ledger/open-node-log.js';
import { CHROMIUM, launchChromium } from './support/chromium.js';
import { type Harness, startHarness } from './support/harness.js';
import { registerInstallation } from './support/installations.js';

/*
 * The HTML report in a real browser (Debian's chromium, driven by playwright-core): it
 * renders without console errors and without a single network request, its tables carry
 * the report's numbers, its charts are inline SVG, and a screenshot of it is a real page.
 */

// Like the Go checks: skipped locally without the browser, never under CI.
const skip = !existsSync(CHROMIUM) && !process.env.CI;
const VIEWPORT = { width: 1200, height: 900 };

let h: Harness;
let browser: Browser;
let dir: string;
let report: Report;

beforeAll(async () => {
  if (skip) return;
  h = await startHarness();
  await loadExampleData({ log: h.glasshouse.logs.get('control')!, desks: exampleDesksOf(h.glasshouse) });
  // Installations at one site only: the other site holds nothing and must not show.
  const product = await h.token('product');
  for (const country of ['DE', 'FR']) await registerInstallation(h.app, product, country);
  report = await h.glasshouse.reports.build(parsePeriod('2021'));
  dir = mkdtempSync(join(tmpdir(), 'glasshouse-html-'));
  browser = await launchChromium();
});
afterAll(async () => {
  if (skip) return;
  await browser?.close();
  await h?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Rendered {
  readonly page: Page;
  readonly errors: string[];
  readonly requests: string[];
}

async function open(html: string, name: string): Promise<Rendered> {
  const file = join(dir, name);
  writeFileSync(file, html);
  const page = await browser.newPage({ viewport: VIEWPORT });
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('requestfailed', (request) => errors.push(`failed: ${request.url()}`));
  page.on('request', (request) => requests.push(request.url()));
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  return { page, errors, requests };
}

describe.skipIf(skip)('the HTML report in Chromium', () => {
  describe('when opened alone (downloads inline)', () => {
    let rendered: Rendered;
    beforeAll(async () => {
      rendered = await open(renderHtml(report), 'alone.html');
    });
    afterAll(() => rendered.page.close());

    it('renders without console errors and makes no request but the page itself', () => {
      expect(rendered.errors).toEqual([]);
      expect(rendered.requests).toEqual([pathToFileURL(join(dir, 'alone.html')).href]);
    });

    it('shows the headline figures of the report', async () => {
      const figures = await rendered.page
        .locator('#figures div')
        .evaluateAll((divs) =>
          Object.fromEntries(
            divs.map((d) => [d.querySelector('dt')!.textContent, d.querySelector('dd')!.textContent]),
          ),
        );
      expect(figures).toEqual({
        requests: '214',
        countries: '17',
        'technical expertise': '181',
        'user data': '33',
        rejected: `at least ${report.legal.rejectedShare.value}%`,
        'user requests': '2252',
      });
    });

    it('has accessible tables holding the numbers: one row per country, the halves adding up', async () => {
      const { page } = rendered;
      const countries = await page
        .locator('#table-by-country tbody tr')
        .evaluateAll((rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
      expect(countries).toHaveLength(17);
      expect(countries.map((c) => [c[1], Number(c[2])])).toEqual(
        report.legal.byCountry.map((c) => [c.country, c.total]),
      );
      const halves = await page
        .locator('#table-halves tbody tr')
        .evaluateAll((rows) => rows.map((r) => [...r.children].slice(0, 3).map((c) => c.textContent)));
      expect(halves).toEqual([
        ['2021-H1', '105', '17'],
        ['2021-H2', '109', '12'],
        ['2021', '214', '17'],
      ]);
      for (const table of await page.locator('table').all()) {
        expect(await table.locator('caption').textContent()).not.toBe('');
        expect(await table.locator('thead th[scope=col]').count()).toBeGreaterThan(1);
      }
    });

    it('draws its charts as inline SVG images with text alternatives', async () => {
      const charts = await rendered.page.locator('svg[role=img]').evaluateAll((svgs) =>
        svgs.map((s) => ({
          label: s.getAttribute('aria-label'),
          shapes: s.querySelectorAll('rect').length,
        })),
      );
      expect(charts.length).toBeGreaterThanOrEqual(3);
      for (const chart of charts) {
        expect(chart.label).toBeTruthy();
        expect(chart.shapes).toBeGreaterThan(0);
      }
      const bars = await rendered.page.locator('#countries svg rect').count();
      expect(bars).toBe(17);
    });

    it('offers the JSON and every CSV table as downloads that hold the report', async () => {
      const links = await rendered.page
        .locator('#downloads a')
        .evaluateAll((as) =>
          as.map((a) => ({ name: a.getAttribute('download'), href: a.getAttribute('href')! })),
        );
      expect(links.map((l) => l.name)).toContain('report.json');
      expect(links.map((l) => l.name)).toContain('legal-requests.csv');
      const json = links.find((l) => l.name === 'report.json')!.href;
      const decoded = JSON.parse(Buffer.from(json.split(',')[1]!, 'base64').toString('utf8')) as Report;
      expect(decoded.legal.total).toBe(214);
    });

    it('takes a full-page screenshot: a PNG of the viewport width, taller than one screen, not blank', async () => {
      const png = await rendered.page.screenshot({ fullPage: true, path: join(dir, 'report-2021.png') });
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      const width = png.readUInt32BE(16);
      const height = png.readUInt32BE(20);
      expect(width).toBe(VIEWPORT.width);
      expect(height).toBeGreaterThan(VIEWPORT.height);
      expect(png.length).toBeGreaterThan(50_000);
      const chart = rendered.page.locator('#countries svg');
      const box = (await chart.boundingBox())!;
      const shot = await chart.screenshot();
      expect(shot.readUInt32BE(16)).toBe(Math.round(box.width));
      // The bars are drawn in their colour (#2f5d8a), covering a real part of the chart.
      const image = decodePng(shot);
      const barPixels = countPixels(image, [0x2f, 0x5d, 0x8a]);
      expect(barPixels).toBeGreaterThan(image.width * image.height * 0.05);
      expect(countPixels(decodePng(png), [0x2f, 0x5d, 0x8a])).toBeGreaterThanOrEqual(barPixels);
    });
  });

  describe('when opened as a published page in a narrow window', () => {
    let rendered: Rendered;
    beforeAll(async () => {
      const key = nodeSigner(h.glasshouse.config, 'control').verifierKey;
      const html = renderHtml(report, {
        links: 'files',
        verify: { url: 'https://transparency.example', key },
      });
      rendered = await open(html, 'narrow.html');
      await rendered.page.setViewportSize({ width: 420, height: 900 });
    });
    afterAll(() => rendered.page.close());

    it('wraps the checkpoint and the verify command inside their boxes', async () => {
      for (const id of ['#checkpoint-note', '#verify-command']) {
        const box = await rendered.page
          .locator(id)
          .evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth, text: el.textContent ?? '' }));
        expect(box.scroll, id).toBeLessThanOrEqual(box.client);
        expect(box.text.length).toBeGreaterThan(40);
      }
      // The signature line is longer than the box: it wraps onto more lines instead of overflowing.
      const lines = await rendered.page.locator('#checkpoint-note').evaluate((el) => {
        const style = el.ownerDocument.defaultView!.getComputedStyle(el);
        return el.clientHeight / Number.parseFloat(style.lineHeight || '16');
      });
      expect(lines).toBeGreaterThan(report.checkpoint.note.trim().split('\n').length);
      expect(await rendered.page.locator('#verify-command').textContent()).toContain(
        '--url https://transparency.example --key',
      );
    });

    it('shows under "where the data lives" only the sites that hold installations', async () => {
      const held = report.residency.bySite.filter((s) => s.installations > 0);
      expect(held.length).toBeLessThan(report.residency.bySite.length);
      const rows = await rendered.page
        .locator('#table-residency tbody tr')
        .evaluateAll((trs) => trs.map((r) => [...r.children].map((c) => c.textContent)));
      expect(rows).toEqual(held.map((s) => [s.site, String(s.installations), `${s.share}%`]));
      expect(await rendered.page.locator('#residency svg rect').count()).toBe(held.length);
      const labels = await rendered.page.locator('#residency svg text').allTextContents();
      expect(labels.some((t) => t.includes('(0%)'))).toBe(false);
    });
  });

  describe('when opened beside its files (report build --out)', () => {
    it('links to the files by relative name and still renders cleanly', async () => {
      const rendered = await open(renderHtml(report, { links: 'files' }), 'index.html');
      try {
        expect(rendered.errors).toEqual([]);
        const hrefs = await rendered.page
          .locator('#downloads a')
          .evaluateAll((as) => as.map((a) => a.getAttribute('href')));
        expect(hrefs).toContain('report.json');
        expect(hrefs).toContain('legal-by-country.csv');
        expect(rendered.requests).toHaveLength(1);
      } finally {
        await rendered.page.close();
      }
    });
  });
});

interface Image {
  readonly width: number;
  readonly height: number;
  readonly channels: number;
  readonly pixels: Buffer;
}

/** Decodes an 8-bit RGB or RGBA PNG (what Chromium writes): inflate, then undo each row's filter. */
function decodePng(png: Buffer): Image {
  const width = png.readUInt32BE(16);
  const height = png.readUInt32BE(20);
  const colourType = png[25]!;
  expect(png[24]).toBe(8);
  const channels = colourType === 6 ? 4 : colourType === 2 ? 3 : 0;
  expect(channels).toBeGreaterThan(0);
  const idat: Buffer[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    if (png.toString('latin1', at + 4, at + 8) === 'IDAT') idat.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    for (let x = 0; x < stride; x++) {
      const value = raw[y * (stride + 1) + 1 + x]!;
      const a = x >= channels ? pixels[y * stride + x - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a);
      const pb = Math.abs(p - b);
      const pc = Math.abs(p - c);
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter]!;
      pixels[y * stride + x] = (value + predictor) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

function countPixels(image: Image, [r, g, b]: readonly [number, number, number]): number {
  let n = 0;
  for (let at = 0; at < image.pixels.length; at += image.channels) {
    const close =
      Math.abs(image.pixels[at]! - r) < 8 &&
      Math.abs(image.pixels[at + 1]! - g) < 8 &&
      Math.abs(image.pixels[at + 2]! - b) < 8;
    if (close) n += 1;
  }
  return n;
}
