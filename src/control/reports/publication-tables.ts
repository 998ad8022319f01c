import type { Kysely, Migration } from 'kysely';

/** A period whose transparency report an admin made public. */
export interface PublishedReportsTable {
  /** `2021` or `2021-H2`. */
  period: string;
  published_at: string;
  /** The id of the admin token that published it. */
  published_by: string;
}

export interface PublicationTables {
  published_reports: PublishedReportsTable;
}

export const publicationMigrations: Record<string, Migration> = {
  '0700_published_reports': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('published_reports')
        .addColumn('period', 'text', (c) => c.primaryKey())
        .addColumn('published_at', 'text', (c) => c.notNull())
        .addColumn('published_by', 'text', (c) => c.notNull())
        .execute();
    },
  },
};
