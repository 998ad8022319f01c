import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORT_VERIFIER_FILE } from '../src/http/console-routes.js';
import { nodeSigner } from '../src/ledger/open-node-log.js';
import { runCliAsync } from './support/cli.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation } from './support/installations.js';

/*
 * Published transparency reports are public (issue 18): an admin publishes a period (on the
 * control log), and anyone reads it at /reports/ without a token; `report build --out` writes
 * the same site as files.
 */

const NOW = new Date('2026-06-01T12:00:00Z');
const HEADER = 'received_at,requester_country,authority_kind,category,outcome,reason,closed_at';
const HISTORY = [
  HEADER,
  '2021-02-01,DE,law_enforcement,technical_expertise,fulfilled,,2021-02-10',
  '2021-03-01,FR,court,user_data,rejected,no_data,2021-03-10',
  '2021-08-01,DE,law_enforcement,technical_expertise,fulfilled,,2021-08-10',
  '2021-08-02,DE,government,user_data,rejected,out_of_scope,2021-08-20',
  '2021-09-01,IT,law_enforcement,technical_expertise,fulfilled,,2021-09-10',
].join('\n');

let h: Harness;
let admin: Record<string, string>;
let auditor: Record<string, string>;

beforeAll(async () => {
  h = await startHarness({ now: () => NOW });
  admin = bearer(await h.token('admin'));
  auditor = bearer(await h.token('auditor'));
  await h.glasshouse.legal.importHistory(HISTORY, { role: 'legal', token: 'test' });
  // One installation, at one site: the other site holds nothing.
  await registerInstallation(h.app, await h.token('product'), 'DE');
});
afterAll(async () => {
  await h.close();
});

const get = (url: string, headers: Record<string, string> = {}) => h.app.inject({ url, headers });
const publication = (method: 'PUT' | 'DELETE', period: string, headers: Record<string, string>) =>
  h.app.inject({ method, url: `/v1/reports/${period}/publication`, headers });

async function controlEntries(): Promise<Record<string, unknown>[]> {
  const log = h.glasshouse.logs.get('control')!;
  return (await log.readEntries(0, await log.size())).map((e) => JSON.parse(e.toString('utf8')));
}

describe('/reports/ before anything is published', () => {
  it('serves an index that says so, and 404 REPORT_NOT_PUBLISHED for a period, without a token', async () => {
    const index = await get('/reports/');
    expect(index.statusCode).toBe(200);
    expect(index.body).toContain('No report is published yet');
    const page = await get('/reports/2021-H2/');
    expect(page.statusCode).toBe(404);
    expect(page.json().code).toBe('REPORT_NOT_PUBLISHED');
  });
});

describe('PUT /v1/reports/{period}/publication', () => {
  describe('when the caller is not an admin, or the period is not one', () => {
    it('answers 401, 403 or 400 and publishes nothing', async () => {
      const size = (await controlEntries()).length;
      expect((await publication('PUT', '2021-H2', {})).statusCode).toBe(401);
      expect((await publication('PUT', '2021-H2', auditor)).statusCode).toBe(403);
      expect((await publication('PUT', '2021-H3', admin)).statusCode).toBe(400);
      const future = await publication('PUT', '2031-H1', admin);
      expect(future.statusCode).toBe(400);
      expect(future.json().code).toBe('INVALID_PERIOD');
      expect((await controlEntries()).length).toBe(size);
      expect((await get('/reports/2021-H2/')).statusCode).toBe(404);
    });
  });

  describe('when an admin publishes two halves', () => {
    it('logs each decision (report.published) and lists them', async () => {
      for (const period of ['2021-H2', '2021-H1']) {
        const response = await publication('PUT', period, admin);
        expect(response.statusCode, response.body).toBe(200);
        expect(response.json()).toEqual({ period, publishedAt: NOW.toISOString() });
      }
      expect((await publication('PUT', '2021-H1', admin)).statusCode).toBe(200);
      const logged = (await controlEntries()).filter((e) => e.type === 'report.published');
      expect(logged.map((e) => e.period)).toEqual(['2021-H2', '2021-H1']);
      const listed = await get('/v1/reports', auditor);
      expect(listed.json().published.map((p: { period: string }) => p.period)).toEqual([
        '2021-H1',
        '2021-H2',
      ]);
    });
  });
});

