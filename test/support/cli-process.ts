import { type ChildProcess, spawn } from 'node:child_process';
import { CLI_ENTRY, REPO_ROOT } from './cli.js';

const READY_TIMEOUT_MS = 60_000;
const OUTPUT_KEPT = 16_384;

/** Every process this module started and that has not exited yet, so none outlives the run. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface CliProcess {
  /** What the process printed as its first line: `listening on <url>`. */
  readonly url: string;
  /** The last few kilobytes of stdout and stderr, for failure messages. */
  output(): string;
  /** Sends SIGTERM and resolves with the exit code once the process is gone. */
  stop(): Promise<number | null>;
  /** Sends SIGKILL (a crash: nothing runs on the way out) and resolves once the process is gone. */
  kill(): Promise<void>;
}

/**
 * Runs a long-lived CLI command (`glasshouse site`, `glasshouse control`)  and
 * resolves once it prints `listening on <url>` on stdout.
 *
 * @example
 * const site = await startCliProcess(['site', '--name', 'zurich', '--data', dir, '--tls', bundle, '--port', '0']);
 */
export async function startCliProcess(args: readonly string[]): Promise<CliProcess> {
  const child = spawn(process.execPath, [...CLI_ENTRY, ...args], {
    cwd: REPO_ROOT,
    env: Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GLASSHOUSE_'))),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  void exited.then(() => running.delete(child));
  let output = '';
  let stdout = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT);
  });
  const listening = new Promise<string>((resolve) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT);
      const match = /^listening on (\S+)\n/.exec(stdout);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const url = await Promise.race([
    listening,
    exited.then((code) => {
      throw new Error(`glasshouse ${args[0]} exited (${code}) before listening:\n${output}`);
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`glasshouse ${args[0]} did not listen in time:\n${output}`)),
        READY_TIMEOUT_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  return {
    url,
    output: () => output,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      return exited;
    },
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Kills every process still running (for `afterAll`, also after a failed test). */
export async function killAllCliProcesses(): Promise<void> {
  await Promise.all(
    [...running].map((child) => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGKILL');
      return exited;
    }),
  );
}
