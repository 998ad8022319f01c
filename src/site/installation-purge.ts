import type { PurgeResult } from './installation-records.js';
import { type SiteParts, statsOf } from './site-parts.js';

const BLOB_DELETES_AT_ONCE = 8;

/**
 * Removes every record of the given installations from one site: their submissions, the
 * samples that no installation remaining at the site references (row, then blob), their
 * telemetry (store and write-ahead log), and last their keys. Each step is idempotent, so a
 * purge interrupted anywhere is finished by running it again. Relocation purges the source
 * with it, and rolls back a cancelled copy at the target.
 *
 * @example
 * const removed = await purgeInstallations(parts, ['3f9a…'], { compact: false });
 */
export async function purgeInstallations(
  parts: SiteParts,
  installationIds: readonly string[],
  options: { readonly compact: boolean; readonly compactStore?: () => Promise<void> },
): Promise<PurgeResult> {
  const ids = [...installationIds];
  const removed = await removeSubmissions(parts, ids);
  const submissions = removed.submissions;
  const events = ids.length === 0 ? 0 : await statsOf(parts).eraseInstallations(ids);
  for (let i = 0; i < ids.length; i += 500) {
    await parts.subjectDb
      .deleteFrom('subject_keys')
      .where('installation_id', 'in', ids.slice(i, i + 500))
      .execute();
  }
  await parts.vault.durable();
  if (options.compact) await options.compactStore?.();
  const bytes = removed.samples.reduce((sum, sample) => sum + sample.size, 0);
  return { installations: ids.length, submissions, samples: removed.samples.length, bytes, events };
}

/**
 * Deletes the installations' submissions and the samples only they referenced: rows in one
 * transaction (a crash can never leave samples whose last submission is gone but whose rows
 * remain, which a re-run would no longer find), then the blobs, each under the sample's lock
 * and only while no row names it again (an upload of the same file may have stored it anew
 * meanwhile). A crash before the blobs go leaves orphans, which `VaultService.recover` removes
 * at start. Relocation's purge and the privacy desk's erasure both use it.
 */
export async function removeSubmissions(
  parts: SiteParts,
  installationIds: readonly string[],
): Promise<{ submissions: number; samples: { sha256: string; size: number }[] }> {
  const { db, blobs, durable, withSample } = parts.vault;
  const erased = await db.transaction().execute(async (trx) => {
    let submissions = 0;
    const candidates = new Set<string>();
    for (let i = 0; i < installationIds.length; i += 500) {
      const slice = installationIds.slice(i, i + 500);
      const referenced = await trx
        .selectFrom('submissions')
        .select('sha256')
        .distinct()
        .where('installation_id', 'in', slice)
        .execute();
      for (const row of referenced) candidates.add(row.sha256);
      const deleted = await trx
        .deleteFrom('submissions')
        .where('installation_id', 'in', slice)
        .executeTakeFirst();
      submissions += Number(deleted.numDeletedRows);
    }
    const samples: { sha256: string; size: number }[] = [];
    for (const sha256 of candidates) {
      const row = await trx
        .deleteFrom('samples')
        .where('sha256', '=', sha256)
        .where((eb) =>
          eb.not(
            eb.exists(eb.selectFrom('submissions').select('id').where('submissions.sha256', '=', sha256)),
          ),
        )
        .returning(['sha256', 'size'])
        .executeTakeFirst();
      if (row !== undefined) samples.push(row);
    }
    return { submissions, samples };
  });
  await durable();
  // Several at once: each unlink waits on the file system, not on the event loop.
  let next = 0;
  let failed = false;
  const deleter = async () => {
    for (let i = next++; i < erased.samples.length && !failed; i = next++) {
      const { sha256 } = erased.samples[i]!;
      await withSample(sha256, async () => {
        const storedAgain = await db
          .selectFrom('samples')
          .select('sha256')
          .where('sha256', '=', sha256)
          .executeTakeFirst();
        if (storedAgain === undefined) await blobs.delete(sha256);
      }).catch((error: unknown) => {
        failed = true;
        throw error;
      });
    }
  };
  // Every deleter settles before the first failure is thrown: none deletes behind the caller's back.
  const settled = await Promise.allSettled(Array.from({ length: BLOB_DELETES_AT_ONCE }, deleter));
  const failure = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
  return erased;
}