describe('GET /reports/{period}/ (no token)', () => {
  it('serves the page, its JSON and CSV beside it, and redirects /reports/2021-H2 to the page', async () => {
    const redirect = await get('/reports/2021-H2');
    expect(redirect.statusCode).toBe(301);
    expect(redirect.headers.location).toBe('/reports/2021-H2/');
    const page = await get('/reports/2021-H2/');
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    const json = await get('/reports/2021-H2/report.json');
    expect(json.json()).toMatchObject({ period: '2021-H2', legal: { total: 3, countries: 2 } });
    expect((await get('/reports/2021-H2/legal-requests.csv')).headers['content-type']).toContain('text/csv');
    expect((await get('/reports/2021-H2/secrets.csv')).statusCode).toBe(404);
    expect((await get('/reports/2020-H2/')).statusCode).toBe(404);
  });

  it('names the real URL and key in the verify command, not placeholders', async () => {
    const page = (await get('/reports/2021-H2/')).body;
    const key = nodeSigner(h.glasshouse.config, 'control').verifierKey;
    expect(page).toContain(
      `npx glasshouse report verify report.json --url http://localhost:80 --key &#39;${key}&#39;`,
    );
    expect(page).not.toContain('&lt;server&gt;');
  });

  it('defines its terms, shows the change per country and the trend over the published halves', async () => {
    const page = (await get('/reports/2021-H2/')).body;
    expect(page).toContain('<dt>technical expertise</dt>');
    expect(page).toContain('<dt>court</dt>');
    expect(page).toContain('<dt>rejected: out of scope</dt>');
    // DE: 2 now, 1 in 2021-H1; FR: 0 now, 1 before (a row of its own). Each number carries its path for Verify.
    expect(page).toMatch(
      /<th scope="row">Germany<\/th><td data-n="legal.byCountry\[0\].country">DE<\/td><td data-n="legal.byCountry\[0\].total">2<\/td>.*?<td data-n="byCountry\[country=DE\].total" data-period="2021-H1" data-absent="0">1<\/td><td>\+1 \(\+100%\)<\/td>/,
    );
    expect(page).toMatch(/<th scope="row">France<\/th><td>FR<\/td><td>0<\/td>/);
    expect(page).toContain('id="table-trend"');
    expect(page).toMatch(
      /<th scope="row">2021-H1<\/th><td data-n="summary.legal.total" data-period="2021-H1">2<\/td>/,
    );
    expect(page).toMatch(
      /<th scope="row">2021-H2 \(this report\)<\/th><td data-n="summary.legal.total" data-period="2021-H2">3<\/td>/,
    );
  });

  it('lists only the sites that hold data under "where the data lives"', async () => {
    const json = (await get('/reports/2021-H2/report.json')).json();
    const empty = json.residency.bySite.filter((s: { installations: number }) => s.installations === 0);
    expect(empty.length).toBeGreaterThan(0);
    const page = (await get('/reports/2021-H2/')).body;
    const residency = page.slice(page.indexOf('id="table-residency"'));
    const rows = residency.slice(0, residency.indexOf('</table>')).match(/<tr><th scope="row">/g) ?? [];
    expect(rows).toHaveLength(1);
    for (const site of empty) expect(residency).not.toContain(`<th scope="row">${site.site}</th>`);
  });
});

