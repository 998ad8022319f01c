import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../src/control/reports/report.js';
import { entriesPath } from '../src/ledger/merkle/index.js';
import { parseVerifierKey } from '../src/ledger/note/index.js';
import { nodeSigner } from '../src/ledger/open-node-log.js';
import {
  expectedLegal,
  expectedPrivacy,
  type LegalHistory,
  legalEntries,
  legalHistory,
  type PrivacyHistory,
  privacyEntries,
  privacyHistory,
} from './support/desk-entries.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { flipByte, publicLogDirectory, runCliAsync } from './support/ledger.js';

/*
 * Transparency reports end to end (issue 6): desk entries appended to the control log as the
 * desks write them (docs/log.md), reports over HTTP in every format, and `glasshouse report
 * build` / `report verify` through the real CLI against a listening server.
 */

const legal: LegalHistory[] = fc.sample(legalHistory, { numRuns: 300, seed: 6 });
const privacy: PrivacyHistory[] = fc.sample(privacyHistory, { numRuns: 200, seed: 7 });
const PERIODS = ['2020', '2020-H2', '2021', '2021-H1', '2021-H2', '2022-H1'] as const;

let h: Harness;
let baseUrl: string;
let auditor: string;
let key: string;
let out: string;

const control = () => h.glasshouse.logs.get('control')!;

async function report(period: string, token = auditor): Promise<Report> {
  const response = await h.app.inject({ url: `/v1/reports/${period}`, headers: bearer(token) });
  expect(response.statusCode, response.body).toBe(200);
  return response.json<Report>();
}

beforeAll(async () => {
  h = await startHarness();
  await Promise.all(
    [...legal.flatMap((r) => legalEntries(r)), ...privacy.flatMap((r) => privacyEntries(r))].map((e) =>
      control().append(e),
    ),
  );
  const product = await h.token('product');
  for (const country of ['DE', 'DE', 'FR', 'RU', 'US']) {
    const registered = await h.app.inject({
      method: 'POST',
      url: '/v1/installations',
      headers: bearer(product),
      payload: { country, product: 'endpoint-12' },
    });
    expect(registered.statusCode, registered.body).toBe(201);
  }
  auditor = await h.token('auditor');
  key = nodeSigner(h.glasshouse.config, 'control').verifierKey;
  await h.app.listen({ host: '127.0.0.1', port: 0 });
  baseUrl = `http://127.0.0.1:${(h.app.server.address() as AddressInfo).port}`;
  out = mkdtempSync(join(tmpdir(), 'glasshouse-report-'));
});
afterAll(async () => {
  await h.close();
  rmSync(out, { recursive: true, force: true });
});

