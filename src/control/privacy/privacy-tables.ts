import type { Kysely, Migration } from 'kysely';
import { withInsertionOrder } from '../../shared/sql-dialect.js';

export interface PrivacyRequestsTable {
  id: string;
  type: string;
  state: string;
  /** Cleared when an erasure completes: the request then names the installation only by commitment. */
  installation_id: string | null;
  /** `SubjectKeys.commit` at the installation's site, taken when the request is filed. */
  installation_commitment: string | null;
  /** `user` (installation secret) or `officer` (a privacy token, on the user's behalf). */
  filed_by: string;
  /** The officer's token id, for officer-filed requests. */
  officer_token: string | null;
  verification_note: string | null;
  received_at: string;
  due_at: string;
  /** JSON array of `{ days, reason, at }`. */
  extensions: string;
  closed_at: string | null;
  reason: string | null;
  note: string | null;
  /** JSON: the inventory, the export's summary or the erasure receipt; never a file name. */
  answer: string | null;
  /** 1 for historical requests loaded by `privacy import`. */
  imported: number;
  /** SHA-256 of the token an erasure's user reads the receipt with (they can no longer authenticate). */
  receipt_token_hash: string | null;
  /** The installation's site when filed: the request's site scope once the installation is erased. */
  site: string | null;
}

/** The durable journal of the background job: one row per step done, with what it did. */
export interface PrivacyStepsTable {
  request_id: string;
  step: string;
  /** JSON of the step's result (counts and hashes, never a file name or an installation id). */
  result: string;
  done_at: string;
}

/** One load of a history file: a file is refused a second time unless told to load it again. */
export interface PrivacyImportsTable {
  /** SHA-256 of the file, hex. */
  sha256: string;
  /** 0 for the first load of the file, 1 for the next (`again`), … */
  attempt: number;
  rows: number;
  imported_at: string;
}

export interface PrivacyTables {
  privacy_requests: PrivacyRequestsTable;
  privacy_steps: PrivacyStepsTable;
  privacy_imports: PrivacyImportsTable;
}

export const privacyMigrations: Record<string, Migration> = {
  '0400_privacy_requests': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('privacy_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('installation_id', 'text')
        .addColumn('installation_commitment', 'text')
        .addColumn('filed_by', 'text', (c) => c.notNull())
        .addColumn('officer_token', 'text')
        .addColumn('verification_note', 'text')
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('due_at', 'text', (c) => c.notNull())
        .addColumn('extensions', 'text', (c) => c.notNull())
        .addColumn('closed_at', 'text')
        .addColumn('reason', 'text')
        .addColumn('note', 'text')
        .addColumn('answer', 'text')
        .addColumn('imported', 'integer', (c) => c.notNull())
        .addColumn('receipt_token_hash', 'text')
        .execute();
      await db.schema.createIndex('privacy_requests_state').on('privacy_requests').column('state').execute();
      await db.schema
        .createIndex('privacy_requests_installation')
        .on('privacy_requests')
        .column('installation_id')
        .execute();
      // Steps are listed in the order they were done (`insertionOrder`).
      await withInsertionOrder(
        db,
        db.schema
          .createTable('privacy_steps')
          .addColumn('request_id', 'text', (c) => c.notNull())
          .addColumn('step', 'text', (c) => c.notNull())
          .addColumn('result', 'text', (c) => c.notNull())
          .addColumn('done_at', 'text', (c) => c.notNull())
          .addPrimaryKeyConstraint('privacy_steps_pk', ['request_id', 'step']),
      ).execute();
    },
  },
  '0401_privacy_imports': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('privacy_imports')
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('rows', 'integer', (c) => c.notNull())
        .addColumn('imported_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('privacy_imports_pk', ['sha256', 'attempt'])
        .execute();
    },
  },
  '0600_privacy_request_site': {
    async up(db: Kysely<unknown>) {
      await db.schema.alterTable('privacy_requests').addColumn('site', 'text').execute();
    },
  },
};