describe('glasshouse report build --out DIR (no --period)', () => {
  it('writes the static site of the published periods, with the public URL in the verify command', async () => {
    const out = mkdtempSync(join(tmpdir(), 'glasshouse-site-'));
    try {
      const built = await runCliAsync([
        'report',
        'build',
        '--out',
        out,
        '--data',
        h.dataDir,
        '--public-url',
        'https://transparency.example',
      ]);
      expect(built.status, built.stderr).toBe(0);
      for (const file of [
        'index.html',
        'index.json',
        '2021-H2/index.html',
        '2021-H2/report.json',
        '2021-H1/index.html',
      ]) {
        expect(existsSync(join(out, file)), file).toBe(true);
      }
      expect(existsSync(join(out, '2020-H2'))).toBe(false);
      const index = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8'));
      expect(index.reports.map((r: { period: string }) => r.period)).toEqual(['2021-H2', '2021-H1']);
      expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('href="2021-H2/"');
      expect(readFileSync(join(out, '2021-H2/index.html'), 'utf8')).toContain(
        '--url https://transparency.example --key',
      );
      expect(readFileSync(join(out, '2021-H2/report.md'), 'utf8')).toContain(
        '--url https://transparency.example --key',
      );
      // The pages' Verify script beside them, as the server serves it.
      expect(readFileSync(join(out, '2021-H2/index.html'), 'utf8')).toContain(
        '<script type="module" src="../verify-report.js"></script>',
      );
      expect(readFileSync(join(out, 'verify-report.js'), 'utf8')).toBe(
        readFileSync(REPORT_VERIFIER_FILE, 'utf8'),
      );
      // Public files, for any web server's user, though the data directory is owner-only.
      expect(statSync(join(out, '2021-H2')).mode & 0o777).toBe(0o755);
      expect(statSync(join(out, '2021-H2/index.html')).mode & 0o777).toBe(0o644);
      expect(statSync(join(out, 'index.json')).mode & 0o777).toBe(0o644);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('mirrors a server with --url, and refuses to build without --period or --out', async () => {
    const out = mkdtempSync(join(tmpdir(), 'glasshouse-mirror-'));
    try {
      const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
      const built = await runCliAsync(['report', 'build', '--out', out, '--url', address]);
      expect(built.status, built.stderr).toBe(0);
      expect(readFileSync(join(out, '2021-H2/index.html'), 'utf8')).toContain(`--url ${address} --key`);
      const refused = await runCliAsync(['report', 'build', '--data', h.dataDir]);
      expect(refused.status).not.toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('the Verify button of a published page', () => {
  it('is served as a script of this origin, which the page’s policy alone allows', async () => {
    const script = await get('/reports/verify-report.js');
    expect(script.statusCode).toBe(200);
    expect(script.headers['content-type']).toMatch(/^text\/javascript/);
    expect(script.body).toBe(readFileSync(REPORT_VERIFIER_FILE, 'utf8'));
    const page = (await get('/reports/2021-H2/')).body;
    const policy = /http-equiv="Content-Security-Policy" content="([^"]*)"/.exec(page)?.[1] ?? '';
    expect(policy.split('; ')).toEqual(
      expect.arrayContaining(["default-src 'none'", "script-src 'self'", "base-uri 'none'"]),
    );
    expect(policy).not.toContain("unsafe-inline'; script");
    expect(page).toMatch(
      /<section id="verify"[^>]* data-log="http:\/\/[^"]+\/log\/control\/" data-key="[^"]+" data-period="2021-H2">/,
    );
    expect(page).not.toMatch(/<script(?![^>]*\bsrc=)/);
  });
});

describe('DELETE /v1/reports/{period}/publication and glasshouse report publish', () => {
  it('withdraws a period (logged), and the CLI publishes one on the data directory', async () => {
    expect((await publication('DELETE', '2021-H1', auditor)).statusCode).toBe(403);
    expect((await publication('DELETE', '2021-H1', admin)).statusCode).toBe(204);
    // Idempotent: nothing more to withdraw, nothing more logged.
    expect((await publication('DELETE', '2021-H1', admin)).statusCode).toBe(204);
    expect((await get('/reports/2021-H1/')).statusCode).toBe(404);
    expect(
      (await controlEntries()).filter((e) => e.type === 'report.withdrawn').map((e) => e.period),
    ).toEqual(['2021-H1']);
    const cli = await runCliAsync(['report', 'publish', '2021', '--data', h.dataDir]);
    expect(cli.status, cli.stderr).toBe(0);
    expect((await get('/reports/2021/')).statusCode).toBe(200);
  });
});