describe('GET /v1/reports/{period}', () => {
  describe('when the control log holds legal and privacy requests, some still open', () => {
    it.each(PERIODS)('counts %s as the test counts it independently', async (period) => {
      const r = await report(period);
      const want = expectedLegal(legal, period);
      expect(r.period).toBe(period);
      expect(r.legal.total).toBe(want.total);
      expect(r.legal.countries).toBe(want.countries);
      expect(r.legal.byCategory).toEqual({ user_data: want.userData, technical_expertise: want.technical });
      expect(r.legal.rejected).toBe(want.rejected);
      expect(r.legal.open).toBe(want.open);
      expect(r.legal.byOutcome.fulfilled).toBe(want.fulfilled);
      expect(r.legal.byOutcome.withdrawn).toBe(want.withdrawn);
      expect(r.legal.byOutcome.rejected.no_data).toBe(want.rejectedNoData);
      expect(r.legal.rejectedShare).toEqual(want.share);
      expect(Object.fromEntries(r.legal.byCountry.map((c) => [c.country, c.total]))).toEqual(want.perCountry);
      const p = expectedPrivacy(privacy, period);
      expect(r.privacy.total).toBe(p.total);
      expect(r.privacy.byType.erasure).toBe(p.erasure);
      expect(r.privacy.byOutcome.open).toBe(p.open);
      expect(want.total).toBeGreaterThan(0);
    });

    it('marks the rejected share "at least" exactly when a request of the period is open', async () => {
      for (const period of PERIODS) {
        const r = await report(period);
        expect(r.legal.rejectedShare.atLeast).toBe(r.legal.open > 0);
      }
      expect((await report('2021-H2')).legal.open).toBeGreaterThan(0);
    });

    it('compares with the previous period of the same length, and splits a year into its halves', async () => {
      const year = await report('2021');
      expect(year.previous.period).toBe('2020');
      expect(year.previous.legal.total).toBe(expectedLegal(legal, '2020').total);
      expect(year.halves.map((x) => x.period)).toEqual(['2021-H1', '2021-H2']);
      expect(year.halves.map((x) => x.legal.total)).toEqual([
        expectedLegal(legal, '2021-H1').total,
        expectedLegal(legal, '2021-H2').total,
      ]);
      expect((await report('2021-H1')).previous.period).toBe('2020-H2');
    });

    it('names the checkpoint it counted at, which covers every request', async () => {
      const r = await report('2021');
      const note = await control().checkpoint();
      expect(r.checkpoint.note).toBe(note);
      // Each deployment's log has an origin of its own, chosen at init.
      expect(r.checkpoint.origin).toBe(`${h.glasshouse.config.deployment}/control`);
      expect(r.checkpoint.origin).toMatch(/^glasshouse-[0-9a-f]{8}\/control$/);
      expect(r.checkpoint.size).toBe(await control().size());
      expect(note).toContain(`\n${r.checkpoint.size}\n${r.checkpoint.rootHash}\n`);
    });

    it('states where the data lives from the registry, marked as not recomputable', async () => {
      const r = await report('2021-H2');
      expect(r.residency.recomputable).toBe(false);
      expect(r.residency.installations).toBe(5);
      expect(r.residency.bySite.reduce((s, x) => s + x.installations, 0)).toBe(5);
      expect(r.residency.policy?.default).toBeTypeOf('string');
    });

    it('matches docs/report-schema.json', async () => {
      const schema = JSON.parse(readFileSync(new URL('../docs/report-schema.json', import.meta.url), 'utf8'));
      const ajv = new Ajv.default({ allErrors: true, strict: true });
      addFormats.default(ajv);
      const validate = ajv.compile(schema);
      for (const period of ['2021', '2021-H2', '1999'] as const) {
        const r = await report(period);
        expect(validate(r), JSON.stringify(validate.errors)).toBe(true);
      }
      expect(validate({ ...(await report('2021')), extra: 1 })).toBe(false);
    });
  });

  describe('when a request changes state after a report', () => {
    it('counts its new state in the next report, at a larger checkpoint', async () => {
      const before = await report('2021-H2');
      const open = legal.find(
        (x) => x.receivedAt >= '2021-07-01' && x.receivedAt <= '2021-12-31' && x.states.length < 3,
      )!;
      await control().append(legalEntries({ ...open, states: ['verified', 'rejected'] })[1]!);
      const after = await report('2021-H2');
      expect(after.checkpoint.size).toBe(before.checkpoint.size + 1);
      expect(after.legal.total).toBe(before.legal.total);
      expect(after.legal.open).toBe(before.legal.open - 1);
      expect(after.legal.rejected).toBe(before.legal.rejected + 1);
      legal[legal.indexOf(open)] = { ...open, states: [...open.states, 'rejected'] };
    });
  });

  describe('when asked for another format', () => {
    it('answers CSV tables, the main one in the columns people load', async () => {
      const r = await report('2021');
      const response = await h.app.inject({ url: '/v1/reports/2021?format=csv', headers: bearer(auditor) });
      expect(response.statusCode).toBe(200);
      expect(response.headers['content-type']).toContain('text/csv');
      const [header, ...rows] = response.body.trimEnd().split('\r\n');
      expect(header).toBe(
        'period_ending,country,cldr_territory_code,authority_kind,category,requests,fulfilled,partially_fulfilled,rejected,withdrawn,open,percent_some_data_produced',
      );
      expect(rows.every((row) => row.startsWith('2021-12-31,'))).toBe(true);
      expect(rows.reduce((s, row) => s + Number(row.split(',').at(-7)), 0)).toBe(r.legal.total);
      const privacyCsv = await h.app.inject({
        url: '/v1/reports/2021?format=csv&table=privacy-requests',
        headers: bearer(auditor),
      });
      expect(privacyCsv.body.split('\r\n')[0]).toBe('period_ending,type,requests,completed,rejected,open');
    });

    it('answers Markdown and a self-contained HTML page', async () => {
      const r = await report('2021-H2');
      const md = await h.app.inject({ url: '/v1/reports/2021-H2?format=md', headers: bearer(auditor) });
      expect(md.headers['content-type']).toContain('text/markdown');
      expect(md.body).toContain(`${r.legal.total} requests from ${r.legal.countries} countries`);
      expect(md.body).toContain(`at least ${r.legal.rejectedShare.value}% rejected`);
      const html = await h.app.inject({ url: '/v1/reports/2021-H2?format=html', headers: bearer(auditor) });
      expect(html.headers['content-type']).toContain('text/html');
      expect(html.body).toContain('<svg');
      expect(html.body).not.toMatch(/(src|href)="(https?:)?\/\//);
    });
  });

  describe('when the period or format is not one', () => {
    it.each([
      ['2021-H3', 'VALIDATION_FAILED'],
      ['21', 'VALIDATION_FAILED'],
      ['1969', 'INVALID_PERIOD'],
      ['2021?format=pdf', 'VALIDATION_FAILED'],
      ['2021?format=csv&table=secrets', 'VALIDATION_FAILED'],
    ])('answers 400 for %s and logs nothing', async (path, code) => {
      const size = await control().size();
      const response = await h.app.inject({ url: `/v1/reports/${path}`, headers: bearer(auditor) });
      expect(response.statusCode).toBe(400);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json().code).toBe(code);
      expect(await control().size()).toBe(size);
    });
  });
});

