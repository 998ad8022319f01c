import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseDocument } from 'yaml';
import { onCleanup } from './cleanup.js';
import { type ProcMemory, RssSampler, readProcMemory, resetPeakRss } from './proc.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * The installed entry point, as `npm start` runs it: the compiled CLI (`npm run bench` builds
 * it first, no tsx in the figures) with the process settings its launcher makes.
 */
const CLI_ENTRY = join(REPO_ROOT, 'bin', 'glasshouse.js');

const run = promisify(execFile);

/**
 * The environment for child processes, without GLASSHOUSE_* settings that would override ours,
 * plus `extra` (an engine's credentials, for example).
 */
function childEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GLASSHOUSE_'))),
    ...extra,
  };
}

/**
 * Runs `glasshouse <args>` from the sources and returns its stdout; throws with stderr on
 * failure. `env` is added to its environment.
 */
export async function glasshouseCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [CLI_ENTRY, ...args], {
      cwd: REPO_ROOT,
      env: childEnv(env),
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`glasshouse ${args.join(' ')} failed: ${String(error)}\n${stderr}`);
  }
}

export interface DataDirSettings {
  /** Written into `limits.maxSampleBytes` of the new directory's config.yaml. */
  readonly maxSampleBytes?: number;
  /** Written into `samples.fingerprints` (false: uploads without fuzzy hashes and file type). */
  readonly fingerprints?: boolean;
}

/** `glasshouse init` on a new directory, then {@link tuneConfig} on its config.yaml. */
export async function initDataDir(dataDir: string, settings: DataDirSettings = {}): Promise<void> {
  await glasshouseCli(['init', '--data', dataDir, '--json']);
  tuneConfig(join(dataDir, 'config.yaml'), settings);
}

/**
 * Patches a data directory's config.yaml for a benchmark: one client on one address does a
 * fleet's work, so the rate limits are off, the connection cap and the largest verdict feed
 * raised.
 */
export function tuneConfig(file: string, settings: DataDirSettings = {}): void {
  const document = parseDocument(readFileSync(file, 'utf8'));
  if (settings.maxSampleBytes !== undefined) {
    document.setIn(['limits', 'maxSampleBytes'], settings.maxSampleBytes);
  }
  if (settings.fingerprints !== undefined) document.setIn(['samples', 'fingerprints'], settings.fingerprints);
  for (const limit of ['perAddress', 'perToken', 'failedAuthPerAddress', 'registrationsPerAddress']) {
    document.setIn(['rateLimits', limit, 'max'], 0);
  }
  document.setIn(['server', 'maxConnectionsPerAddress'], 0);
  document.setIn(['lookup', 'maxImportBytes'], 64 * 1024 ** 3);
  writeFileSync(file, document.toString());
}

export interface CreatedToken {
  readonly id: string;
  readonly token: string;
  readonly role: string;
}

/** `glasshouse token create`; `env` for a data directory whose metadata lives in an engine. */
export async function createToken(
  dataDir: string,
  role: string,
  env: NodeJS.ProcessEnv = {},
): Promise<CreatedToken> {
  const out = await glasshouseCli(['token', 'create', '--role', role, '--data', dataDir, '--json'], env);
  return JSON.parse(out) as CreatedToken;
}

/** A port that was free a moment ago on 127.0.0.1 (the OS picks it; we release it at once). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('no port'));
        return;
      }
      server.close(() => resolve(address.port));
    });
  });
}

export interface ServerOptions extends ServiceOptions {
  readonly dataDir: string;
  readonly logLevel?: string;
  /** More flags for `up`, e.g. `['--example']`. */
  readonly upArgs?: readonly string[];
}

export interface ServiceOptions {
  /** Extra flags for `node` itself, e.g. `['--cpu-prof', '--cpu-prof-dir', dir]`. */
  readonly nodeArgs?: readonly string[];
  readonly readyTimeoutMs?: number;
  /** Added to the child's environment (an engine's credentials, for example). */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * A `glasshouse up` (or `site`, `control`) child process. It is spawned as `node
 * bin/glasshouse.js` directly (no npx wrapper; the launcher loads the CLI in its own process),
 * so `pid` is the server's own and its /proc memory figures are the server's.
 */
export class ServerProcess {
  readonly pid: number;
  readonly baseUrl: string;
  readonly rss: RssSampler;
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;
  #stderr = '';
  readonly #release: () => void;

