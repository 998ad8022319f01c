import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HuntStatus } from '../src/control/hunts/index.js';
import { CLI_ENTRY, type CliResult, REPO_ROOT, runCliAsync } from './support/cli.js';
import { bearer, type Harness, startHarness } from './support/harness.js';
import { registerInstallation, submitSample } from './support/installations.js';

/*
 * `glasshouse samples tag|untag|comment|comments` and `glasshouse hunts …` against one
 * server listening in this process: what each command changes is read back through the API.
 * Each CLI process costs seconds on a loaded machine, so the calls are few.
 */

const MARKER = `CLI-HUNT-${randomBytes(6).toString('hex')}`;
const RULES = `rule cli_marker\n{\n  strings:\n    $a = "${MARKER}"\n  condition:\n    $a\n}\n`;

let h: Harness;
let url = '';
let analystToken = '';
let analyst: Record<string, string>;
let marked = '';
let plain = '';
let dir = '';

/** The CLI as the analyst, the server and token from the environment. */
const cli = (args: readonly string[]) =>
  runCliAsync(args, { GLASSHOUSE_URL: url, GLASSHOUSE_TOKEN: analystToken });

/** {@link cli} with `input` on its stdin. */
function cliWithInput(args: readonly string[], input: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [...CLI_ENTRY, ...args],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, GLASSHOUSE_URL: url, GLASSHOUSE_TOKEN: analystToken },
        timeout: 60_000,
      },
      (error, stdout, stderr) =>
        resolve({ status: error === null ? 0 : ((error as { code?: number }).code ?? 1), stdout, stderr }),
    );
    child.stdin!.end(input);
  });
}

const api = async (path: string) => {
  const response = await h.app.inject({ url: path, headers: analyst });
  expect(response.statusCode, response.body).toBe(200);
  return response.json();
};

