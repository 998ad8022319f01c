import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_FILES } from '../src/control/reports/example-data.js';
import { runCli, runCliAsync } from './support/cli.js';
import { bearer, type Harness, startHarness } from './support/harness.js';

/*
 * The desks' history imports (issue 18, "Wrong numbers"): a file loaded before changes
 * nothing and says so, unless told to load it again; identical rows of one file are separate
 * requests; the legal example file the README ships loads as written, its open requests
 * entering the desk as received.
 */

const NOW = new Date('2026-06-01T12:00:00Z');
const LEGAL_HEADER = 'received_at,requester_country,authority_kind,category,outcome,reason,closed_at';
const PRIVACY_HEADER = 'received_at,type,outcome,closed_at';

let h: Harness;
let legal: Record<string, string>;
let privacy: Record<string, string>;
let admin: Record<string, string>;

beforeAll(async () => {
  h = await startHarness({ now: () => NOW });
  legal = bearer(await h.token('legal'));
  privacy = bearer(await h.token('privacy'));
  admin = bearer(await h.token('admin'));
});
afterAll(async () => {
  await h.close();
});

function post(route: string, csv: string, headers: Record<string, string>) {
  return h.app.inject({
    method: 'POST',
    url: route,
    headers: { ...headers, 'content-type': 'text/csv' },
    payload: csv,
  });
}

async function reportOf(period: string) {
  const response = await h.app.inject({ url: `/v1/reports/${period}`, headers: admin });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
}

async function logSize(): Promise<number> {
  await h.glasshouse.logs.get('control')!.publish();
  return h.glasshouse.logs.get('control')!.size();
}

describe('POST /v1/privacy-requests/import', () => {
  // Two identical rows: two requests (a history file's rows have no identity of their own).
  const csv = [
    PRIVACY_HEADER,
    '2015-03-01,erasure,completed,2015-03-09',
    '2015-03-01,erasure,completed,2015-03-09',
    '2015-04-01,export,rejected,2015-04-02',
  ].join('\n');

  describe('when a file is imported the first time', () => {
    it('loads every row, identical rows as separate requests', async () => {
      const response = await post('/v1/privacy-requests/import', csv, privacy);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toEqual({ loaded: 3, sha256: createHash('sha256').update(csv).digest('hex') });
      const r = await reportOf('2015-H1');
      expect(r.privacy.total).toBe(3);
      expect(r.privacy.byType.erasure).toBe(2);
    });
  });

  describe('when the same file is imported again', () => {
    it('answers 409 PRIVACY_HISTORY_ALREADY_IMPORTED naming the file, and changes nothing', async () => {
      const size = await logSize();
      const response = await post('/v1/privacy-requests/import', csv, privacy);
      expect(response.statusCode).toBe(409);
      expect(response.headers['content-type']).toContain('application/problem+json');
      expect(response.json()).toMatchObject({
        code: 'PRIVACY_HISTORY_ALREADY_IMPORTED',
        sha256: createHash('sha256').update(csv).digest('hex'),
        rows: 3,
      });
      expect(response.json().detail).toContain('nothing was loaded');
      expect(await logSize()).toBe(size);
      expect((await reportOf('2015-H1')).privacy.total).toBe(3);
    });

    it('loads it once more with again=true', async () => {
      const response = await post('/v1/privacy-requests/import?again=true', csv, privacy);
      expect(response.statusCode, response.body).toBe(200);
      expect((await reportOf('2015-H1')).privacy.total).toBe(6);
    });

    it('refuses an again that is not a boolean, and a legal token', async () => {
      const size = await logSize();
      expect((await post('/v1/privacy-requests/import?again=maybe', csv, privacy)).statusCode).toBe(400);
      expect((await post('/v1/privacy-requests/import?again=true', csv, legal)).statusCode).toBe(403);
      expect(await logSize()).toBe(size);
      expect((await reportOf('2015-H1')).privacy.total).toBe(6);
    });
  });
});

