/*
 * The child process of test/stats-clickhouse-crash.test.ts: a site's statistics buffer over
 * ClickHouse, as `glasshouse up` runs it (write-ahead log, background loader), appended to by
 * several writers as fast as it acknowledges, printing `ready` once recovery is done and each
 * batch id once its append resolved (durable), until it is killed.
 *
 *   node --import tsx test/support/clickhouse-stats-child.ts URL WAL_DIRECTORY CYCLE
 *
 * Credentials come from CLICKHOUSE_USER and CLICKHOUSE_PASSWORD, as for a site.
 */
import { ClickHouseStatsStore } from '../../src/adapters/storage/clickhouse/clickhouse-stats-store.js';
import { StatsBuffer } from '../../src/site/stats/stats-buffer.js';
import { CRASH_CLOCK, crashBatch } from './clickhouse-crash-batches.js';

const WRITERS = 4;

const [url, walDirectory, cycle] = process.argv.slice(2);
if (url === undefined || walDirectory === undefined || cycle === undefined) {
  process.stderr.write('usage: clickhouse-stats-child.ts URL WAL_DIRECTORY CYCLE\n');
  process.exit(2);
}

const store = await ClickHouseStatsStore.open({ url });
const buffer = await StatsBuffer.open({
  store,
  walDirectory,
  // Loads run all the time, so kills land before, during and after them.
  flushIntervalMs: 10,
  flushBytes: 128 * 1024,
  retentionDays: 3650,
  now: () => CRASH_CLOCK,
  onBackgroundError: (error) => process.stderr.write(`loader: ${String(error)}\n`),
});
process.stdout.write('ready\n');

async function writer(w: number): Promise<void> {
  for (let seq = 0; ; seq += 1) {
    const id = `${cycle}-${w}-${seq}`;
    await buffer.append(crashBatch(id));
    process.stdout.write(`${id}\n`);
  }
}

await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w))).catch((error: unknown) => {
  process.stderr.write(
    `clickhouse-stats-child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
