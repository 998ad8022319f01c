import type { PurgeResult } from './installation-records.js';
import { type SiteParts, statsOf } from './site-parts.js';

/**
 * Removes every record of the given installations from one site: their submissions, the
 * samples that no installation remaining at the site references (row, then blob), their
 * telemetry (store and write-ahead log), and last their keys. Each step is idempotent, so a
 * purge interrupted anywhere is finished by running it again. Relocation purges the source
 * with it, and rolls back a cancelled copy at the target; erasure can reuse it.
 *
 * @example
 * const removed = await purgeInstallations(parts, ['3f9a…'], { compact: false });
 */
export async function purgeInstallations(
  parts: SiteParts,
  installationIds: readonly string[],
  options: { readonly compact: boolean; readonly compactStore?: () => Promise<void> },
): Promise<PurgeResult> {
  const { db, durable } = parts.vault;
  const ids = [...installationIds];
  let submissions = 0;
  const candidates = new Set<string>();
  for (let i = 0; i < ids.length; i += 500) {
    const slice = ids.slice(i, i + 500);
    const referenced = await db
      .selectFrom('submissions')
      .select('sha256')
      .distinct()
      .where('installation_id', 'in', slice)
      .execute();
    for (const row of referenced) candidates.add(row.sha256);
    const deleted = await db
      .deleteFrom('submissions')
      .where('installation_id', 'in', slice)
      .executeTakeFirst();
    submissions += Number(deleted.numDeletedRows);
  }
  await durable();
  const removed = await deleteUnreferencedSamples(parts, [...candidates]);
  const events = ids.length === 0 ? 0 : await statsOf(parts).eraseInstallations(ids);
  for (let i = 0; i < ids.length; i += 500) {
    await parts.subjectDb
      .deleteFrom('subject_keys')
      .where('installation_id', 'in', ids.slice(i, i + 500))
      .execute();
  }
  await durable();
  if (options.compact) await options.compactStore?.();
  return { installations: ids.length, submissions, samples: removed.samples, bytes: removed.bytes, events };
}

/**
 * Deletes each candidate sample that no submission references any more: the row first
 * (a crash then leaves an orphan blob, which `VaultService.recover` removes at start),
 * then the blob, under the sample's lock so that an upload of the same file cannot slip
 * between the check and the delete.
 */
export async function deleteUnreferencedSamples(
  parts: SiteParts,
  candidates: readonly string[],
): Promise<{ samples: number; bytes: number }> {
  const { db, blobs, durable, withSample } = parts.vault;
  let samples = 0;
  let bytes = 0;
  for (const sha256 of candidates) {
    await withSample(sha256, async () => {
      const deleted = await db
        .deleteFrom('samples')
        .where('sha256', '=', sha256)
        .where((eb) =>
          eb.not(
            eb.exists(eb.selectFrom('submissions').select('id').where('submissions.sha256', '=', sha256)),
          ),
        )
        .returning('size')
        .executeTakeFirst();
      if (deleted !== undefined) {
        samples += 1;
        bytes += deleted.size;
        await durable();
      }
      const stillReferenced = await db
        .selectFrom('samples')
        .select('sha256')
        .where('sha256', '=', sha256)
        .executeTakeFirst();
      if (stillReferenced === undefined && (await blobs.has(sha256))) await blobs.delete(sha256);
    });
  }
  return { samples, bytes };
}