describe('POST /v1/legal-requests/import', () => {
  const csv = [
    LEGAL_HEADER,
    '2014-02-01,DE,court,user_data,fulfilled,,2014-02-10',
    '2014-02-01,DE,court,user_data,fulfilled,,2014-02-10',
    '2014-03-01,FR,government,technical_expertise,,,',
  ].join('\n');

  describe('when a file with an open request is imported', () => {
    it('loads every row; the open one is on the desk as received and can be worked on', async () => {
      const response = await post('/v1/legal-requests/import', csv, legal);
      expect(response.statusCode, response.body).toBe(200);
      expect(response.json()).toMatchObject({ imported: 3, open: 1 });
      const r = await reportOf('2014-H1');
      expect(r.legal.total).toBe(3);
      expect(r.legal.open).toBe(1);
      const listed = await h.app.inject({
        url: '/v1/legal-requests?state=received&from=2014-01-01&to=2014-12-31',
        headers: legal,
      });
      const [open] = listed.json().requests;
      expect(open).toMatchObject({ receivedAt: '2014-03-01', state: 'received', closedAt: null });
      const acted = await h.app.inject({
        method: 'POST',
        url: `/v1/legal-requests/${open.id}/actions`,
        headers: legal,
        payload: { action: 'start_verification' },
      });
      expect(acted.statusCode, acted.body).toBe(200);
      expect(acted.json().state).toBe('in_verification');
    });
  });

  describe('when the same file is imported again', () => {
    it('answers 409 LEGAL_HISTORY_ALREADY_IMPORTED and changes nothing; again=true loads new requests', async () => {
      const size = await logSize();
      const refused = await post('/v1/legal-requests/import', csv, legal);
      expect(refused.statusCode).toBe(409);
      expect(refused.json()).toMatchObject({ code: 'LEGAL_HISTORY_ALREADY_IMPORTED', rows: 3 });
      expect(await logSize()).toBe(size);
      expect((await reportOf('2014-H1')).legal.total).toBe(3);
      const again = await post('/v1/legal-requests/import?again=true', csv, legal);
      expect(again.statusCode, again.body).toBe(200);
      expect((await reportOf('2014-H1')).legal.total).toBe(6);
    });
  });

  describe('when a row is half open', () => {
    it('refuses an outcome without closed_at and a closed_at without outcome, loading nothing', async () => {
      const size = await logSize();
      const bad = [
        LEGAL_HEADER,
        '2013-02-01,DE,court,user_data,fulfilled,,',
        '2013-02-01,DE,court,user_data,,,2013-02-10',
        '2013-02-01,DE,court,user_data,,no_data,',
      ].join('\n');
      const response = await post('/v1/legal-requests/import', bad, legal);
      expect(response.statusCode).toBe(400);
      expect(response.json().errors.map((e: { line: number }) => e.line)).toEqual([2, 3, 4]);
      expect(await logSize()).toBe(size);
    });
  });
});

describe('glasshouse legal import and privacy import', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'glasshouse-import-cli-'));
    expect(runCli(['init', '--data', dataDir]).status).toBe(0);
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  describe('when given the example files the README ships', () => {
    it('loads examples/legal-requests.csv as written, its 5 open requests as received', () => {
      const run = runCli(['legal', 'import', 'examples/legal-requests.csv', '--data', dataDir, '--json']);
      expect(run.status, run.stderr).toBe(0);
      const rows = readFileSync(EXAMPLE_FILES.legal, 'utf8').trim().split('\n').length - 1;
      expect(JSON.parse(run.stdout)).toMatchObject({ imported: rows, open: 5 });
    });

    it('refuses the same file a second time, saying so, and loads it with --again', () => {
      const refused = runCli(['legal', 'import', 'examples/legal-requests.csv', '--data', dataDir]);
      expect(refused.status).not.toBe(0);
      expect(refused.stderr).toContain('LEGAL_HISTORY_ALREADY_IMPORTED');
      expect(refused.stderr).toContain('--again');
      const again = runCli(['legal', 'import', 'examples/legal-requests.csv', '--data', dataDir, '--again']);
      expect(again.status, again.stderr).toBe(0);
      expect(again.stdout).toContain('5 of them still open');
    });

    it('loads examples/privacy-requests.csv once; a second run changes nothing', () => {
      const first = runCli([
        'privacy',
        'import',
        'examples/privacy-requests.csv',
        '--data',
        dataDir,
        '--json',
      ]);
      expect(first.status, first.stderr).toBe(0);
      expect(JSON.parse(first.stdout).loaded).toBe(3765);
      const second = runCli(['privacy', 'import', 'examples/privacy-requests.csv', '--data', dataDir]);
      expect(second.status).not.toBe(0);
      expect(second.stderr).toContain('PRIVACY_HISTORY_ALREADY_IMPORTED');
      expect(second.stderr).toContain('nothing was loaded');
    });
  });

  describe('when sent to a server with --again', () => {
    it('passes again=true', async () => {
      const scratch = mkdtempSync(join(tmpdir(), 'glasshouse-import-again-'));
      try {
        const file = join(scratch, 'p.csv');
        writeFileSync(file, `${PRIVACY_HEADER}\n2012-05-01,inventory,completed,2012-05-02\n`);
        const address = await h.app.listen({ host: '127.0.0.1', port: 0 });
        const token = await h.token('privacy');
        const args = ['privacy', 'import', file, '--url', address, '--token', token];
        expect((await runCliAsync(args)).status).toBe(0);
        const refused = await runCliAsync(args);
        expect(refused.status).not.toBe(0);
        expect(refused.stderr).toContain('PRIVACY_HISTORY_ALREADY_IMPORTED');
        expect((await runCliAsync([...args, '--again'])).status).toBe(0);
        expect((await reportOf('2012-H1')).privacy.total).toBe(2);
      } finally {
        rmSync(scratch, { recursive: true, force: true });
      }
    });
  });
});
