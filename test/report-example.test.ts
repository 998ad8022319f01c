import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../src/control/reports/report.js';
import { REPO_ROOT } from './support/cli.js';
import { runCliAsync } from './support/ledger.js';
import { createToken, killAllServers, type ServerProcess, startServer } from './support/server-process.js';

/*
 * The example data (examples/, issue 6): `glasshouse up --example` loads it into a new
 * deployment, and its reports reproduce the figures of the vendor's published reports.
 */

let dataDir: string;
let server: ServerProcess;
let auditor: string;

async function report(period: string): Promise<Report> {
  const response = await fetch(`${server.baseUrl}/v1/reports/${period}`, {
    headers: { authorization: `Bearer ${auditor}` },
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Report;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-example-'));
  server = await startServer(dataDir, ['--example']);
  auditor = await createToken(dataDir, 'auditor');
});
afterAll(async () => {
  await killAllServers();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('glasshouse up --example', () => {
  describe('when started on a new data directory', () => {
    it('says it loaded the example requests', () => {
      expect(server.output()).toContain('loaded the example: 374 legal and 3765 privacy requests');
    });

    it('points at the public report, which opens without a token', async () => {
      const hint = `${server.baseUrl}/reports/2021-H2/`;
      expect(server.output()).toContain(`public (no token): ${hint}`);
      const page = await fetch(hint);
      expect(page.status).toBe(200);
      const html = await page.text();
      expect(html).toContain('109 requests from 12 countries');
      expect(html).toContain(`--url ${server.baseUrl} --key`);
      const index = (await (await fetch(`${server.baseUrl}/reports/index.json`)).json()) as {
        reports: { period: string }[];
      };
      expect(index.reports.map((r) => r.period)).toEqual([
        '2021-H2',
        '2021-H1',
        '2021',
        '2020-H2',
        '2020-H1',
        '2020',
      ]);
    });

    it('reports 2021-H2: 109 requests from 12 countries, at least 36% rejected, 92 for technical expertise', async () => {
      const r = await report('2021-H2');
      expect(r.legal.total).toBe(109);
      expect(r.legal.countries).toBe(12);
      expect(r.legal.rejectedShare).toEqual({ value: 36, atLeast: true });
      expect(r.legal.byCategory.technical_expertise).toBe(92);
    });

    it('reports 2021-H1: 105 requests from 17 countries, 89 for technical expertise', async () => {
      const r = await report('2021-H1');
      expect([r.legal.total, r.legal.countries, r.legal.byCategory.technical_expertise]).toEqual([
        105, 17, 89,
      ]);
    });

    it('reports 2021: 214 requests from 17 countries, 181 technical, 2,252 user requests; 2020: 160, 15 and 132', async () => {
      const r = await report('2021');
      expect([r.legal.total, r.legal.countries, r.legal.byCategory.technical_expertise]).toEqual([
        214, 17, 181,
      ]);
      expect(r.privacy.total).toBe(2252);
      expect(r.halves.map((h) => h.legal.total)).toEqual([105, 109]);
      expect(r.halves.map((h) => h.legal.countries)).toEqual([17, 12]);
      expect(r.previous).toMatchObject({
        period: '2020',
        legal: { total: 160, countries: 15, byCategory: { technical_expertise: 132 } },
      });
      const y2020 = await report('2020');
      expect([y2020.legal.total, y2020.legal.countries, y2020.legal.byCategory.technical_expertise]).toEqual([
        160, 15, 132,
      ]);
    });

    it('builds a report that `report verify` recomputes from the published log', async () => {
      const out = mkdtempSync(join(tmpdir(), 'glasshouse-example-report-'));
      try {
        const built = await runCliAsync([
          'report',
          'build',
          '--period',
          '2021',
          '--url',
          server.baseUrl,
          '--token',
          auditor,
          '--out',
          out,
        ]);
        expect(built.status, built.stderr).toBe(0);
        const key = (await runCliAsync(['ledger', 'key', '--data', dataDir])).stdout.trim();
        const verified = await runCliAsync([
          'report',
          'verify',
          join(out, 'report.json'),
          '--url',
          server.baseUrl,
          '--key',
          key,
        ]);
        expect(verified.status, verified.stderr).toBe(0);
        expect(readFileSync(join(out, 'report.md'), 'utf8')).toContain('214 requests from 17 countries');
      } finally {
        rmSync(out, { recursive: true, force: true });
      }
    });
  });

  describe('when `report build` runs on the data directory, beside the server', () => {
    it('prints the report at the last published checkpoint, here as Markdown', async () => {
      const result = await runCliAsync([
        'report',
        'build',
        '--period',
        '2021-H2',
        '--data',
        dataDir,
        '--format',
        'md',
      ]);
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain('109 requests from 12 countries; 92 for technical expertise');
      expect(result.stdout).toContain('at least 36% rejected (5 still open)');
    });

    it('refuses a period that is not one, and writes nothing', async () => {
      const result = await runCliAsync(['report', 'build', '--period', '2021-Q3', '--data', dataDir]);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('[INVALID_PERIOD]');
      expect(result.stdout).toBe('');
    });
  });

  describe('when started again on the same data directory', () => {
    it('loads nothing twice', async () => {
      await server.kill();
      server = await startServer(dataDir, ['--example']);
      expect(server.output()).toContain('the example was not loaded');
      expect((await report('2021')).legal.total).toBe(214);
    });
  });
});

describe('examples/generate.mjs', () => {
  it('writes exactly the example files checked in (it is deterministic)', () => {
    const out = mkdtempSync(join(tmpdir(), 'glasshouse-generate-'));
    try {
      const run = spawnSync(process.execPath, ['examples/generate.mjs', out], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      for (const file of ['legal-requests.csv', 'privacy-requests.csv']) {
        expect(readFileSync(join(out, file), 'utf8')).toBe(
          readFileSync(join(REPO_ROOT, 'examples', file), 'utf8'),
        );
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
