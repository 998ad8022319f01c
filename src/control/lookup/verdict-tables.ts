import { type Kysely, type Migration, sql } from 'kysely';

/**
 * Verdicts live in the control plane (technical data, not personal), in their own SQLite
 * file `control/verdicts.db`: a feed import of millions of rows holds that file's write lock
 * for a while, and tokens and the policy (in `control.db`) must not wait for it.
 */
export interface VerdictsTable {
  /** 'md5' | 'sha1' | 'sha256' */
  kind: string;
  digest: Buffer;
  /** 1 malicious, 2 suspicious, 3 clean (`VERDICT_CODE`). */
  verdict: number;
  threat_id: number;
  /** Seconds since the epoch. */
  first_seen: number;
  last_seen: number;
  source: string;
  updated_at: number;
}

export interface ThreatsTable {
  id: number;
  name: string;
}

/** One row: bumped by every committed change, so a process sees that another one wrote. */
export interface VerdictGenerationTable {
  id: number;
  generation: number;
}

export interface VerdictTables {
  verdicts: VerdictsTable;
  threats: ThreatsTable;
  verdict_generation: VerdictGenerationTable;
}

export const verdictMigrations: Record<string, Migration> = {
  '0001_verdicts': {
    async up(db: Kysely<unknown>) {
      // WITHOUT ROWID: the key is the row, and a scan by kind comes out in digest order,
      // which is what the in-memory index loads fastest.
      await db.schema
        .createTable('verdicts')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('digest', 'blob', (c) => c.notNull())
        .addColumn('verdict', 'integer', (c) => c.notNull())
        .addColumn('threat_id', 'integer', (c) => c.notNull())
        .addColumn('first_seen', 'integer', (c) => c.notNull())
        .addColumn('last_seen', 'integer', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'integer', (c) => c.notNull())
        .addPrimaryKeyConstraint('verdicts_pk', ['kind', 'digest'])
        .modifyEnd(sql`without rowid`)
        .execute();
      await db.schema
        .createTable('threats')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull().unique())
        .execute();
      await sql`insert into threats (id, name) values (0, '')`.execute(db);
      await db.schema
        .createTable('verdict_generation')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('generation', 'integer', (c) => c.notNull())
        .execute();
      await sql`insert into verdict_generation (id, generation) values (1, 0)`.execute(db);
    },
  },
};