describe('glasshouse report build and verify', () => {
  let reportFile: string;

  beforeAll(async () => {
    const built = await runCliAsync([
      'report',
      'build',
      '--period',
      '2021-H2',
      '--url',
      baseUrl,
      '--token',
      auditor,
      '--out',
      out,
    ]);
    expect(built.status, built.stderr).toBe(0);
    reportFile = join(out, 'report.json');
  });

  it('writes the JSON, Markdown, HTML and one CSV per table', () => {
    expect(built()).toMatchObject({
      period: '2021-H2',
      legal: { total: expectedLegal(legal, '2021-H2').total },
    });
    for (const file of [
      'report.md',
      'index.html',
      'legal-requests.csv',
      'privacy-requests.csv',
      'residency.csv',
    ]) {
      expect(readFileSync(join(out, file), 'utf8').length).toBeGreaterThan(0);
    }
    expect(readFileSync(join(out, 'index.html'), 'utf8')).toContain('href="legal-requests.csv"');
  });

  it('verifies a true report: exit 0, the numbers checked, residency named as skipped', async () => {
    const result = await runCliAsync(['report', 'verify', reportFile, '--url', baseUrl, '--key', key]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(
      `verified report 2021-H2 against ${h.glasshouse.config.deployment}/control`,
    );
    expect(result.stdout).toMatch(/\d{3,} numbers recomputed from the entries: all equal/);
    expect(result.stdout).toContain('skipped: residency');
  });

  it('still verifies it after the log has grown past its checkpoint', async () => {
    await control().append(legalEntries({ ...legal[0]!, request: 'later', receivedAt: '2021-09-09' })[0]!);
    await control().publish();
    const result = await runCliAsync([
      'report',
      'verify',
      reportFile,
      '--url',
      baseUrl,
      '--key',
      key,
      '--json',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ period: '2021-H2', differences: [] });
    expect(JSON.parse(result.stdout).checkpoint.size).toBe(built().checkpoint.size);
  });

  describe('when one number is altered', () => {
    it.each([
      ['legal.total', (r: Report) => ({ ...r, legal: { ...r.legal, total: r.legal.total + 1 } })],
      [
        'legal.rejectedShare.atLeast',
        (r: Report) => ({
          ...r,
          legal: { ...r.legal, rejectedShare: { ...r.legal.rejectedShare, atLeast: false } },
        }),
      ],
      [
        'legal.byCountry[0].byCategory.user_data',
        (r: Report) => ({
          ...r,
          legal: {
            ...r.legal,
            byCountry: r.legal.byCountry.map((c, i) =>
              i === 0 ? { ...c, byCategory: { ...c.byCategory, user_data: c.byCategory.user_data + 1 } } : c,
            ),
          },
        }),
      ],
      [
        'privacy.byType.erasure',
        (r: Report) => ({ ...r, privacy: { ...r.privacy, byType: { ...r.privacy.byType, erasure: 0 } } }),
      ],
      [
        'previous.legal.countries',
        (r: Report) => ({ ...r, previous: { ...r.previous, legal: { ...r.previous.legal, countries: 99 } } }),
      ],
    ])('exits non-zero and names %s', async (path, alter) => {
      const file = join(out, `altered-${path}.json`);
      writeFileSync(file, JSON.stringify(alter(built())));
      const result = await runCliAsync(['report', 'verify', file, '--url', baseUrl, '--key', key]);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain(`${path}: the report says`);
      expect(result.stderr).toContain('[REPORT_MISMATCH]');
    });

    it('passes when only the residency part, which the log cannot tell, is changed', async () => {
      const file = join(out, 'residency-changed.json');
      writeFileSync(
        file,
        JSON.stringify({ ...built(), residency: { ...built().residency, installations: 1e6 } }),
      );
      const result = await runCliAsync(['report', 'verify', file, '--url', baseUrl, '--key', key]);
      expect(result.status, result.stderr).toBe(0);
    });
  });

  describe('when given the key of another deployment', () => {
    it('exits non-zero saying the note is signed by another key, naming both', async () => {
      const other = mkdtempSync(join(tmpdir(), 'glasshouse-other-'));
      try {
        const init = await runCliAsync(['init', '--data', other]);
        expect(init.status, init.stderr).toBe(0);
        const otherKey = (await runCliAsync(['ledger', 'key', '--data', other])).stdout.trim();
        const label = (k: string) => {
          const v = parseVerifierKey(k);
          return `${v.name}+${v.keyId.toString('hex')}`;
        };
        expect(label(otherKey)).not.toBe(label(key));
        const result = await runCliAsync([
          'report',
          'verify',
          reportFile,
          '--url',
          baseUrl,
          '--key',
          otherKey,
        ]);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain('signed by another key');
        expect(result.stderr).toContain(label(key));
        expect(result.stderr).toContain(label(otherKey));
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    });
  });

  describe('when the checkpoint is altered', () => {
    it.each([
      ['its size', (c: Report['checkpoint']) => ({ ...c, size: c.size - 1 }), /checkpoint\.size/],
      [
        'the tree size in its signed note',
        (c: Report['checkpoint']) => ({ ...c, note: c.note.replace(`\n${c.size}\n`, `\n${c.size - 1}\n`) }),
        /INVALID_SIGNATURE|UNVERIFIED_NOTE/,
      ],
      [
        'its signature',
        (c: Report['checkpoint']) => ({ ...c, note: flipSignature(c.note) }),
        /INVALID_SIGNATURE|UNVERIFIED_NOTE|MALFORMED_NOTE/,
      ],
    ])('exits non-zero for %s', async (what, alter, message) => {
      const file = join(out, `checkpoint-${what.replaceAll(' ', '-')}.json`);
      writeFileSync(file, JSON.stringify({ ...built(), checkpoint: alter(built().checkpoint) }));
      const result = await runCliAsync(['report', 'verify', file, '--url', baseUrl, '--key', key]);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toMatch(message);
    });

    it('exits non-zero with another log’s key', async () => {
      const other = nodeSigner(h.glasshouse.config, 'zurich').verifierKey;
      const result = await runCliAsync(['report', 'verify', reportFile, '--url', baseUrl, '--key', other]);
      expect(result.status).not.toBe(0);
    });
  });

  describe('when one published entry is altered', () => {
    it('exits non-zero: the entries no longer hash to the checkpoint root', async () => {
      const restore = flipByte(join(publicLogDirectory(h.dataDir, 'control'), entriesPath(0, 256)), 300);
      try {
        const result = await runCliAsync(['report', 'verify', reportFile, '--url', baseUrl, '--key', key]);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toMatch(/do not hash to the root|\[[A-Z_]+\]/);
        expect(result.stdout).not.toContain('verified');
      } finally {
        restore();
      }
    });
  });

  describe('when the file is not a report', () => {
    it('exits non-zero with INVALID_REPORT', async () => {
      const file = join(out, 'not-a-report.json');
      writeFileSync(file, '{"hello": 1}');
      const result = await runCliAsync(['report', 'verify', file, '--url', baseUrl, '--key', key]);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('[INVALID_REPORT]');
    });
  });

  function built(): Report {
    return JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  }
});

/** Changes one character of the signature line (the last line) of a signed note. */
function flipSignature(note: string): string {
  const lines = note.trimEnd().split('\n');
  const last = lines.at(-1)!;
  const at = last.length - 5;
  lines[lines.length - 1] = last.slice(0, at) + (last[at] === 'A' ? 'B' : 'A') + last.slice(at + 1);
  return `${lines.join('\n')}\n`;
}
