import type { Kysely, Migration } from 'kysely';

/**
 * `scanning` the samples stored when it started; `active` once through them, matching what
 * arrives (live hunting) until stopped; `paused` either way; `stopped` (after its scan) and
 * `cancelled` (at any time) are final; `failed` when a site refused its batch (resumable).
 */
export type HuntState = 'scanning' | 'active' | 'paused' | 'stopped' | 'cancelled' | 'failed';

export interface HuntsTable {
  id: string;
  name: string;
  /** The token that started it: its hunts are the ones it lists and controls. */
  owner_token: string;
  /** JSON `Actor`, for the hunt's log entries. */
  actor: string;
  /** The rule set's text, kept while the hunt may still run (cleared once stopped or cancelled). */
  rules: string;
  rules_sha256: string;
  /** JSON array of the sites it hunts at (the token's sites when it started). */
  sites: string;
  state: HuntState;
  created_at: string;
  updated_at: string;
  /** When the scan of the stored samples reached the end at every site. */
  scanned_at: string | null;
  finished_at: string | null;
  /** Samples and bytes the sites held when it started: the scan's total. */
  samples_total: number;
  bytes_total: number;
  error: string | null;
  /** JSON `Actor` of who stopped or cancelled it; set until its log entry is written. */
  ended_by: string | null;
}

/** Where a hunt is at one site: the cursor of its next batch, and what it has done there. */
export interface HuntSitesTable {
  hunt_id: string;
  site: string;
  /** The arrival cursor (`SampleScanRequest.after`) of the next batch. */
  arrival_cursor: number;
  /** 1 once a batch reached the samples the site held then. */
  reached_end: number;
  samples: number;
  skipped: number;
  bytes: number;
}

export interface HuntMatchesTable {
  /** The order matches were found in: the key of the matches' pages. */
  id: number | undefined;
  hunt_id: string;
  site: string;
  sha256: string;
  /** JSON array of the rule names that matched. */
  rules: string;
  found_at: string;
}

export interface HuntTables {
  hunts: HuntsTable;
  hunt_sites: HuntSitesTable;
  hunt_matches: HuntMatchesTable;
}

export const huntMigrations: Record<string, Migration> = {
  '0800_hunts': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('hunts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('owner_token', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('rules_sha256', 'text', (c) => c.notNull())
        .addColumn('sites', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('scanned_at', 'text')
        .addColumn('finished_at', 'text')
        .addColumn('samples_total', 'integer', (c) => c.notNull())
        .addColumn('bytes_total', 'integer', (c) => c.notNull())
        .addColumn('error', 'text')
        .addColumn('ended_by', 'text')
        .execute();
      await db.schema
        .createIndex('hunts_owner')
        .on('hunts')
        .columns(['owner_token', 'created_at', 'id'])
        .execute();
      await db.schema
        .createTable('hunt_sites')
        .addColumn('hunt_id', 'text', (c) => c.notNull().references('hunts.id'))
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('arrival_cursor', 'integer', (c) => c.notNull())
        .addColumn('reached_end', 'integer', (c) => c.notNull())
        .addColumn('samples', 'integer', (c) => c.notNull())
        .addColumn('skipped', 'integer', (c) => c.notNull())
        .addColumn('bytes', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('hunt_sites_pk', ['hunt_id', 'site'])
        .execute();
      await db.schema
        .createTable('hunt_matches')
        .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('hunt_id', 'text', (c) => c.notNull().references('hunts.id'))
        .addColumn('site', 'text', (c) => c.notNull())
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('rules', 'text', (c) => c.notNull())
        .addColumn('found_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('hunt_matches_sample')
        .on('hunt_matches')
        .columns(['hunt_id', 'site', 'sha256'])
        .unique()
        .execute();
    },
  },
};
