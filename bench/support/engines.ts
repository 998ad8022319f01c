/**
 * The engines a benchmark runs Glasshouse on: a throwaway PostgreSQL, an S3 endpoint (s3rver)
 * and a ClickHouse server, started by the test harnesses, each stopped at cleanup. Also what
 * a data directory needs to use them: the `storage:` keys of its config.yaml and the
 * environment of its processes (credentials never go in the file).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { findExecutable } from '../../test/support/engines/availability.js';
import {
  CLICKHOUSE_INSTALL,
  CLICKHOUSE_TEST_PASSWORD,
  CLICKHOUSE_TEST_USER,
  type ClickHouseTestServer,
  clickhouseExecutable,
  startClickHouse,
} from '../../test/support/engines/clickhouse.js';
import { type PostgresServer, postgresBinary, startPostgres } from '../../test/support/engines/postgres.js';
import { type S3Engine, startS3Engine } from '../../test/support/engines/s3.js';
import { onCleanup } from './cleanup.js';
import { processCpuSeconds, treeCpuSeconds } from './proc.js';

/** The role the nodes connect to PostgreSQL as, with a password, as in production. */
const PG_ROLE = 'glasshouse';
const PG_PASSWORD = 'bench-password';

/** `clickhouse-client` of Debian's packages, or the single `clickhouse` binary of newer ones. */
const clickhouseClient = findExecutable(['/usr/bin/clickhouse-client', '/usr/bin/clickhouse']);

export interface Engines {
  readonly postgres: PostgresServer;
  readonly s3: S3Engine;
  readonly clickhouse: ClickHouseTestServer;
  /** The bucket every node's blobs and tiles go to, each under a prefix of its own. */
  readonly bucket: string;
  /** What each node's process needs in its environment: PGPASSWORD, AWS_*, CLICKHOUSE_*. */
  readonly env: NodeJS.ProcessEnv;
  readonly versions: { readonly postgres: string; readonly clickhouse: string };
  /** `clickhouse-client` (or `clickhouse client`) with the server's address and credentials. */
  clientCommand(database: string): { readonly command: string; readonly args: string[] };
  /** Runs SQL in `database` over ClickHouse's HTTP interface; returns the body. */
  clickhouseQuery(database: string, sql: string): Promise<string>;
}

/**
 * Starts the three engines, or fails at once, naming what is missing; creates a PostgreSQL
 * database for each of `nodes` and a ClickHouse database for each site among them. The PostgreSQL server
 * syncs its commits (as SQLite does for the embedded stores); s3rver writes plain files and
 * ClickHouse 18.16 does not sync inserted parts, as in their production use.
 */
export async function startEngines(nodes: readonly string[]): Promise<Engines> {
  const missing = [
    postgresBinary === undefined ? 'PostgreSQL (apt-get install postgresql)' : undefined,
    clickhouseExecutable === undefined ? `ClickHouse (${CLICKHOUSE_INSTALL})` : undefined,
    clickhouseClient === undefined ? 'clickhouse-client (apt-get install clickhouse-client)' : undefined,
  ].filter((what) => what !== undefined);
  if (missing.length > 0) throw new Error(`the engines benchmark needs ${missing.join(' and ')}`);

  const postgres = await startPostgres({ fsync: true });
  onCleanup(() => postgres.stop());
  const s3 = await startS3Engine();
  onCleanup(() => s3.stop());
  const clickhouse = await startClickHouse();
  onCleanup(() => clickhouse.stop());

  await postgres.query(`CREATE ROLE ${PG_ROLE} LOGIN PASSWORD '${PG_PASSWORD}'`);
  for (const node of nodes) {
    await postgres.query(`CREATE DATABASE ${node} OWNER ${PG_ROLE}`);
    if (node !== 'control') await clickhouse.query(`CREATE DATABASE ${node}`);
  }
  const bucket = await s3.createBucket();
  const [pg] = await postgres.query<{ server_version: string }>('SHOW server_version');
  const chVersion = (await clickhouse.query('SELECT version()')).trim();
  const auth = `Basic ${Buffer.from(`${CLICKHOUSE_TEST_USER}:${CLICKHOUSE_TEST_PASSWORD}`).toString('base64')}`;
  const single = clickhouseClient!.endsWith('/clickhouse');
  return {
    postgres,
    s3,
    clickhouse,
    bucket,
    env: {
      PGPASSWORD: PG_PASSWORD,
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      ...clickhouse.env,
    },
    versions: { postgres: pg?.server_version ?? '?', clickhouse: chVersion },
    clientCommand: (database) => ({
      command: clickhouseClient!,
      args: [
        ...(single ? ['client'] : []),
        '--host',
        '127.0.0.1',
        '--port',
        String(clickhouse.tcpPort),
        '--user',
        CLICKHOUSE_TEST_USER,
        '--password',
        CLICKHOUSE_TEST_PASSWORD,
        '--database',
        database,
      ],
    }),
    async clickhouseQuery(database, sql) {
      const response = await fetch(`http://127.0.0.1:${clickhouse.httpPort}/?database=${database}`, {
        method: 'POST',
        headers: { authorization: auth },
        body: sql,
      });
      const body = await response.text();
      if (!response.ok) throw new Error(`ClickHouse refused ${JSON.stringify(sql.slice(0, 200))}: ${body}`);
      return body;
    },
  };
}

/**
 * Points a data directory's control plane and every site at the engines: metadata in a
 * PostgreSQL database per node, blobs and tiles under a prefix per node in the bucket, each
 * site's statistics in a ClickHouse database of its own (databases named after the nodes,
 * created by {@link startEngines}; the control plane's is `control`).
 */
export function useEngines(configFile: string, engines: Engines): void {
  const document = parseDocument(readFileSync(configFile, 'utf8'));
  const { port } = new URL(engines.postgres.url('postgres'));
  const metadata = (node: string) => `postgres://${PG_ROLE}@127.0.0.1:${port}/${node}`;
  const objects = (node: string, store: string) => engines.s3.url(engines.bucket, `${node}/${store}`);
  document.setIn(['storage'], { metadata: metadata('control'), tiles: objects('control', 'tiles') });
  const sites = document.get('sites') as { items: { key: { value: string } }[] };
  for (const { key } of sites.items) {
    const site = key.value;
    document.setIn(['sites', site, 'storage'], {
      metadata: metadata(site),
      blobs: objects(site, 'blobs'),
      tiles: objects(site, 'tiles'),
      stats: `clickhouse://127.0.0.1:${engines.clickhouse.httpPort}/${site}`,
    });
  }
  writeFileSync(configFile, document.toString());
}

/** The nodes of the example config.yaml `glasshouse init` writes. */
export const EXAMPLE_NODES = ['control', 'zurich', 'moscow'] as const;

/** Each engine's CPU seconds so far: PostgreSQL with its backends, s3rver, the ClickHouse server. */
export function engineCpuSources(engines: Engines): Record<string, () => number | undefined> {
  const postmaster = (() => {
    try {
      return Number(readFileSync(join(engines.postgres.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    } catch {
      return undefined;
    }
  })();
  const own = (pid: number | undefined) => () => (pid === undefined ? undefined : processCpuSeconds(pid));
  return {
    PostgreSQL: () => (postmaster === undefined ? undefined : treeCpuSeconds(postmaster)),
    s3rver: own(engines.s3.pid),
    'ClickHouse server': own(engines.clickhouse.pid),
  };
}
