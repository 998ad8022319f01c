import type { Kysely, Migration } from 'kysely';

export interface SamplesTable {
  sha256: string;
  sha1: string;
  md5: string;
  sha512: string;
  size: number;
  ssdeep: string | null;
  tlsh: string | null;
  /** The media type from the magic bytes; null until fingerprinted (then never null again). */
  file_type: string | null;
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

/**
 * A sample's data key wrapped again by a master-key rotation (`glasshouse keys rotate`). The
 * blob file keeps its header (the AAD of its segments); this row replaces the header's wrap,
 * for the file whose header wrap is `header_wrap` only. No row: the header's wrap is under
 * the current master key.
 */
export interface BlobKeyWrapsTable {
  sha256: string;
  header_wrap: Buffer;
  /** The id of the master key `wrapped_key` is under (`masterKeyId`). */
  key_id: string;
  wrapped_key: Buffer;
}

export interface VaultTables {
  samples: SamplesTable;
  submissions: SubmissionsTable;
  blob_key_wraps: BlobKeyWrapsTable;
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
  '0110_blob_key_wraps': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('blob_key_wraps')
        .addColumn('sha256', 'text', (c) => c.primaryKey())
        .addColumn('header_wrap', 'blob', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('wrapped_key', 'blob', (c) => c.notNull())
        .execute();
    },
  },
  '0120_sample_fingerprints': {
    async up(db: Kysely<unknown>) {
      // ssdeep and tlsh exist since 0100; a null file type marks a sample not fingerprinted yet.
      await db.schema.alterTable('samples').addColumn('file_type', 'text').execute();
      // The type filter of a search, in its order (newest first).
      await db.schema
        .createIndex('samples_file_type')
        .on('samples')
        .columns(['file_type', 'first_seen', 'sha256'])
        .execute();
    },
  },
};
