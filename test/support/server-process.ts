import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import type { Role } from '../../src/control/auth/roles.js';
import { CLI_ENTRY, REPO_ROOT } from './cli.js';

const CLI = CLI_ENTRY;
/** `glasshouse up` with a fault injected by the test (see crashing-server.ts). */
const CRASHING_SERVER = ['--import', 'tsx', 'test/support/crashing-server.ts'] as const;
const READY_TIMEOUT_MS = 60_000;
const OUTPUT_KEPT = 16_384;

/** Every server this module started and that has not exited yet, so none outlives the test run. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ServerOptions {
  /** The server kills itself (SIGKILL) once the privacy job has done this many steps. */
  readonly crashAfterPrivacyStep?: number;
  /** How long to wait for `/readyz` (default 30 s): longer for a test that starts a server on a loaded machine. */
  readonly readyTimeoutMs?: number;
}

export interface ServerProcess {
  readonly pid: number;
  readonly baseUrl: string;
  /** The last few kilobytes the server wrote to stdout and stderr, for failure messages. */
  output(): string;
  /** Sends SIGKILL (no shutdown hook runs) and resolves once the process is gone. */
  kill(): Promise<void>;
}

/**
 * Runs `glasshouse up` as a real child process on `dataDir`, on a free port of 127.0.0.1,
 * and resolves once `GET /readyz` answers 200, that is after crash recovery has run.
 *
 * @example
 * const server = await startServer(dataDir);
 * await fetch(`${server.baseUrl}/readyz`);
 * await server.kill();
 */
export async function startServer(
  dataDir: string,
  extraArgs: readonly string[] = [],
  options: ServerOptions = {},
): Promise<ServerProcess> {
  const command =
    options.crashAfterPrivacyStep === undefined
      ? [...CLI, 'up']
      : [...CRASHING_SERVER, String(options.crashAfterPrivacyStep), 'up'];
  let lastError: unknown;
  // Another process may take the port between our probe and the server's bind: try again.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOnce(
        command,
        dataDir,
        await freePort(),
        extraArgs,
        options.readyTimeoutMs ?? READY_TIMEOUT_MS,
      );
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

/** Kills every server still running (for `afterAll`, also after a failed test). */
export async function killAllServers(): Promise<void> {
  await Promise.all([...running].map((child) => killChild(child)));
}

/**
 * Creates a token with the real CLI, beside a running server, and returns its secret.
 *
 * @example
 * const analyst = await createToken(dataDir, 'analyst');
 */
export async function createToken(dataDir: string, role: Role): Promise<string> {
  // Officers' tokens name a person; each token here is a person of its own.
  const person = role === 'product' ? [] : ['--person', `${role} officer ${randomUUID()}`];
  const { stdout } = await promisify(execFile)(
    process.execPath,
    [...CLI, 'token', 'create', '--role', role, ...person, '--data', dataDir, '--json'],
    { cwd: REPO_ROOT, env: hermeticEnv(), timeout: 60_000 },
  );
  const created = JSON.parse(stdout) as { token?: unknown; role?: unknown };
  if (typeof created.token !== 'string' || created.role !== role) {
    throw new Error(`unexpected output of token create: ${stdout}`);
  }
  return created.token;
}

async function startOnce(
  command: readonly string[],
  dataDir: string,
  port: number,
  extraArgs: readonly string[],
  readyTimeoutMs: number,
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      ...command,
      '--data',
      dataDir,
      '--host',
      '127.0.0.1',
      '--port',
      String(port),
      '--log-level',
      'warn',
      ...extraArgs,
    ],
    { cwd: REPO_ROOT, env: hermeticEnv(), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEPT);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const baseUrl = `http://127.0.0.1:${port}`;
  try {
    await waitUntilReady(baseUrl, exited, readyTimeoutMs);
  } catch (error) {
    await killChild(child);
    throw new Error(`glasshouse up did not become ready: ${String(error)}\n${output}`, { cause: error });
  }
  if (child.pid === undefined) throw new Error('the server process has no pid');
  return {
    pid: child.pid,
    baseUrl,
    output: () => output,
    kill: () => killChild(child),
  };
}

async function waitUntilReady(baseUrl: string, exited: Promise<void>, timeoutMs: number): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw new Error('the server exited before it was ready');
    const status = await fetch(`${baseUrl}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
      (response) => response.status,
      () => undefined,
    );
    if (status === 200) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no 200 from ${baseUrl}/readyz within ${timeoutMs} ms`);
}

async function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await exited;
}

/** Binds 127.0.0.1:0 to learn a port nobody uses right now, then releases it. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address === null || typeof address === 'string') reject(new Error('no TCP address'));
        else resolve(address.port);
      });
    });
  });
}

/** The parent's environment without GLASSHOUSE_* settings, so only the flags configure the child. */
function hermeticEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('GLASSHOUSE_')));
}