beforeAll(async () => {
  h = await startHarness();
  const product = await h.token('product');
  analystToken = await h.token('analyst');
  analyst = bearer(analystToken);
  const zurich = await registerInstallation(h.app, product, 'DE');
  const upload = async (bytes: Buffer) => {
    const response = await submitSample(h.app, product, zurich.id, 'a.exe', bytes);
    expect(response.statusCode, response.body).toBeLessThan(300);
    return response.json().sha256 as string;
  };
  marked = await upload(Buffer.concat([randomBytes(500), Buffer.from(MARKER), randomBytes(500)]));
  plain = await upload(randomBytes(1000));
  url = await h.app.listen({ host: '127.0.0.1', port: 0 });
  dir = mkdtempSync(join(tmpdir(), 'glasshouse-catalogue-cli-'));
}, 300_000);
afterAll(async () => {
  await h?.close();
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

describe('glasshouse samples tag, untag, comment, comments', () => {
  it('tags, untags and comments a sample, as the API then shows it', async () => {
    const [tagged, commented] = await Promise.all([
      cli(['samples', 'tag', plain, 'family:emotet', '--json']),
      cli(['samples', 'comment', plain, 'unpacks to a second stage']),
    ]);
    expect(tagged.status, tagged.stderr).toBe(0);
    expect(JSON.parse(tagged.stdout)).toEqual({
      sha256: plain,
      tag: 'family:emotet',
      sites: ['zurich'],
      changed: true,
    });
    expect(commented.status, commented.stderr).toBe(0);
    expect(commented.stdout).toMatch(new RegExp(`^comment \\S+ on ${plain} at `));
    const sample = await api(`/v1/samples/${plain}`);
    expect(sample.tags).toEqual(['family:emotet']);
    expect(sample.comments).toBe(1);

    const [untagged, listed] = await Promise.all([
      cli(['samples', 'untag', plain, 'family:emotet']),
      cli(['samples', 'comments', plain, '--limit', '1', '--json']),
    ]);
    expect(untagged.status, untagged.stderr).toBe(0);
    expect(untagged.stdout).toBe(`removed family:emotet from ${plain} at zurich\n`);
    expect((await api(`/v1/samples/${plain}`)).tags).toEqual([]);
    expect(listed.status, listed.stderr).toBe(0);
    const page = JSON.parse(listed.stdout);
    expect(page).toEqual(await api(`/v1/samples/${plain}/comments?limit=1`));
    expect(page.next).toBeNull();
    expect(page.comments).toMatchObject([{ sha256: plain, text: 'unpacks to a second stage' }]);
  }, 240_000);

  it('refuses a tag the API refuses, and a malformed hash, with their codes and exit 1', async () => {
    const [badTag, badHash] = await Promise.all([
      cli(['samples', 'tag', plain, 'Family:Emotet', '--json']),
      cli(['samples', 'comments', 'not-a-hash']),
    ]);
    expect(badTag.status).toBe(1);
    expect(JSON.parse(badTag.stdout).error).toMatchObject({ code: 'INVALID_TAG', exitCode: 1 });
    expect(badTag.stderr).toContain('[INVALID_TAG]');
    expect((await api(`/v1/samples/${plain}`)).tags).toEqual([]);
    expect(badHash.status).toBe(1);
    expect(badHash.stdout).toBe('');
    expect(badHash.stderr).toMatch(/^glasshouse: .*\[MALFORMED_HASH\]\n$/);
  }, 240_000);
});

describe('glasshouse hunts', () => {
  it('starts a hunt from a rule file, shows it, lists the sample its rule matches, and stops it', async () => {
    const rules = join(dir, 'rules.yar');
    writeFileSync(rules, RULES);
    const started = await cli(['hunts', 'start', '--rules', rules, '--name', 'cli markers', '--json']);
    expect(started.status, started.stderr).toBe(0);
    const hunt: HuntStatus = JSON.parse(started.stdout);
    expect(hunt).toMatchObject({ name: 'cli markers', rulesSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(hunt.sites).toContain('zurich');
    expect(['scanning', 'active']).toContain(hunt.state);
    // Through its scan: polled through the API, cheaper than a CLI process a poll.
    const deadline = Date.now() + 120_000;
    while ((await api(`/v1/hunts/${hunt.id}`)).state !== 'active') {
      expect(Date.now(), 'the hunt never got through its scan').toBeLessThan(deadline);
      await new Promise((r) => setTimeout(r, 20));
    }

    const [shown, matches, list] = await Promise.all([
      cli(['hunts', 'show', hunt.id]),
      cli(['hunts', 'matches', hunt.id, '--limit', '10', '--json']),
      cli(['hunts', 'list']),
    ]);
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(`id       ${hunt.id}`);
    expect(shown.stdout).toMatch(/^state {4}active$/m);
    expect(shown.stdout).toMatch(/^progress 2\/2 samples, /m);
    expect(shown.stdout).toMatch(/^matches {2}1$/m);
    expect(matches.status, matches.stderr).toBe(0);
    const found = JSON.parse(matches.stdout);
    expect(found).toEqual(await api(`/v1/hunts/${hunt.id}/matches?limit=10`));
    expect(found).toMatchObject({
      matches: [{ sha256: marked, site: 'zurich', rules: ['cli_marker'] }],
      next: null,
    });
    expect(list.status, list.stderr).toBe(0);
    expect(list.stdout).toContain(hunt.id);
    expect(list.stdout).toContain('cli markers');

    const stopped = await cli(['hunts', 'stop', hunt.id, '--json']);
    expect(stopped.status, stopped.stderr).toBe(0);
    expect(JSON.parse(stopped.stdout)).toMatchObject({ id: hunt.id, state: 'stopped' });
    expect((await api(`/v1/hunts/${hunt.id}`)).state).toBe('stopped');
  }, 240_000);

  it('refuses a rule set with a syntax error, read from stdin, with its line and column, and starts nothing', async () => {
    const before = (await api('/v1/hunts')).hunts.length;
    const [human, json] = await Promise.all([
      cliWithInput(
        ['hunts', 'start', '--rules', '-'],
        'rule ok { condition: true }\n\nrule broken {\n  condition: filesize >\n}\n',
      ),
      cliWithInput(
        ['hunts', 'start', '--rules', '-', '--json'],
        'rule broken {\n  condition: filesize >\n}\n',
      ),
    ]);
    expect(human.status).toBe(1);
    expect(human.stdout).toBe('');
    expect(human.stderr).toMatch(/^glasshouse: line 5, column \d+: rules: .*syntax error/);
    expect(human.stderr).toContain('[INVALID_YARA_RULES]');
    expect(json.status).toBe(1);
    expect(JSON.parse(json.stdout).error).toMatchObject({ code: 'INVALID_YARA_RULES', exitCode: 1 });
    expect(JSON.parse(json.stdout).error.message).toMatch(/^line 3, column \d+: /);
    expect((await api('/v1/hunts')).hunts).toHaveLength(before);
  }, 240_000);
});
