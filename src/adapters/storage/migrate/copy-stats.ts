import type { StatsStore } from '../../../ports/storage.js';
import { StorageError } from '../../../shared/storage-errors.js';

/** Events per load: several installations' rows go in one load until this many. */
const EVENTS_PER_LOAD = 100_000;

export interface StatsCopied {
  readonly installations: number;
  readonly events: number;
  /** The write-ahead sequence the target's loads record, as the source's last load did. */
  readonly loadedThrough: number;
}

/** Whether the store holds any event or has ever loaded. */
export async function holdsStats(store: StatsStore): Promise<boolean> {
  return (await store.loadedThrough()) > 0 || (await store.countByInstallation()).size > 0;
}

/**
 * Copies every event, installation by installation, through the port's own export and load.
 * Every load records the source's `loadedThrough`, so the site's write-ahead log (which stays
 * in its data directory) replays into the target exactly what the source had not loaded yet.
 * Then the events of each installation are counted on both sides.
 */
export async function copyStats(
  source: StatsStore,
  target: StatsStore,
  onProgress: (done: number, total: number) => void,
): Promise<StatsCopied> {
  const counts = await source.countByInstallation();
  const through = await source.loadedThrough();
  const total = [...counts.values()].reduce((sum, n) => sum + n, 0);
  let done = 0;
  onProgress(done, total);
  let pending: string[] = [];
  let pendingEvents = 0;
  const load = async () => {
    await target.load([Buffer.from(pending.join(''), 'utf8')], through);
    done += pendingEvents;
    pending = [];
    pendingEvents = 0;
    onProgress(done, total);
  };
  for (const installation of counts.keys()) {
    const rows = await source.exportInstallation(installation);
    for (const row of rows) pending.push(row);
    pendingEvents += rows.length;
    if (pendingEvents >= EVENTS_PER_LOAD) await load();
  }
  // The last load also records `through` when there is no event at all.
  if (pendingEvents > 0 || done === 0) await load();
  const copied = await target.countByInstallation();
  for (const [installation, events] of counts) {
    const found = copied.get(installation) ?? 0;
    if (found !== events) {
      throw new StorageError(
        'MIGRATION_MISMATCH',
        `installation ${installation}: ${events} events in the source, ${found} in the target after the copy`,
      );
    }
  }
  if (copied.size !== counts.size) {
    throw new StorageError(
      'MIGRATION_MISMATCH',
      `the target holds events of ${copied.size} installations, the source of ${counts.size}`,
    );
  }
  const recorded = await target.loadedThrough();
  if (recorded !== through) {
    throw new StorageError(
      'MIGRATION_MISMATCH',
      `the target records loads through ${recorded}, the source through ${through}`,
    );
  }
  return { installations: counts.size, events: total, loadedThrough: through };
}