  private constructor(child: ChildProcess, baseUrl: string) {
    if (child.pid === undefined) throw new Error('server did not start');
    this.#child = child;
    this.pid = child.pid;
    this.baseUrl = baseUrl;
    this.rss = new RssSampler(this.pid, 100);
    const keep = (chunk: Buffer) => {
      // The tail is enough to explain a failure; the head holds the admin-token banner.
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-16_384);
    };
    child.stderr?.on('data', keep);
    child.stdout?.on('data', keep);
    this.#exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    this.#release = onCleanup(() => this.stop());
  }

  static async start(options: ServerOptions): Promise<ServerProcess> {
    const port = await freePort();
    const child = spawnCli(
      [
        'up',
        '--data',
        options.dataDir,
        '--port',
        String(port),
        '--log-level',
        options.logLevel ?? 'warn',
        ...(options.upArgs ?? []),
      ],
      options,
    );
    const server = new ServerProcess(child, `http://127.0.0.1:${port}`);
    try {
      await server.#waitReady(options.readyTimeoutMs ?? 60_000);
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  /**
   * A long-lived CLI command that prints `listening on <url>` as its first line of stdout once
   * it serves (`glasshouse site`, `glasshouse control`, with `--port 0`).
   */
  static async startListening(args: readonly string[], options: ServiceOptions = {}): Promise<ServerProcess> {
    const child = spawnCli(args, options);
    let stdout = '';
    let onExit: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        stdout += chunk.toString('utf8');
        const match = /^listening on (\S+)\n/.exec(stdout);
        if (match?.[1] !== undefined) {
          child.stdout?.off('data', onData);
          resolve(match[1]);
        }
      };
      child.stdout?.on('data', onData);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr = (stderr + chunk.toString('utf8')).slice(-16_384);
      });
      onExit = () => reject(new Error(`glasshouse ${args.join(' ')} exited before listening:\n${stderr}`));
      child.once('exit', onExit);
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`glasshouse ${args[0]} did not listen in time:\n${stderr}`));
      }, options.readyTimeoutMs ?? 60_000);
    }).finally(() => {
      clearTimeout(timer);
      if (onExit !== undefined) child.off('exit', onExit);
    });
    return new ServerProcess(child, url);
  }

  /** The tail of what the server wrote to stdout and stderr. */
  get output(): string {
    return this.#stderr;
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  memory(): ProcMemory | undefined {
    return readProcMemory(this.pid);
  }

  /**
   * Starts a measurement phase: resets VmHWM where the kernel allows it and the sampled
   * maximum. Returns whether VmHWM was reset (if not, it stays a lifetime peak).
   */
  beginPhase(): boolean {
    const reset = resetPeakRss(this.pid);
    this.rss.reset();
    return reset;
  }

  /** Peak RSS of the phase: VmHWM, and the largest VmRSS sampled every 100 ms. */
  endPhase(): { hwm: number | undefined; sampledMax: number } {
    return { hwm: this.memory()?.hwm, sampledMax: this.rss.max() };
  }

  /** SIGTERM (graceful: lets `--cpu-prof` write its profile), then SIGKILL after 15 s. */
  async stop(): Promise<void> {
    this.rss.stop();
    this.#release();
    if (!this.running) return;
    this.#child.kill('SIGTERM');
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), 15_000);
    await this.#exited;
    clearTimeout(timer);
  }

  async #waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`server exited before it was ready:\n${this.#stderr}`);
      try {
        const response = await fetch(`${this.baseUrl}/readyz`, { signal: AbortSignal.timeout(2000) });
        await response.arrayBuffer();
        if (response.status === 200) return;
      } catch {
        // not listening yet
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`server not ready after ${timeoutMs} ms:\n${this.#stderr}`);
  }
}

/** `node [node args] bin/glasshouse.js <args>`, its output piped. */
function spawnCli(args: readonly string[], options: ServiceOptions): ChildProcess {
  return spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      // For profiling a run: BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'.
      ...(process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? []),
      CLI_ENTRY,
      ...args,
    ],
    { cwd: REPO_ROOT, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] },
  );
}
