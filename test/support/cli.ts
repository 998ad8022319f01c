import { execFile, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Node's arguments that run the CLI as `npm install` installs it: `bin/glasshouse.js` over
 * dist/, which the suites' global setup (build-dist.ts) keeps as new as the sources.
 */
export const CLI_ENTRY: readonly string[] = ['bin/glasshouse.js'];

export interface CliResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real CLI, as an operator would. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): CliResult {
  const result = spawnSync(process.execPath, [...CLI_ENTRY, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/**
 * {@link runCli} without blocking the event loop: for a CLI that talks (`--url`) to a server
 * listening in the test process itself.
 */
export function runCliAsync(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return promisify(execFile)(process.execPath, [...CLI_ENTRY, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    timeout: 60_000,
  }).then(
    ({ stdout, stderr }) => ({ status: 0, stdout, stderr }),
    (error: { code?: number; stdout?: string; stderr?: string }) => ({
      status: error.code ?? 1,
      stdout: error.stdout ?? '',
      stderr: error.stderr ?? '',
    }),
  );
}

/**
 * Runs the CLI and kills it (SIGKILL: a crash, nothing runs on the way out)
 * as soon as `when()` holds. Resolves `true` if it was killed, `false` if it finished first
 * (a test that meant to crash it then proves nothing, and should say so).
 *
 * @example
 * const killed = await killCliWhen(['backup', '--data', dir, '--out', out], () => existsSync(`${out}.partial`));
 */
export async function killCliWhen(
  args: readonly string[],
  when: () => boolean,
  env: NodeJS.ProcessEnv = {},
): Promise<boolean> {
  const child = spawn(process.execPath, [...CLI_ENTRY, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (child.exitCode !== null || when()) {
        clearInterval(poll);
        resolve();
      }
    }, 5);
  });
  const killed = child.exitCode === null && child.kill('SIGKILL');
  await exited;
  return killed && child.signalCode === 'SIGKILL';
}
