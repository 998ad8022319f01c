import { describe } from 'vitest';
import { engineAvailable } from './support/engines/availability.js';
import { CLICKHOUSE_INSTALL, clickhouseExecutable, startClickHouse } from './support/engines/clickhouse.js';
import { postgresBinary, startPostgres } from './support/engines/postgres.js';
import { startS3Engine } from './support/engines/s3.js';
import { SPLIT_SITES } from './support/split-deployment.js';
import { describeSplitScenario, type ScenarioStorage } from './support/split-scenario.js';

/*
 * The split deployment's whole scenario once more, with every node's stores in the engines a
 * large deployment runs: the control plane's metadata in PostgreSQL and its log's tiles in
 * S3; each site's metadata in a PostgreSQL database of its own, its samples and log tiles in
 * a bucket of its own, its telemetry in a ClickHouse database of its own.
 */

const available =
  engineAvailable('PostgreSQL', postgresBinary, 'apt-get install postgresql') &&
  engineAvailable('ClickHouse', clickhouseExecutable, CLICKHOUSE_INSTALL);

/** The engines' credentials, as each client reads them: from the environment of every process. */
function setEnvironment(values: Readonly<Record<string, string | undefined>>): () => void {
  const before = Object.fromEntries(Object.keys(values).map((key) => [key, process.env[key]]));
  const apply = (entries: Readonly<Record<string, string | undefined>>) => {
    for (const [key, value] of Object.entries(entries)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  };
  apply(values);
  return () => apply(before);
}

async function startEngines(): Promise<ScenarioStorage> {
  const [postgres, s3, clickhouse] = await Promise.all([startPostgres(), startS3Engine(), startClickHouse()]);
  const restore = setEnvironment({
    ...clickhouse.env,
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    AWS_REGION: 'us-east-1',
  });
  const control = {
    metadata: await postgres.createDatabase('control'),
    tiles: s3.url(await s3.createBucket(), 'log/'),
  };
  const sites = Object.fromEntries(
    await Promise.all(
      SPLIT_SITES.map(async (site) => {
        const bucket = await s3.createBucket();
        return [
          site,
          {
            metadata: await postgres.createDatabase(site),
            blobs: s3.url(bucket, 'blobs/'),
            tiles: s3.url(bucket, 'log/'),
            stats: await clickhouse.createDatabase(site),
          },
        ] as const;
      }),
    ),
  );
  return {
    configure(config) {
      config.storage = control;
      const configured = config.sites as Record<string, Record<string, unknown>>;
      for (const site of SPLIT_SITES) configured[site]!.storage = sites[site];
    },
    async close() {
      restore();
      await Promise.all([postgres.stop(), s3.stop(), clickhouse.stop()]);
    },
  };
}

if (available) {
  describeSplitScenario('a split deployment with every node on PostgreSQL, S3 and ClickHouse', {
    deployment: 'split-engines',
    storage: startEngines,
  });
} else {
  describe.skip('a split deployment with every node on PostgreSQL, S3 and ClickHouse', () => undefined);
}
