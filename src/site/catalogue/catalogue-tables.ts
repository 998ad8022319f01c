import type { Kysely, Migration } from 'kysely';

/** Analysts' tags on the site's samples (the samples table itself is the vault's, untouched). */
export interface SampleTagsTable {
  sha256: string;
  tag: string;
  added_at: string;
}

/** Analysts' comments on the site's samples: free text that must hold no personal data. */
export interface SampleCommentsTable {
  id: string;
  sha256: string;
  text: string;
  created_at: string;
  author_role: string;
  author_token: string;
}

export interface CatalogueTables {
  sample_tags: SampleTagsTable;
  sample_comments: SampleCommentsTable;
}

export const catalogueMigrations: Record<string, Migration> = {
  '0900_sample_catalogue': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('sample_tags')
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('tag', 'text', (c) => c.notNull())
        .addColumn('added_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('sample_tags_pk', ['sha256', 'tag'])
        .execute();
      // The tag filter of a search: the samples carrying a tag.
      await db.schema.createIndex('sample_tags_tag').on('sample_tags').columns(['tag', 'sha256']).execute();
      await db.schema
        .createTable('sample_comments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('author_role', 'text', (c) => c.notNull())
        .addColumn('author_token', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('sample_comments_sample')
        .on('sample_comments')
        .columns(['sha256', 'created_at', 'id'])
        .execute();
      // Newest first by first seen: the order of every search.
      await db.schema
        .createIndex('samples_first_seen')
        .on('samples')
        .columns(['first_seen', 'sha256'])
        .execute();
    },
  },
};
