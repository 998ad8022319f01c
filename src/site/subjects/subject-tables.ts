import type { Kysely, Migration } from 'kysely';

export interface SubjectKeysTable {
  installation_id: string;
  /** The installation's data key, wrapped by the site master key. Erasure deletes the row. */
  wrapped_key: Buffer;
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
};
