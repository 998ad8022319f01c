import type { PurgeResult } from '../ports/installation-records.js';
import type { SiteDomains } from './installation-transfer.js';

/**
 * Removes every record of the given installations from one site: their submissions, the
 * samples that no installation remaining at the site references (row, then blob), their
 * telemetry (store and write-ahead log), and last their keys. Each step is idempotent, so a
 * purge interrupted anywhere is finished by running it again. Relocation purges the source
 * with it, and rolls back a cancelled copy at the target.
 *
 * With `compact`, the metadata store is rewritten last, once for all the installations, so
 * that nothing of theirs stays in its raw files (free pages, the write-ahead log): "nothing
 * stays behind" holds at a relocation's source as after an erasure.
 *
 * @example
 * const removed = await purgeInstallations(site, ['3f9a…'], { compact: true });
 */
export async function purgeInstallations(
  site: SiteDomains,
  installationIds: readonly string[],
  options: { readonly compact: boolean },
): Promise<PurgeResult> {
  const ids = [...installationIds];
  const removed = await site.vault.removeSubmissions(ids);
  const events = ids.length === 0 ? 0 : await site.stats().eraseInstallations(ids);
  await site.subjects.destroyAll(ids);
  await site.durable();
  // Also on a repeat: a crash may have come between the deletes and the compaction.
  if (options.compact && ids.length > 0) await site.compact();
  const bytes = removed.samples.reduce((sum, sample) => sum + sample.size, 0);
  return {
    installations: ids.length,
    submissions: removed.submissions,
    samples: removed.samples.length,
    bytes,
    events,
  };
}
