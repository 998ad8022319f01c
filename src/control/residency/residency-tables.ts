import type { Kysely, Migration } from 'kysely';

export interface PolicyVersionsTable {
  version: number;
  effective_from: string;
  default_site: string;
  /** JSON array of `SiteAssignment`. */
  assign: string;
  created_at: string;
}

export interface InstallationsTable {
  id: string;
  secret_hash: string;
  country: string;
  product: string;
  site: string;
  policy_version: number;
  registered_at: string;
}

export interface ResidencyTables {
  policy_versions: PolicyVersionsTable;
  installations: InstallationsTable;
}

export const residencyMigrations: Record<string, Migration> = {
  '0010_policy_and_installations': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('policy_versions')
        .addColumn('version', 'integer', (c) => c.primaryKey())
        .addColumn('effective_from', 'text', (c) => c.notNull())
        .addColumn('default_site', 'text', (c) => c.notNull())
        .addColumn('assign', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('installations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('secret_hash', 'text', (c) => c.notNull())
        .addColumn('country', 'text', (c) => c.notNull())
        .addColumn('product', 'text', (c) => c.notNull())
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('policy_version', 'integer', (c) => c.notNull())
        .addColumn('registered_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('installations_site').on('installations').column('site').execute();
    },
  },
};
