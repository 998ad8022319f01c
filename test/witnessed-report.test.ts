import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../src/control/reports/report.js';
import { runCli } from './support/cli.js';
import { runCliAsync } from './support/ledger.js';
import { killAllServers, type ServerProcess, startServer } from './support/server-process.js';
import { killAllWitnesses, type WitnessProcess, witnessDeployment } from './support/witness-process.js';

/**
 * A published report of a deployment whose control log a real witness process cosigns: the
 * report names the witness (JSON, Markdown, HTML), and `report verify --witness` checks its
 * cosignature from outside.
 */
describe('a published report of a witnessed deployment', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glasshouse-witnessed-report-'));
  const dataDir = join(dir, 'data');
  let witness: WitnessProcess;
  let absent: string;
  let server: ServerProcess;
  let logKey: string;
  let report: Report;
  const reportFile = join(dir, 'report.json');

  // Nine CLI processes and a server, one after another: slow on a shared machine.
  beforeAll(async () => {
    expect(runCli(['init', '--data', dataDir]).status).toBe(0);
    logKey = runCli(['ledger', 'key', '--data', dataDir]).stdout.trim();
    const history = join(dir, 'history.csv');
    writeFileSync(
      history,
      [
        'received_at,requester_country,authority_kind,category,outcome,reason,closed_at',
        '2021-02-01,DE,law_enforcement,technical_expertise,fulfilled,,2021-02-10',
        '2021-08-02,FR,court,user_data,rejected,no_data,2021-08-20',
      ].join('\n'),
    );
    expect(runCli(['legal', 'import', history, '--data', dataDir]).status).toBe(0);
    expect(runCli(['report', 'publish', '2021', '--data', dataDir]).status).toBe(0);
    ({ witness, absentKey: absent } = await witnessDeployment(dataDir, dir, logKey));
    server = await startServer(dataDir);
    const text = await (await fetch(`${server.baseUrl}/reports/2021/report.json`)).text();
    writeFileSync(reportFile, text);
    report = JSON.parse(text) as Report;
  }, 300_000);

  afterAll(async () => {
    await killAllServers();
    await killAllWitnesses();
    rmSync(dir, { recursive: true, force: true });
  });

  const verify = (file: string, ...args: string[]) =>
    runCliAsync(['report', 'verify', file, '--url', server.baseUrl, '--key', logKey, ...args]);

  it('names the witness that cosigned its checkpoint, with its key ID and key', () => {
    expect(report.legal.total).toBe(2);
    const keyId = witness.key.split('+')[1];
    expect(report.checkpoint.witnesses).toEqual([
      { name: 'witness.test/w1', keyId, key: witness.key, cosignedAt: expect.stringMatching(/^20..-/) },
    ]);
  });

  it('names it in the Markdown and on the page, whose verify command asks for its cosignature', async () => {
    const keyId = witness.key.split('+')[1]!;
    const markdown = await (await fetch(`${server.baseUrl}/reports/2021/report.md`)).text();
    expect(markdown).toContain(`Cosigned by one witness: witness.test/w1 (key ID ${keyId}`);
    expect(markdown).toContain(`--witness '${witness.key}' --quorum 1`);
    const page = await (await fetch(`${server.baseUrl}/reports/2021/`)).text();
    expect(page).toMatch(new RegExp(`<code>witness.test/w1</code>, key ID <code>${keyId}</code>`));
  });

  describe('when report verify is given the witness', () => {
    it('checks its cosignature and names it', async () => {
      const result = await verify(reportFile, '--witness', witness.key, '--json');
      expect(result.status, result.stderr).toBe(0);
      const verified = JSON.parse(result.stdout);
      expect(verified.differences).toEqual([]);
      expect(verified.cosignedBy).toEqual([
        { name: 'witness.test/w1', keyId: witness.key.split('+')[1], timestamp: expect.any(Number) },
      ]);
      const text = await verify(reportFile, '--witness', witness.key);
      expect(text.stdout).toContain('cosigned by witness.test/w1');
    });
  });

  describe('when report verify requires a witness that did not cosign', () => {
    it('fails naming the missing witness and how many of how many cosigned', async () => {
      const result = await verify(reportFile, '--witness', witness.key, '--witness', absent);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('WITNESS_QUORUM_NOT_MET');
      expect(result.stderr).toContain('1 of the 2 witnesses given cosigned the checkpoint, fewer than 2');
      expect(result.stderr).toContain('missing: witness.test/absent');
    });

    it('passes with a quorum the cosigning witness meets', async () => {
      const result = await verify(reportFile, '--witness', witness.key, '--witness', absent, '--quorum', '1');
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain('cosigned by witness.test/w1');
    });

    it('refuses a quorum larger than the keys given', async () => {
      const result = await verify(reportFile, '--witness', witness.key, '--quorum', '2');
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('--quorum 2 is more than the 1 --witness keys given');
    });
  });

  describe('when the report names a witness falsely', () => {
    it('reports the difference, as for a false number', async () => {
      const forged = join(dir, 'forged.json');
      const [named] = report.checkpoint.witnesses;
      writeFileSync(
        forged,
        JSON.stringify({
          ...report,
          checkpoint: {
            ...report.checkpoint,
            witnesses: [
              named,
              { ...named, name: 'witness.test/absent', key: absent, keyId: absent.split('+')[1] },
            ],
          },
        }),
      );
      const result = await verify(forged);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('REPORT_MISMATCH');
      expect(result.stderr).toContain('checkpoint.witnesses[1]');
    });
  });
});
