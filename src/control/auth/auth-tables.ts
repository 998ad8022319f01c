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
  /** The person the token belongs to (`people.key`); null for product tokens and old tokens. */
  person: string | null;
  expires_at: string | null;
  /** When it last authenticated, to the minute (writes are coalesced). */
  last_used_at: string | null;
}

/** Officers and other token holders, by their normalized name. */
export interface PeopleTable {
  /** The normalized, case-folded name: one person, however the name is capitalised. */
  key: string;
  /** The name as first given. */
  name: string;
  /** Hex; the salt of the person's commitment in the log (see people.ts). */
  salt: string;
  created_at: string;
}

export interface AuthTables {
  tokens: TokensTable;
  people: PeopleTable;
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
  // Tokens created before this have no person: they keep working, but take no part in a
  // four-eyes decision (see docs/tokens.md).
  '0002_token_people': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('people')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('salt', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .alterTable('tokens')
        .addColumn('person', 'text', (c) => c.references('people.key'))
        .execute();
      await db.schema.alterTable('tokens').addColumn('expires_at', 'text').execute();
      await db.schema.alterTable('tokens').addColumn('last_used_at', 'text').execute();
      await db.schema.createIndex('tokens_person_role').on('tokens').columns(['person', 'role']).execute();
    },
  },
};
