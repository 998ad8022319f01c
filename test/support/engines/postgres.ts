import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { engineAvailable, engineEnvironment, findExecutable } from './availability.js';

const run = promisify(execFile);

/** The `postgres` server binary of an installed PostgreSQL, newest first. */
export const postgresBinary = findExecutable(
  ['17', '16', '15', '14', '13'].map((version) => `/usr/lib/postgresql/${version}/bin/postgres`),
);

/** For `describe.runIf`: whether the PostgreSQL suites can run here (loud when not). */
export function postgresAvailable(): boolean {
  return engineAvailable('PostgreSQL', postgresBinary, 'apt-get install postgresql');
}

export interface PostgresServer {
  /** A URL for `database` (which may not exist yet), as the `postgres` superuser (no password). */
  url(database: string): string;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs SQL as the superuser against `database` (default `postgres`). */
  query<Row extends pg.QueryResultRow>(text: string, database?: string): Promise<Row[]>;
  /** The server's data directory (for raw scans). */
  readonly dataDir: string;
  stop(): Promise<void>;
}

export interface PostgresOptions {
  /**
   * Whether commits reach the disk (`fsync`). Off by default: the tests do not cut power. A
   * benchmark that compares with stores which do sync turns it on.
   */
  readonly fsync?: boolean;
}

/**
 * A throwaway PostgreSQL server: a fresh cluster in a temporary directory, listening on a
 * free 127.0.0.1 port (and a socket inside that directory). The `postgres` superuser needs
 * no password (`url`); other roles authenticate with theirs (SCRAM).
 * PostgreSQL refuses to run as root, so as root it runs as the `postgres` OS user. A
 * watchdog stops it and removes the directory if this process dies without `stop()`.
 */
export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  if (postgresBinary === undefined) throw new Error('PostgreSQL is not installed');
  const bin = dirname(postgresBinary);
  const root = mkdtempSync(join(tmpdir(), 'glasshouse-pg-'));
  const dataDir = join(root, 'data');
  const socketDir = join(root, 'socket');
  mkdirSync(socketDir);
  const asRoot = process.getuid?.() === 0;
  const asServerUser = (command: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: group } = await run('id', ['-g', 'postgres']);
    for (const path of [root, socketDir]) chownSync(path, Number(stdout.trim()), Number(group.trim()));
  }
  const [initdb, initArgs] = asServerUser(join(bin, 'initdb'), [
    '-D',
    dataDir,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  await run(initdb, initArgs);
  // The superuser without a password; any other role with one, as in production.
  writeFileSync(
    join(dataDir, 'pg_hba.conf'),
    'local all all trust\nhost all postgres 127.0.0.1/32 trust\nhost all all 127.0.0.1/32 scram-sha-256\n',
  );
  const port = await freePort();
  const [postgres, serverArgs] = asServerUser(postgresBinary, [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-h',
    '127.0.0.1',
    '-k',
    socketDir,
    '-c',
    `fsync=${options.fsync === true ? 'on' : 'off'}`,
  ]);
  const server = spawn(postgres, serverArgs, {
    env: engineEnvironment(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  server.stderr?.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const url = (database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  const watchdog = startWatchdog(dataDir, root);
  try {
    await waitUntilReady(url('postgres'), server, () => log);
  } catch (error) {
    await stopServer(dataDir, server);
    rmSync(root, { recursive: true, force: true });
    throw error;
  }
  const query = async <Row extends pg.QueryResultRow>(text: string, database = 'postgres') => {
    const client = new pg.Client({ connectionString: url(database) });
    await client.connect();
    try {
      return (await client.query<Row>(text)).rows;
    } finally {
      await client.end();
    }
  };
  return {
    url,
    dataDir,
    query,
    async createDatabase(name) {
      await query(`create database "${name.replaceAll('"', '""')}"`);
      return url(name);
    },
    async stop() {
      await stopServer(dataDir, server);
      watchdog.kill();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function waitUntilReady(url: string, server: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (server.exitCode !== null) throw new Error(`postgres exited (${server.exitCode}):\n${log()}`);
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch (error) {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) throw new Error(`postgres did not start: ${String(error)}\n${log()}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/** The postmaster's pid (runuser stands between us and it when running as root). */
function postmasterPid(dataDir: string): number | undefined {
  try {
    return Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

async function stopServer(dataDir: string, server: ChildProcess): Promise<void> {
  if (server.exitCode !== null || server.signalCode !== null) return;
  const exited = new Promise((resolve) => server.once('exit', resolve));
  const pid = postmasterPid(dataDir);
  // SIGQUIT: immediate shutdown; the cluster is thrown away anyway.
  if (pid !== undefined) process.kill(pid, 'SIGQUIT');
  else server.kill('SIGQUIT');
  await exited;
}

/**
 * A detached shell that waits for this process to go (a `kill -9` of the test runner
 * included), then stops the server and removes its directory.
 */
function startWatchdog(dataDir: string, root: string): ChildProcess {
  const script = `while kill -0 ${process.pid} 2>/dev/null; do sleep 1; done
pid=$(head -n 1 "$1/postmaster.pid" 2>/dev/null) && kill -QUIT "$pid" 2>/dev/null
sleep 1; rm -rf "$2"`;
  const watchdog = spawn('sh', ['-c', script, 'watchdog', dataDir, root], {
    detached: true,
    stdio: 'ignore',
  });
  watchdog.unref();
  return watchdog;
}
