import type { Kysely } from 'kysely';
import type { StatsBuffer } from '../stats/stats-buffer.js';
import { StatsError } from '../stats/stats-errors.js';
import type { SubjectKeys } from '../subjects/subject-keys.js';
import type { SubjectTables } from '../subjects/subject-tables.js';
import type { VaultInternals } from '../vault/vault-service.js';

/** The stores and keys of one site that moving and purging an installation's records touch. */
export interface SiteParts {
  readonly vault: VaultInternals;
  readonly subjects: SubjectKeys;
  readonly subjectDb: Kysely<SubjectTables>;
  readonly stats: StatsBuffer | undefined;
}

export function statsOf(parts: SiteParts): StatsBuffer {
  if (parts.stats === undefined) {
    throw new StatsError(
      'STATS_CLOSED',
      `the statistics of site ${parts.vault.site} run in the serving process only`,
    );
  }
  return parts.stats;
}

/** True when the site holds the installation's key. */
export async function hasKey(parts: SiteParts, installationId: string): Promise<boolean> {
  const row = await parts.subjectDb
    .selectFrom('subject_keys')
    .select('installation_id')
    .where('installation_id', '=', installationId)
    .executeTakeFirst();
  return row !== undefined;
}
