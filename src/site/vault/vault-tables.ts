import type { Kysely, Migration } from 'kysely';

export interface SamplesTable {
  sha256: string;
  sha1: string;
  md5: string;
  sha512: string;
  size: number;
  ssdeep: string | null;
  tlsh: string | null;
  first_seen: string;
  last_seen: string;
}

export interface SubmissionsTable {
  id: number | undefined;
  sha256: string;
  installation_id: string;
  submitted_at: string;
  product: string;
  /** The file name, sealed under the installation's key (see subjects/). */
  filename_sealed: string;
}

export interface VaultTables {
  samples: SamplesTable;
  submissions: SubmissionsTable;
}

export const vaultMigrations: Record<string, Migration> = {
  '0100_samples': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('samples')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('sha1', 'text', (c) => c.notNull())
        .addColumn('md5', 'text', (c) => c.notNull())
        .addColumn('sha512', 'text', (c) => c.notNull())
        .addColumn('size', 'integer', (c) => c.notNull())
        .addColumn('ssdeep', 'text')
        .addColumn('tlsh', 'text')
        .addColumn('first_seen', 'text', (c) => c.notNull())
        .addColumn('last_seen', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('samples_sha1').on('samples').column('sha1').execute();
      await db.schema.createIndex('samples_md5').on('samples').column('md5').execute();
      await db.schema.createIndex('samples_sha512').on('samples').column('sha512').execute();
      await db.schema
        .createTable('submissions')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('sha256', 'text', (c) => c.notNull().references('samples.sha256'))
        .addColumn('installation_id', 'text', (c) => c.notNull())
        .addColumn('submitted_at', 'text', (c) => c.notNull())
        .addColumn('product', 'text', (c) => c.notNull())
        .addColumn('filename_sealed', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('submissions_sha256').on('submissions').column('sha256').execute();
      await db.schema
        .createIndex('submissions_installation')
        .on('submissions')
        .column('installation_id')
        .execute();
    },
  },
};
