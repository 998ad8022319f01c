import type { Kysely, Migration } from 'kysely';

export type RelocationState = 'running' | 'paused' | 'cancelling' | 'cancelled' | 'done' | 'failed';

/** Where one installation of a relocation is; each step is journaled before the next starts. */
export type ItemStep =
  | 'pending'
  | 'copied'
  | 'verified'
  | 'switched'
  | 'purged'
  | 'done'
  | 'rolledback'
  | 'skipped';

export interface RelocationsTable {
  id: string;
  state: RelocationState;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** JSON `Actor`. */
  actor: string;
  policy_version: number;
  batch_size: number;
  /** 0: unlimited. */
  rate_limit_mbps: number;
  /** JSON array of error strings, most recent last. */
  errors: string;
}

export interface RelocationItemsTable {
  relocation_id: string;
  installation_id: string;
  source: string;
  target: string;
  batch: number;
  step: ItemStep;
  /** As planned: the installation's submissions, the samples they reference, their bytes, its events. */
  submissions: number;
  samples: number;
  bytes: number;
  events: number;
  updated_at: string;
}

export interface RelocationTables {
  relocations: RelocationsTable;
  relocation_items: RelocationItemsTable;
}

export const relocationMigrations: Record<string, Migration> = {
  '0500_relocations': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('relocations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('policy_version', 'integer', (c) => c.notNull())
        .addColumn('batch_size', 'integer', (c) => c.notNull())
        .addColumn('rate_limit_mbps', 'real', (c) => c.notNull())
        .addColumn('errors', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('relocation_items')
        .addColumn('relocation_id', 'text', (c) => c.notNull().references('relocations.id'))
        .addColumn('installation_id', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('batch', 'integer', (c) => c.notNull())
        .addColumn('step', 'text', (c) => c.notNull())
        .addColumn('submissions', 'integer', (c) => c.notNull())
        .addColumn('samples', 'integer', (c) => c.notNull())
        .addColumn('bytes', 'integer', (c) => c.notNull())
        .addColumn('events', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('relocation_items_pk', ['relocation_id', 'installation_id'])
        .execute();
      await db.schema
        .createIndex('relocation_items_batch')
        .on('relocation_items')
        .columns(['relocation_id', 'batch'])
        .execute();
    },
  },
};
