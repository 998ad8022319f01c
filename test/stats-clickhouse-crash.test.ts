import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseStatsStore } from '../src/adapters/storage/clickhouse/clickhouse-stats-store.js';
import { StatsBuffer } from '../src/site/stats/stats-buffer.js';
import { REPO_ROOT } from './support/cli.js';
import { CRASH_BATCH_ROWS, CRASH_CLOCK } from './support/clickhouse-crash-batches.js';
import { engineAvailable } from './support/engines/availability.js';
import {
  CLICKHOUSE_INSTALL,
  type ClickHouseTestServer,
  clickhouseExecutable,
  startClickHouse,
} from './support/engines/clickhouse.js';

/*
 * The durability promise of the statistics buffer over ClickHouse ("after a kill -9 at any
 * point the restart replays what is not yet loaded: every acknowledged event is counted
 * exactly once"): a child process runs the buffer over a ClickHouse store and appends batches
 * from several writers; it is killed with SIGKILL, in most cycles at the moment the server
 * shows one of its loads running (so the insert is cut off or finishes without its marker),
 * otherwise at a random moment. After the last kill the buffer opens again here: every
 * acknowledged batch must be counted exactly once, and no batch partly or twice.
 */

const KILL_CYCLES = 4;
const CHILD = join(REPO_ROOT, 'test', 'support', 'clickhouse-stats-child.ts');
const available = engineAvailable('ClickHouse', clickhouseExecutable, CLICKHOUSE_INSTALL);

let server: ClickHouseTestServer;
let url: string;
let walDirectory: string;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  if (!available) return;
  server = await startClickHouse();
  url = await server.createDatabase('crash');
  walDirectory = mkdtempSync(join(tmpdir(), 'glasshouse-clickhouse-crash-'));
}, 300_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server?.stop();
  if (walDirectory !== undefined) rmSync(walDirectory, { recursive: true, force: true });
});

describe.runIf(available)('StatsBuffer over ClickHouse', () => {
  describe('when the loading process is killed with SIGKILL, mid-load and at random', () => {
    it('counts every acknowledged batch exactly once after a restart, and no batch partly or twice', async () => {
      const acknowledged = new Set<string>();
      let killedMidLoad = 0;
      for (let cycle = 0; cycle < KILL_CYCLES; cycle += 1) {
        const run = await appendUntilKilled(cycle, cycle % 2 === 0 || cycle === KILL_CYCLES - 1);
        expect(run.acknowledged.length, `batches acknowledged in cycle ${cycle}`).toBeGreaterThan(0);
        for (const id of run.acknowledged) acknowledged.add(id);
        if (run.midLoad) killedMidLoad += 1;
      }
      expect(killedMidLoad, 'kills that landed while a load ran on the server').toBeGreaterThan(0);

      const store = await ClickHouseStatsStore.open({ url, env: server.env });
      const buffer = await StatsBuffer.open({
        store,
        walDirectory,
        flushIntervalMs: 0,
        retentionDays: 3650,
        now: () => CRASH_CLOCK,
      });
      try {
        const counted = new Map(
          (await buffer.aggregate({ groupBy: ['threat'] })).map((group) => [
            String(group.key[0]),
            group.events,
          ]),
        );
        for (const id of acknowledged)
          expect(counted.get(`crash-${id}`), `acknowledged batch ${id}`).toBe(CRASH_BATCH_ROWS);
        for (const [threat, events] of counted) {
          // A batch durable but not acknowledged before the kill counts whole, never partly or twice.
          expect(events, `batch ${threat}`).toBe(CRASH_BATCH_ROWS);
        }
        expect(counted.size).toBeGreaterThanOrEqual(acknowledged.size);
        // Nothing is left of interrupted loads: every row belongs to a committed load.
        const orphans = await server.query(
          'SELECT count() FROM crash.events WHERE load_seq > (SELECT max(through) FROM crash.load_marker)',
        );
        expect(orphans.trim()).toBe('0');
        // And the kills did interrupt loads: a restart found rows without their marker and deleted them.
        const mutations = await server.query("SELECT command FROM system.mutations WHERE database = 'crash'");
        expect(mutations).toMatch(/DELETE WHERE load_seq > \d+/);
      } finally {
        await buffer.close();
      }
    }, 240_000);
  });
});

interface Run {
  readonly acknowledged: string[];
  /** The kill landed while one of the child's loads was running on the server. */
  readonly midLoad: boolean;
}

async function appendUntilKilled(cycle: number, aimAtLoad: boolean): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, url, walDirectory, String(cycle)], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...server.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  const acknowledged: string[] = [];
  let ready = false;
  let partial = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line === 'ready') ready = true;
      else acknowledged.push(line);
    }
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  // 'close', not 'exit': every acknowledgement written before the kill is read.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let gone = false;
  void exited.then(() => {
    gone = true;
  });

  const deadline = Date.now() + 60_000;
  while (!(ready && acknowledged.length > 20)) {
    if (gone || Date.now() > deadline) throw new Error(`the child did not start appending: ${stderr}`);
    await sleep(20);
  }
  let midLoad = false;
  if (aimAtLoad) {
    const until = Date.now() + 5_000;
    while (!midLoad && Date.now() < until) midLoad = await loadRunning();
  } else {
    await sleep(randomInt(50, 800));
  }
  if (gone) throw new Error(`the child died before the kill: ${stderr}`);
  child.kill('SIGKILL');
  await exited;
  children.delete(child);
  return { acknowledged, midLoad };
}

async function loadRunning(): Promise<boolean> {
  const running = await server.query(
    "SELECT count() FROM system.processes WHERE substring(query_id, 1, 22) = 'glasshouse-load-crash-'",
  );
  return running.trim() !== '0';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
