/*
 * The child process of test/ledger-crash.test.ts: opens the control log of a data directory
 * exactly as `glasshouse up` does (publishing checkpoints on its timer) and appends from
 * several concurrent writers as fast as it can, printing `<index> <id>` once each append is
 * acknowledged (durable), until it is killed. The writers never yield to the event loop
 * themselves: the log must (between commits), or its checkpoint timer would starve.
 *
 *   node --import tsx test/support/log-writer-child.ts DATA_DIR CYCLE
 */
import { CONTROL_NODE, controlDirectory, initDataDir } from '../../src/config/data-dir.js';
import { loadConfig, resolvePaths } from '../../src/config/load.js';
import { openNodeLog } from '../../src/ledger/open-node-log.js';
import { crashEntry, formatAcknowledgement } from './crash-log-entries.js';

const WRITERS = 4;
/** Each writer keeps up to this many appends in flight, so batches of many sizes commit. */
const MAX_IN_FLIGHT = 16;

const [dataDir, cycle] = process.argv.slice(2);
if (dataDir === undefined || cycle === undefined) {
  process.stderr.write('usage: log-writer-child.ts DATA_DIR CYCLE\n');
  process.exit(2);
}

initDataDir(resolvePaths({ dataDir }));
const config = loadConfig({ dataDir, logLevel: 'silent' });
const log = await openNodeLog(config, CONTROL_NODE, controlDirectory(config.dataDir), {
  tiles: config.storage.tiles,
  publish: true,
});

async function writer(w: number): Promise<void> {
  let seq = 0;
  for (;;) {
    const burst = 1 + Math.floor(Math.random() * MAX_IN_FLIGHT);
    await Promise.all(
      Array.from({ length: burst }, async () => {
        const id = `${cycle}-${w}-${seq++}`;
        const index = await log.appendBytes(crashEntry(id));
        process.stdout.write(formatAcknowledgement(index, id));
      }),
    );
  }
}

await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w))).catch((error: unknown) => {
  process.stderr.write(
    `log-writer-child: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
