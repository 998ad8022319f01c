import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteMetadataStore } from '../../adapters/storage/sqlite/sqlite-metadata-store.js';
import type { MetadataStore } from '../../ports/storage.js';
import { SubjectError } from './subject-errors.js';
import { SubjectKeys } from './subject-keys.js';
import { type SubjectTables, subjectMigrations } from './subject-tables.js';

let store: MetadataStore<SubjectTables> | undefined;
let dir: string | undefined;
afterEach(async () => {
  await store?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

async function subjects(): Promise<SubjectKeys> {
  dir = mkdtempSync(join(tmpdir(), 'glasshouse-subjects-'));
  store = await openSqliteMetadataStore<SubjectTables>({
    file: join(dir, 'site.db'),
    migrations: subjectMigrations,
  });
  return new SubjectKeys({ site: 'zurich', db: store.db, masterKey: randomBytes(32), now: () => new Date() });
}

describe('SubjectKeys.commit', () => {
  describe('when an installation commits to a value', () => {
    it('is deterministic, hides the value, and differs per installation and per field', async () => {
      const keys = await subjects();
      const [a, b] = [randomUUID(), randomUUID()];
      await keys.admit(a);
      await keys.admit(b);
      const commitment = await keys.commit(a, 'installation', a);
      expect(commitment).toMatch(/^[0-9a-f]{64}$/);
      expect(commitment).not.toContain(a.replaceAll('-', ''));
      expect(await keys.commit(a, 'installation', a)).toBe(commitment);
      expect(await keys.commit(b, 'installation', a)).not.toBe(commitment);
      expect(await keys.commit(a, 'filename', a)).not.toBe(commitment);
    });
  });

  describe('when the installation key is gone (erasure)', () => {
    it('can no longer be computed', async () => {
      const keys = await subjects();
      const id = randomUUID();
      await keys.admit(id);
      await store!.db.deleteFrom('subject_keys').where('installation_id', '=', id).execute();
      await expect(keys.commit(id, 'installation', id)).rejects.toBeInstanceOf(SubjectError);
    });
  });
});
