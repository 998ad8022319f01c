import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteWitnessStore } from '../../src/adapters/storage/sqlite/sqlite-witness-store.js';
import { loadExampleData } from '../../src/control/reports/example-data.js';
import { exampleDesksOf } from '../../src/control/reports/example-desks.js';
import { parsePeriod } from '../../src/control/reports/period.js';
import type { Report } from '../../src/control/reports/report.js';
import { cosignerFromKey } from '../../src/ledger/note/index.js';
import { nodeSigner } from '../../src/ledger/open-node-log.js';
import { buildWitnessApp } from '../../src/witness/witness-app.js';
import { WitnessService } from '../../src/witness/witness-service.js';
import {
  type ConsoleHarness,
  type ConsolePage,
  consoleUnavailable,
  startConsole,
} from './support/console-harness.js';

/*
 * The published report page's `Verify` button in Chromium, against the real server and a real
 * witness (in-process, over HTTP on 127.0.0.1): an untouched page verifies and names the
 * witness; a page whose number was changed, or a log whose tile or entry bundle was changed in
 * transit, fails naming the number or the file.
 */

const ADMIN = { role: 'admin', token: 'test' } as const;
let c: ConsoleHarness;
let witnessApp: FastifyInstance;
let witnessStore: SqliteWitnessStore;
let witnessDir: string;
let report: Report;

beforeAll(async () => {
  if (consoleUnavailable) return;
  witnessDir = mkdtempSync(join(tmpdir(), 'glasshouse-report-witness-'));
  const cosigner = cosignerFromKey(generateKeyPairSync('ed25519').privateKey, 'witness.test/w1');
  witnessStore = new SqliteWitnessStore(join(witnessDir, 'witness.db'));
  const service = new WitnessService({ store: witnessStore, cosigner, now: Date.now });
  witnessApp = await buildWitnessApp({ witness: service, logLevel: 'silent' });
  const witnessUrl = await witnessApp.listen({ host: '127.0.0.1', port: 0 });
  c = await startConsole({
    ledger: { witnesses: [{ name: cosigner.name, key: cosigner.verifierKey, url: witnessUrl }] },
  });
  service.addLog(nodeSigner(c.h.glasshouse.config, 'control').verifierKey);
  await loadExampleData({ log: c.h.glasshouse.logs.get('control')!, desks: exampleDesksOf(c.h.glasshouse) });
  for (const period of ['2021-H1', '2021-H2', '2021']) {
    await c.h.glasshouse.reportPublications.publish(parsePeriod(period), ADMIN);
  }
  report = (await (await fetch(`${c.origin}/reports/2021/report.json`)).json()) as Report;
});
afterAll(async () => {
  if (consoleUnavailable) return;
  await c?.close();
  await witnessApp?.close();
  witnessStore?.close();
  rmSync(witnessDir, { recursive: true, force: true });
});

async function verifyPage(p: ConsolePage, period: string): Promise<{ state: string; text: string }> {
  await p.page.goto(`/reports/${period}/`);
  const button = p.page.getByRole('button', { name: 'Verify' });
  await button.click();
  const result = p.page.locator('#verify-result[data-state=verified], #verify-result[data-state=failed]');
  await result.waitFor({ timeout: 60_000 });
  return {
    state: (await result.getAttribute('data-state')) ?? '',
    text: (await result.locator('p').allTextContents()).join('\n'),
  };
}

/** Serves a file of the log with one byte changed, as a network in between could. */
async function alterInTransit(page: Page, path: RegExp, offset: number): Promise<string[]> {
  const altered: string[] = [];
  await page.route(path, async (route) => {
    const response = await route.fetch();
    const body = Buffer.from(await response.body());
    if (body.length > offset) body[offset]! ^= 0x01;
    altered.push(new URL(route.request().url()).pathname);
    await route.fulfill({ response, body });
  });
  return altered;
}

describe.skipIf(consoleUnavailable)('the Verify button of a published report', () => {
  it('verifies an untouched report in the browser and names the witness that cosigned it', async () => {
    expect(report.checkpoint.witnesses.map((w) => w.name)).toEqual(['witness.test/w1']);
    const p = await c.open();
    const { state, text } = await verifyPage(p, '2021');
    expect(text).toMatch(/^Verified: every one of the \d+ numbers marked on this page equals the log’s\./);
    expect(state).toBe('verified');
    expect(text).toContain(`Checkpoint of ${report.checkpoint.origin} at ${report.checkpoint.size} entries`);
    expect(text).toMatch(
      /Cosigned by witness\.test\/w1 \(key ID [0-9a-f]{8}\) at 20\d\d-.*: cosignature valid\./,
    );
    // Every number of the page except where the data lives is marked for the check.
    const marked = await p.page.locator('main [data-n]').count();
    expect(marked).toBeGreaterThan(100);
    expect(await p.page.locator('#residency [data-n]').count()).toBe(0);
    // The script came from the server, under the page's policy: nothing went wrong, nothing inline.
    expect(p.problems).toEqual([]);
    expect(await p.page.locator('script:not([src])').count()).toBe(0);
  });

  it('verifies a half-year page, whose numbers include the previous period by country', async () => {
    const p = await c.open();
    const { state, text } = await verifyPage(p, '2021-H2');
    expect(text).toContain('Verified');
    expect(state).toBe('verified');
    expect(await p.page.locator('[data-n][data-period]').count()).toBeGreaterThan(0);
    expect(p.problems).toEqual([]);
  });

  it('fails on a page whose number was changed, naming that number and marking it', async () => {
    const p = await c.open();
    const total = report.legal.total;
    await p.page.route(`${c.origin}/reports/2021/`, async (route) => {
      const response = await route.fetch();
      const html = (await response.text()).replace(
        `<dd data-n="legal.total">${total}</dd>`,
        `<dd data-n="legal.total">${total - 1}</dd>`,
      );
      await route.fulfill({ response, body: html });
    });
    const { state, text } = await verifyPage(p, '2021');
    expect(state).toBe('failed');
    expect(text).toContain(`legal.total: the page says ${total - 1}, the log gives ${total}`);
    expect(text).toMatch(/Not verified: 1 of the \d+ numbers differ from the log\./);
    await expect
      .poll(() => p.page.locator('#figures [data-mismatch]').getAttribute('data-n'))
      .toBe('legal.total');
  });

  it('fails on a hash tile changed in transit, naming the tile', async () => {
    const p = await c.open();
    const altered = await alterInTransit(p.page, /\/log\/control\/tile\/0\/000/, 40);
    const { state, text } = await verifyPage(p, '2021');
    expect(state).toBe('failed');
    expect(altered.length).toBeGreaterThan(0);
    const tile = altered[0]!.replace('/log/control/', '');
    expect(text).toContain(`Not verified: ${tile} was altered`);
  });

  it('fails on an entry bundle changed in transit, naming the bundle', async () => {
    const p = await c.open();
    // Byte 10 is inside the first entry's JSON: the entry changes, its bundle still decodes.
    const altered = await alterInTransit(p.page, /\/log\/control\/tile\/entries\/000/, 10);
    const { state, text } = await verifyPage(p, '2021');
    expect(state).toBe('failed');
    const bundle = altered[0]!.replace('/log/control/', '');
    expect(text).toContain(
      `Not verified: ${bundle} was altered: entry 0 does not hash to the leaf in tile/0/000`,
    );
  });
});
