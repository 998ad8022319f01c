import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StatsError } from '../../shared/stats-errors.js';
import type { StatsBuffer } from './stats-buffer.js';

/**
 * How a backup gets a consistent copy of a site's statistics while the server runs. DuckDB
 * admits one process per file, and the server holds it, so the backup (another process)
 * cannot open it, and a raw copy of a file DuckDB may be checkpointing is torn. The backup
 * drops `<id>.request` into `stats/snapshots/`; the serving process, which polls that
 * folder, loads every acknowledged event and copies the store under its writer's lock into
 * `<id>.duckdb` (or writes why it could not into `<id>.failed`). Only who may write the
 * data directory can ask, and they could already read every store in it.
 */
export const SNAPSHOT_POLL_MS = 250;

export function snapshotDirectory(statsDirectory: string): string {
  return join(statsDirectory, 'snapshots');
}

/**
 * Answers snapshot requests for one site's buffer until `stop`. The backup deletes what it
 * asked for once it has copied it; what a backup that died left (a request, a copy nobody
 * collected: events, personal data) is deleted here at the next start.
 *
 * @example
 * const requests = serveSnapshotRequests('data/sites/zurich/stats', buffer);
 * requests.stop();
 */
export function serveSnapshotRequests(statsDirectory: string, buffer: StatsBuffer): { stop(): void } {
  const directory = snapshotDirectory(statsDirectory);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(directory)) rmSync(join(directory, name), { force: true });
  let busy = false;
  const answer = async () => {
    if (busy) return;
    busy = true;
    try {
      for (const name of readdirSync(directory)) {
        if (!name.endsWith('.request')) continue;
        const id = name.slice(0, -'.request'.length);
        const partial = join(directory, `${id}.partial`);
        try {
          const copied = await buffer.snapshotTo(partial);
          if (!copied)
            throw new StatsError('STATS_SNAPSHOT_FAILED', 'this statistics store has no snapshot of its own');
          renameSync(partial, join(directory, `${id}.duckdb`));
        } catch (error) {
          rmSync(partial, { force: true });
          writeFileSync(
            join(directory, `${id}.failed`),
            error instanceof Error ? error.message : String(error),
          );
        }
        rmSync(join(directory, name), { force: true });
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void answer().catch(() => undefined), SNAPSHOT_POLL_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Asks the serving process for a snapshot and waits for it; returns the snapshot's path (the
 * caller deletes it once copied). Throws when the server says it failed, or answers nothing
 * within `timeoutMs` (it is not running, or not on this data directory).
 */
export async function requestSnapshot(
  statsDirectory: string,
  id: string,
  timeoutMs: number,
): Promise<string> {
  const directory = snapshotDirectory(statsDirectory);
  const request = join(directory, `${id}.request`);
  writeFileSync(`${request}.tmp`, '', { mode: 0o600 });
  renameSync(`${request}.tmp`, request);
  const done = join(directory, `${id}.duckdb`);
  const failed = join(directory, `${id}.failed`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (existsSync(done)) return done;
    if (existsSync(failed)) {
      const why = readFileSync(failed, 'utf8');
      rmSync(failed, { force: true });
      throw new StatsError('STATS_SNAPSHOT_FAILED', `the server could not copy the statistics: ${why}`);
    }
    await new Promise((resolve) => setTimeout(resolve, SNAPSHOT_POLL_MS / 2));
  }
  rmSync(request, { force: true });
  throw new StatsError(
    'STATS_SNAPSHOT_FAILED',
    `the server holding ${statsDirectory} did not answer the snapshot request`,
  );
}
