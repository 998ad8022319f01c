import type { Kysely, Migration } from 'kysely';

export interface SubjectKeysTable {
  installation_id: string;
  /** The installation's data key, wrapped by the site master key. Erasure deletes the row. */
  wrapped_key: Buffer;
  /**
   * The id of the master key `wrapped_key` is under (`masterKeyId`); null for a row from
   * before key ids, which is under the key the site had then (filled in when the site opens).
   */
  key_id: string | null;
  created_at: string;
}

export interface SubjectTables {
  subject_keys: SubjectKeysTable;
}

export const subjectMigrations: Record<string, Migration> = {
  '0050_subject_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('subject_keys')
        .addColumn('installation_id', 'text', (c) => c.primaryKey())
        .addColumn('wrapped_key', 'blob', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0060_subject_key_ids': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('subject_keys').addColumn('key_id', 'text').execute();
    },
  },
};
