import type { Kysely, Migration } from 'kysely';

export interface TokensTable {
  id: string;
  token_hash: string;
  role: string;
  /** JSON array of site names, or the string '*'. */
  sites: string;
  label: string;
  created_at: string;
  revoked_at: string | null;
}

export interface AuthTables {
  tokens: TokensTable;
}

export const authMigrations: Record<string, Migration> = {
  '0001_tokens': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('role', 'text', (c) => c.notNull())
        .addColumn('sites', 'text', (c) => c.notNull())
        .addColumn('label', 'text', (c) => c.notNull().defaultTo(''))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();
    },
  },
};
