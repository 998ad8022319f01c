import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.js';
import { filesUnder } from './support/files.js';

let dataDir: string;

beforeAll(() => {
  dataDir = join(mkdtempSync(join(tmpdir(), 'glasshouse-cli-')), 'data');
});
afterAll(() => rmSync(join(dataDir, '..'), { recursive: true, force: true }));

function cli(...args: string[]) {
  return runCli([...args, '--data', dataDir]);
}

describe('glasshouse init', () => {
  describe('when the data directory is new', () => {
    it('creates config, keys and an admin token, readable by the owner only', () => {
      const result = cli('init', '--json');
      expect(result.status, result.stderr).toBe(0);
      const out = JSON.parse(result.stdout);
      expect(out.created).toBe(true);
      expect(out.adminToken).toMatch(/^glh_[0-9a-f]{12}_/);
      expect(out.keysCreated).toEqual(
        expect.arrayContaining([
          'zurich.master.key',
          'moscow.master.key',
          'control.ed25519.pem',
          'zurich.ed25519.pem',
        ]),
      );
      expect(statSync(dataDir).mode & 0o777).toBe(0o700);
      for (const file of filesUnder(dataDir)) expect(statSync(file).mode & 0o077, file).toBe(0);
    });
  });

  describe('when run again', () => {
    it('changes nothing and prints no new admin token', () => {
      const result = cli('init', '--json');
      expect(result.status).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        dataDir,
        created: false,
        deployment: expect.stringMatching(/^glasshouse-[0-9a-f]{8}$/),
        keysCreated: [],
      });
    });
  });
});

describe('glasshouse token', () => {
  describe('when a token is created, listed and revoked', () => {
    it('prints the secret once, lists without it, and marks it revoked', () => {
      const created = JSON.parse(
        cli('token', 'create', '--role', 'analyst', '--sites', 'zurich', '--json').stdout,
      );
      expect(created).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{12}$/),
        token: expect.any(String),
        role: 'analyst',
        sites: ['zurich'],
        person: null,
        expiresAt: null,
      });
      const listed = cli('token', 'list', '--json');
      expect(listed.stdout).not.toContain(created.token);
      expect(JSON.parse(listed.stdout)).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ id: created.id, role: 'analyst', revokedAt: null }),
        ]),
      );
      expect(cli('token', 'revoke', created.id).status).toBe(0);
      const after = JSON.parse(cli('token', 'list', '--json').stdout) as {
        id: string;
        revokedAt: string | null;
      }[];
      expect(after.find((t) => t.id === created.id)?.revokedAt).toEqual(expect.any(String));
    });
  });

  describe('when an officer token is created for a person, with an expiry', () => {
    it('lists its person, expiry, state and last use, and refuses the person a second one', () => {
      const started = Date.now();
      const created = cli(
        'token',
        'create',
        '--role',
        'legal',
        '--person',
        'Ada Lovelace',
        '--expires',
        '90d',
        '--json',
      );
      expect(created.status, created.stderr).toBe(0);
      const { id, person, expiresAt } = JSON.parse(created.stdout);
      expect(person).toBe('Ada Lovelace');
      const days = (Date.parse(expiresAt) - started) / 86_400_000;
      expect(days).toBeGreaterThan(89.9);
      expect(days).toBeLessThanOrEqual(90.01);
      const second = cli('token', 'create', '--role', 'legal', '--person', 'ada lovelace');
      expect(second.status).toBe(1);
      expect(second.stderr).toContain(`already holds an active legal token (${id})`);
      const table = cli('token', 'list').stdout.split('\n');
      expect(table[0]).toMatch(/^id +role +sites +person +state +created +expires +last used +label$/);
      const row = table.find((line) => line.startsWith(id));
      expect(row).toContain('Ada Lovelace');
      expect(row).toContain(expiresAt);
      expect(row).toMatch(/ active .* never/);
      const listed = JSON.parse(cli('token', 'list', '--json').stdout) as { id: string }[];
      expect(listed.find((t) => t.id === id)).toMatchObject({
        person: 'Ada Lovelace',
        expiresAt,
        lastUsedAt: null,
        state: 'active',
      });
      expect(cli('token', 'revoke', id).status).toBe(0);
    });
  });

  describe('when the input is wrong', () => {
    it.each([
      [['token', 'create', '--role', 'superuser'], /unknown role "superuser"/],
      [['token', 'create', '--role', 'legal'], /names the person it belongs to \(--person\)/],
      [['token', 'create', '--role', 'analyst', '--expires', 'soon'], /--expires: "soon" is neither/],
      [['token', 'create', '--role', 'analyst', '--expires', '2020-01-01'], /is not in the future/],
      [['token', 'create', '--role', 'analyst', '--sites', 'geneva'], /unknown site\(s\): geneva/],
      [['token', 'revoke', 'ffffffffffff'], /no active token/],
    ])('exits 1 with a one-line reason (%#)', (args, message) => {
      const result = cli(...args);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(message);
      expect(result.stderr.trim().split('\n')).toHaveLength(1);
    });
  });
});

describe('glasshouse policy', () => {
  describe('when resolving a country at a date', () => {
    it('answers moscow before and zurich after 2022-03-01', () => {
      const before = JSON.parse(
        cli('policy', 'resolve', '--country', 'SA', '--at', '2022-02-01', '--json').stdout,
      );
      const after = JSON.parse(
        cli('policy', 'resolve', '--country', 'SA', '--at', '2022-03-02', '--json').stdout,
      );
      expect([before.site, after.site]).toEqual(['moscow', 'zurich']);
      expect(cli('policy', 'resolve', '--country', 'BR', '--at', '2022-03-02').stdout).toMatch(
        /BR .*: zurich \(policy version 5, by region LATAM\)/,
      );
    });
  });

  describe('when a version is set from a file', () => {
    it('adds it to the history, and refuses a bad file naming the problem', () => {
      const file = join(dataDir, '..', 'v6.yaml');
      // The CLI runs on the real clock: dates a year and a year and a half after the run.
      const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();
      writeFileSync(
        file,
        `effectiveFrom: ${inDays(365)}\ndefault: zurich\nassign:\n  - countries: [RU]\n    site: moscow\n`,
      );
      const added = cli('policy', 'set', file, '--json');
      expect(added.status, added.stderr).toBe(0);
      expect(JSON.parse(added.stdout)).toMatchObject({ version: 6, default: 'zurich' });
      const shown = JSON.parse(cli('policy', 'show', '--json').stdout);
      expect(shown.versions).toHaveLength(6);
      expect(shown.inForce).toBe(5);
      writeFileSync(
        file,
        `effectiveFrom: ${inDays(545)}\ndefault: zurich\nassign:\n  - countries: [RU]\n    site: geneva\n`,
      );
      const refused = cli('policy', 'set', file);
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/geneva/);
      expect(JSON.parse(cli('policy', 'show', '--json').stdout).versions).toHaveLength(6);
    });
  });
});

describe('--help', () => {
  it.each([
    [[]],
    [['up']],
    [['init']],
    [['token', 'create']],
    [['token', 'list']],
    [['token', 'revoke']],
    [['policy', 'show']],
    [['policy', 'resolve']],
    [['policy', 'set']],
  ])('documents %j', (args) => {
    const result = runCli([...args, '--help']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^Usage: glasshouse/);
  });
});
