import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { CLI_ENTRY, REPO_ROOT, runCli } from './cli.js';

const READY_TIMEOUT_MS = 30_000;
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface WitnessProcess {
  readonly url: string;
  /** The witness's verifier key, as it printed it. */
  readonly key: string;
  /** SIGKILL: no shutdown hook runs. */
  kill(): Promise<void>;
}

/**
 * Runs `glasshouse witness --data DIR --port 0` as a real child process and resolves once
 * it printed where it listens.
 *
 * @example
 * const witness = await startWitness(dir);
 * await fetch(`${witness.url}/add-checkpoint`, { method: 'POST', body });
 */
export async function startWitness(dataDir: string): Promise<WitnessProcess> {
  const child = spawn(
    process.execPath,
    [...CLI_ENTRY, 'witness', '--data', dataDir, '--port', '0', '--log-level', 'warn'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  child.once('exit', () => running.delete(child));
  let output = '';
  const ready = new Promise<{ url: string; key: string }>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the witness did not start:\n${output}`)),
      READY_TIMEOUT_MS,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const url = /listening on (\S+)/.exec(output)?.[1];
      const key = /^witness (\S+)$/m.exec(output)?.[1];
      if (url !== undefined && key !== undefined) {
        clearTimeout(timer);
        resolve({ url, key });
      }
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8');
    });
    child.once('exit', () => reject(new Error(`the witness exited:\n${output}`)));
  });
  const { url, key } = await ready;
  return {
    url,
    key,
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Kills every witness still running (for `afterAll`). */
export async function killAllWitnesses(): Promise<void> {
  await Promise.all(
    [...running].map(async (child) => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    }),
  );
}

/**
 * A witness (`witness.test/w1`, data under `dir/witness`) that follows the log whose verifier
 * key is `logKey`, started and named in `dataDir`'s `ledger.witnesses`; and the key of a
 * witness (`witness.test/absent`) that never hears of the deployment, so its cosignature is
 * never there. Call before the server starts, which reads the witnesses from its config.
 *
 * @example
 * const { witness, absentKey } = await witnessDeployment(dataDir, dir, logKey);
 */
export async function witnessDeployment(
  dataDir: string,
  dir: string,
  logKey: string,
): Promise<{ witness: WitnessProcess; absentKey: string }> {
  const witnessData = join(dir, 'witness');
  runCli(['witness', 'key', '--data', witnessData, '--name', 'witness.test/w1']);
  const added = runCli(['witness', 'add-log', '--data', witnessData, '--key', logKey]);
  if (added.status !== 0) throw new Error(`witness add-log failed: ${added.stderr}`);
  const absentKey = runCli([
    'witness',
    'key',
    '--data',
    join(dir, 'absent'),
    '--name',
    'witness.test/absent',
  ]).stdout.trim();
  const witness = await startWitness(witnessData);
  const configFile = join(dataDir, 'config.yaml');
  const config = parseYaml(readFileSync(configFile, 'utf8')) as { ledger?: Record<string, unknown> };
  config.ledger = {
    ...config.ledger,
    witnesses: [{ name: 'witness.test/w1', key: witness.key, url: witness.url }],
  };
  writeFileSync(configFile, stringifyYaml(config));
  return { witness, absentKey };
}
