import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineEnvironment, findExecutable } from './availability.js';

/** Debian's `clickhouse-server` (18.16 in bookworm), or the single `clickhouse` binary of newer packages. */
export const clickhouseExecutable = findExecutable([
  '/usr/bin/clickhouse-server',
  '/usr/sbin/clickhouse-server',
  '/usr/bin/clickhouse',
]);
export const CLICKHOUSE_INSTALL = 'apt-get install clickhouse-server';

/** The user the tests connect as (through `CLICKHOUSE_USER`/`CLICKHOUSE_PASSWORD`, as a site does). */
export const CLICKHOUSE_TEST_USER = 'glasshouse';
export const CLICKHOUSE_TEST_PASSWORD = 'test-password';

export interface ClickHouseTestServer {
  readonly httpPort: number;
  /** The native protocol's port, for `clickhouse-client --port`. */
  readonly tcpPort: number;
  /** The server process (for a benchmark's CPU accounting). */
  readonly pid: number | undefined;
  readonly directory: string;
  /** The environment a store opens with: the test user's credentials. */
  readonly env: NodeJS.ProcessEnv;
  /** Creates a fresh database and returns its `clickhouse://` URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs one statement as the test user; returns the body (TabSeparated unless the query says). */
  query(sql: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * Starts a throwaway ClickHouse server in a temporary directory: its own config.xml and
 * users.xml, data, logs and temporary files in that directory, HTTP and native ports free on
 * 127.0.0.1, no ZooKeeper, no interserver port. Resolves once `/ping` answers. 18.16 runs as
 * root without complaint (unlike PostgreSQL), so it runs as whoever runs the tests.
 *
 * The server's time zone is `Asia/Kolkata` (UTC+05:30) on purpose: the store must not depend
 * on the server's zone for days or timestamps.
 *
 * @example
 * const server = await startClickHouse();
 * const url = await server.createDatabase('contract');
 * const store = await ClickHouseStatsStore.open({ url, env: server.env });
 * await server.stop();
 */
export async function startClickHouse(): Promise<ClickHouseTestServer> {
  if (clickhouseExecutable === undefined)
    throw new Error(`ClickHouse is not installed (${CLICKHOUSE_INSTALL})`);
  let lastError: unknown;
  // A free port can be taken between finding it and the server binding it: try again.
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      return await startOnce(clickhouseExecutable);
    } catch (error) {
      lastError = error;
    }
  }
  throw lastError;
}

async function startOnce(executable: string): Promise<ClickHouseTestServer> {
  const directory = mkdtempSync(join(tmpdir(), 'glasshouse-clickhouse-'));
  const [httpPort, tcpPort] = [await freePort(), await freePort()];
  for (const sub of ['data', 'tmp', 'user_files', 'format_schemas']) mkdirSync(join(directory, sub));
  writeFileSync(join(directory, 'config.xml'), configXml(directory, httpPort, tcpPort));
  writeFileSync(join(directory, 'users.xml'), USERS_XML);
  const args = [`--config-file=${join(directory, 'config.xml')}`];
  const child = spawn(executable, executable.endsWith('/clickhouse') ? ['server', ...args] : args, {
    cwd: directory,
    env: engineEnvironment(),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const base = `http://127.0.0.1:${httpPort}`;
  const auth = `Basic ${Buffer.from(`${CLICKHOUSE_TEST_USER}:${CLICKHOUSE_TEST_PASSWORD}`).toString('base64')}`;

  const query = async (sql: string): Promise<string> => {
    const response = await fetch(`${base}/`, { method: 'POST', headers: { authorization: auth }, body: sql });
    const body = await response.text();
    if (!response.ok) throw new Error(`ClickHouse refused ${JSON.stringify(sql)}: ${body}`);
    return body;
  };
  const stop = async (): Promise<void> => {
    await stopProcess(child, exited);
    rmSync(directory, { recursive: true, force: true });
  };

  try {
    await waitForPing(base, exited, 60_000);
  } catch (error) {
    const log = join(directory, 'server.err.log');
    const details = `${stderr}${existsSync(log) ? readFileSync(log, 'utf8').slice(-4000) : ''}`;
    await stop();
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${details}`);
  }
  return {
    httpPort,
    tcpPort,
    pid: child.pid,
    directory,
    env: { CLICKHOUSE_USER: CLICKHOUSE_TEST_USER, CLICKHOUSE_PASSWORD: CLICKHOUSE_TEST_PASSWORD },
    query,
    async createDatabase(name) {
      await query(`CREATE DATABASE ${name}`);
      return `clickhouse://127.0.0.1:${httpPort}/${name}`;
    },
    stop,
  };
}

function configXml(directory: string, httpPort: number, tcpPort: number): string {
  return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>information</level>
    <log>${directory}/server.log</log>
    <errorlog>${directory}/server.err.log</errorlog>
    <console>0</console>
  </logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>${httpPort}</http_port>
  <tcp_port>${tcpPort}</tcp_port>
  <path>${directory}/data/</path>
  <tmp_path>${directory}/tmp/</tmp_path>
  <user_files_path>${directory}/user_files/</user_files_path>
  <format_schema_path>${directory}/format_schemas/</format_schema_path>
  <users_config>users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>Asia/Kolkata</timezone>
  <mark_cache_size>67108864</mark_cache_size>
  <max_concurrent_queries>50</max_concurrent_queries>
</yandex>
`;
}

const USERS_XML = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <max_memory_usage>2000000000</max_memory_usage>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
    <${CLICKHOUSE_TEST_USER}>
      <password>${CLICKHOUSE_TEST_PASSWORD}</password>
      <networks><ip>127.0.0.1</ip></networks>
      <profile>default</profile>
      <quota>default</quota>
    </${CLICKHOUSE_TEST_USER}>
  </users>
  <quotas><default></default></quotas>
</yandex>
`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

async function waitForPing(base: string, exited: Promise<number | null>, timeoutMs: number): Promise<void> {
  let gone = false;
  void exited.then(() => {
    gone = true;
  });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (gone) throw new Error('clickhouse-server exited during start-up');
    const ok = await fetch(`${base}/ping`)
      .then(async (response) => response.ok && (await response.text()).startsWith('Ok.'))
      .catch(() => false);
    if (ok) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`clickhouse-server did not answer /ping within ${timeoutMs} ms`);
}

async function stopProcess(child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
