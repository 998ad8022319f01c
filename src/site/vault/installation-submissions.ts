import type { Kysely } from 'kysely';
import { decryptField, encryptField } from './crypto/index.js';
import type {
  InstallationSubmissions,
  RelocatableSample,
  RelocatableSubmission,
  RemovedSubmissions,
} from './vault-records.js';
import type { VaultTables } from './vault-tables.js';

/** SQLite binds at most 32,766 parameters; stay far below. */
const IDS_PER_QUERY = 500;

/** The AAD context of a sealed file name: the same at every site, so either side opens it. */
export const filenameContext = (installationId: string) => `${installationId}:filename`;

/**
 * The installation's submissions, oldest first, file names opened with `keyOf` (called only
 * when there is one), and the samples they reference.
 */
export async function readInstallationSubmissions(
  db: Kysely<VaultTables>,
  installationId: string,
  keyOf: () => Promise<Buffer>,
): Promise<InstallationSubmissions> {
  const rows = await db
    .selectFrom('submissions')
    .select(['sha256', 'submitted_at', 'product', 'filename_sealed'])
    .where('installation_id', '=', installationId)
    .orderBy('id')
    .execute();
  const key = rows.length === 0 ? undefined : await keyOf();
  const submissions: RelocatableSubmission[] = rows.map((r) => ({
    sha256: r.sha256,
    submittedAt: r.submitted_at,
    product: r.product,
    filename: decryptField(key!, r.filename_sealed, filenameContext(installationId)),
  }));
  const shas = [...new Set(submissions.map((s) => s.sha256))];
  const samples: RelocatableSample[] = [];
  for (let i = 0; i < shas.length; i += IDS_PER_QUERY) {
    const found = await db
      .selectFrom('samples')
      .selectAll()
      .where('sha256', 'in', shas.slice(i, i + IDS_PER_QUERY))
      .execute();
    for (const s of found) {
      samples.push({
        sha256: s.sha256,
        sha1: s.sha1,
        md5: s.md5,
        sha512: s.sha512,
        size: s.size,
        firstSeen: s.first_seen,
        lastSeen: s.last_seen,
        ...(s.ssdeep !== null && s.file_type !== null
          ? { fingerprint: { ssdeep: s.ssdeep, tlsh: s.tlsh, fileType: s.file_type } }
          : {}),
      });
    }
  }
  return { submissions, samples };
}

/** In one transaction: the installation's submissions become exactly `submissions`, sealed under `key`. */
export async function replaceInstallationSubmissions(
  db: Kysely<VaultTables>,
  installationId: string,
  submissions: readonly RelocatableSubmission[],
  key: Buffer,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('submissions').where('installation_id', '=', installationId).execute();
    for (const s of submissions) {
      await trx
        .insertInto('submissions')
        .values({
          id: undefined,
          sha256: s.sha256,
          installation_id: installationId,
          submitted_at: s.submittedAt,
          product: s.product,
          filename_sealed: encryptField(key, s.filename, filenameContext(installationId)),
        })
        .execute();
    }
  });
}

/**
 * Deletes the installations' submissions and the rows of the samples only they referenced,
 * in one transaction: a crash can never leave samples whose last submission is gone but
 * whose rows remain, which a re-run would no longer find. The blobs are the caller's.
 */
export async function deleteSubmissionRows(
  db: Kysely<VaultTables>,
  installationIds: readonly string[],
): Promise<RemovedSubmissions> {
  return db.transaction().execute(async (trx) => {
    let submissions = 0;
    const candidates = new Set<string>();
    for (let i = 0; i < installationIds.length; i += IDS_PER_QUERY) {
      const slice = installationIds.slice(i, i + IDS_PER_QUERY);
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
    return { submissions, samples: await deleteUnreferencedSampleRows(trx, candidates) };
  });
}

/** Deletes the rows of those samples that no submission references; returns them. */
export async function deleteUnreferencedSampleRows(
  db: Kysely<VaultTables>,
  sha256s: Iterable<string>,
): Promise<{ sha256: string; size: number }[]> {
  const samples: { sha256: string; size: number }[] = [];
  for (const sha256 of sha256s) {
    const row = await db
      .deleteFrom('samples')
      .where('sha256', '=', sha256)
      .where((eb) =>
        eb.not(eb.exists(eb.selectFrom('submissions').select('id').where('submissions.sha256', '=', sha256))),
      )
      .returning(['sha256', 'size'])
      .executeTakeFirst();
    if (row !== undefined) samples.push(row);
  }
  return samples;
}

/** Submissions per installation; the samples submissions reference, and every sample with a row. */
export async function submissionCensus(db: Kysely<VaultTables>): Promise<{
  byInstallation: Map<string, number>;
  referenced: string[];
  known: Set<string>;
}> {
  const counts = await db
    .selectFrom('submissions')
    .select(['installation_id', (eb) => eb.fn.countAll<number>().as('n')])
    .groupBy('installation_id')
    .execute();
  const referenced = await db.selectFrom('submissions').select('sha256').distinct().execute();
  const known = await db.selectFrom('samples').select('sha256').execute();
  return {
    byInstallation: new Map(counts.map((r) => [r.installation_id, Number(r.n)])),
    referenced: referenced.map((r) => r.sha256),
    known: new Set(known.map((r) => r.sha256)),
  };
}
