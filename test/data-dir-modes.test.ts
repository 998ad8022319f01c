import { lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PRODUCT_EVENT } from './support/events.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation, submitSample } from './support/installations.js';

/** Every path under `root` with its permission bits, directories first. */
function walk(root: string): { path: string; directory: boolean; mode: number }[] {
  const found: { path: string; directory: boolean; mode: number }[] = [];
  const visit = (path: string) => {
    const stat = lstatSync(path);
    found.push({ path, directory: stat.isDirectory(), mode: stat.mode & 0o777 });
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(root);
  return found;
}

let h: Harness;

beforeAll(async () => {
  // A process started with the usual umask (022) still writes nothing others may read.
  process.umask(0o022);
  h = await startHarness({ now: () => new Date('2026-11-23T12:00:00Z'), stats: { flushIntervalMs: 0 } });
  const product = await h.token('product');
  const analyst = await h.token('analyst');
  for (const country of ['CH', 'RU']) {
    const installation = await registerInstallation(h.app, product, country);
    expect(
      (await submitSample(h.app, product, installation.id, 'a.exe', Buffer.from(`MZ ${country}`))).statusCode,
    ).toBe(201);
    const events = await h.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...bearer(product), 'content-type': 'application/x-ndjson' },
      payload: `${JSON.stringify({ ...PRODUCT_EVENT, installation: installation.id })}\n`,
    });
    expect(events.json()).toMatchObject({ accepted: 1 });
  }
  const verdict = await h.app.inject({
    method: 'PUT',
    url: `/v1/verdicts/${'c'.repeat(64)}`,
    headers: bearer(analyst),
    payload: { verdict: 'malicious', threat: 'Trojan.Test' },
  });
  expect(verdict.statusCode).toBe(200);
  await Promise.all([...h.glasshouse.sites.values()].map((site) => site.stats!.flush()));
  await Promise.all([...h.glasshouse.logs.values()].map((log) => log.publish()));
});
afterAll(async () => {
  await h.close();
});

describe('the data directory', () => {
  describe('after registrations, samples, events loaded into DuckDB, a verdict and published logs', () => {
    it('holds only owner-only files (0600) and directories (0700), DuckDB files and tiles included', () => {
      const entries = walk(h.dataDir);
      const names = entries.map((e) => e.path.slice(h.dataDir.length));
      // The walk reached what the stores write, or it proves nothing.
      expect(names.some((n) => n.endsWith('stats.duckdb'))).toBe(true);
      expect(names.some((n) => n.includes('/tile/'))).toBe(true);
      expect(names.some((n) => n.includes('/blobs/'))).toBe(true);
      const open = entries
        .filter((e) => e.mode !== (e.directory ? 0o700 : 0o600))
        .map((e) => `${e.path.slice(h.dataDir.length)} ${e.mode.toString(8)}`);
      expect(open).toEqual([]);
    });
  });
});
