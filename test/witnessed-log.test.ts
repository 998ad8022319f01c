import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCosignatures, parseCosignerVerifierKey } from '../src/ledger/note/index.js';
import { runCli } from './support/cli.js';
import { runCliAsync } from './support/ledger.js';
import { killAllServers, type ServerProcess, startServer } from './support/server-process.js';
import { killAllWitnesses, type WitnessProcess, witnessDeployment } from './support/witness-process.js';

/**
 * A real deployment (`glasshouse up`) whose control log is witnessed by a real witness
 * process (`glasshouse witness`), verified from outside with `ledger verify --witness`.
 */
describe('a deployment with a witness', () => {
  const dir = mkdtempSync(join(tmpdir(), 'glasshouse-witnessed-'));
  const dataDir = join(dir, 'data');
  let witness: WitnessProcess;
  let absent: string;
  let server: ServerProcess;
  let logKey: string;

  beforeAll(async () => {
    expect(runCli(['init', '--data', dataDir]).status).toBe(0);
    logKey = runCli(['ledger', 'key', '--data', dataDir]).stdout.trim();
    ({ witness, absentKey: absent } = await witnessDeployment(dataDir, dir, logKey));
    server = await startServer(dataDir);
  }, 300_000);

  afterAll(async () => {
    await killAllServers();
    await killAllWitnesses();
    rmSync(dir, { recursive: true, force: true });
  });

  const verify = (...args: string[]) =>
    runCliAsync(['ledger', 'verify', '--url', server.baseUrl, '--key', logKey, ...args]);

  it('publishes the control checkpoint with the witness’s cosignature', async () => {
    const checkpoint = await (await fetch(`${server.baseUrl}/log/control/checkpoint`)).text();
    expect(openCosignatures(checkpoint, [parseCosignerVerifierKey(witness.key)])).toHaveLength(1);
  });

  describe('when ledger verify is given the witness', () => {
    it('checks the cosignature and names the witness', async () => {
      const result = await verify('--witness', witness.key, '--json');
      expect(result.status, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout).cosignedBy).toEqual([
        { name: 'witness.test/w1', timestamp: expect.any(Number) },
      ]);
    });
  });

  describe('when ledger verify is given a witness that did not cosign', () => {
    it('fails when the quorum counts it', async () => {
      const result = await verify('--witness', witness.key, '--witness', absent);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('witness.test/absent');
    });

    it('passes with --quorum 1', async () => {
      const result = await verify('--witness', witness.key, '--witness', absent, '--quorum', '1');
      expect(result.status, result.stderr).toBe(0);
      expect(result.stdout).toContain('cosigned by witness.test/w1');
    });
  });
});
