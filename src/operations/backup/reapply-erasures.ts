import type { Glasshouse } from '../../main.js';

/** Who re-applies erasures after a restore: the restore itself, on the data directory. */
export const RESTORE_ACTOR = { role: 'admin', token: 'restore' } as const;

/**
 * The installations erased after the backup's checkpoint, as the control log names them:
 * the commitment of each completed erasure (`privacy.request`, `completed`, `erasure`).
 */
export function erasedCommitments(entries: readonly Buffer[]): Set<string> {
  const commitments = new Set<string>();
  for (const bytes of entries) {
    const entry = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
    if (
      entry.type === 'privacy.request' &&
      entry.event === 'completed' &&
      entry.requestType === 'erasure' &&
      typeof entry.installation === 'string'
    ) {
      commitments.add(entry.installation);
    }
  }
  return commitments;
}

/**
 * Erases again, in the restored stores, every installation whose commitment is in
 * `commitments`. The log holds only commitments, but the backup predates the erasure and so
 * still holds each installation's key and salt: the commitment taken when the request was
 * filed (`commitInstallation(id, 'installation', id)` at its site) is recomputed for every
 * registered installation and matched. Each match goes through the sites' own erasure
 * hooks (events, key, submissions and sole samples, then compaction), then the registry
 * and the desk's rows (the restore compacts control.db afterwards). Returns how many.
 */
export async function reapplyErasures(
  glasshouse: Glasshouse,
  commitments: ReadonlySet<string>,
): Promise<number> {
  if (commitments.size === 0) return 0;
  const erased: string[] = [];
  for (const { id } of await glasshouse.registry.placements()) {
    if (await committedTo(glasshouse, id, commitments)) erased.push(id);
  }
  for (const id of erased) {
    await glasshouse.registry.remove(id);
    for (const site of glasshouse.siteClients.values()) {
      if ((await site.installationRecords(id)) === undefined) continue;
      await site.eraseInstallationEvents(id, RESTORE_ACTOR);
      await site.eraseInstallationKey(id, RESTORE_ACTOR);
      await site.eraseInstallationSubmissions(id);
    }
    await glasshouse.privacy.forgetInstallation(id);
  }
  return erased.length;
}

async function committedTo(
  glasshouse: Glasshouse,
  id: string,
  commitments: ReadonlySet<string>,
): Promise<boolean> {
  for (const site of glasshouse.siteClients.values()) {
    const commitment = await site.commitInstallation(id, 'installation', id).catch(() => undefined);
    if (commitment !== undefined && commitments.has(commitment)) return true;
  }
  return false;
}
