import { type Generated, type Kysely, type Migration, sql } from 'kysely';
import { jsonMemberText } from '../../shared/sql-dialect.js';

/** One government or law-enforcement request; JSON columns hold structured values. */
export interface LegalRequestsTable {
  id: string;
  received_at: string;
  requester_country: string;
  authority_kind: string;
  authority: string;
  legal_basis: string;
  reference: string;
  category: string;
  /** JSON `LegalScope`. */
  scope: string;
  due_at: string | null;
  state: string;
  reason: string | null;
  closed_at: string | null;
  /** JSON array of token ids. */
  officers: string;
  /** JSON `Verification`, once proposed. */
  verification: string | null;
  /** JSON `PackageInfo`, once fulfilled. */
  package: string | null;
  /** Hex; the key of the log's `details` commitments. Never leaves the control plane. */
  salt: string;
  historical: number;
  created_at: string;
  updated_at: string;
}

/** Every action on a request, in order: its full history. */
export interface LegalRequestEventsTable {
  seq: Generated<number>;
  request_id: string;
  at: string;
  action: string;
  actor_role: string;
  actor_token: string;
  state: string;
  reason: string | null;
  /** JSON object: what the action carried (note, jurisdictions, package summary). */
  data: string;
}

/** One load of a history file: a file is refused a second time unless told to load it again. */
export interface LegalImportsTable {
  /** SHA-256 of the file, hex. */
  sha256: string;
  /** 0 for the first load of the file, 1 for the next (`again`), … */
  attempt: number;
  rows: number;
  imported_at: string;
}

export interface LegalTables {
  legal_requests: LegalRequestsTable;
  legal_request_events: LegalRequestEventsTable;
  legal_imports: LegalImportsTable;
}

export const legalMigrations: Record<string, Migration> = {
  '0300_legal_requests': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('legal_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('requester_country', 'text', (c) => c.notNull())
        .addColumn('authority_kind', 'text', (c) => c.notNull())
        .addColumn('authority', 'text', (c) => c.notNull())
        .addColumn('legal_basis', 'text', (c) => c.notNull())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('category', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('due_at', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('closed_at', 'text')
        .addColumn('officers', 'text', (c) => c.notNull())
        .addColumn('verification', 'text')
        .addColumn('package', 'text')
        .addColumn('salt', 'text', (c) => c.notNull())
        .addColumn('historical', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('legal_requests_received')
        .on('legal_requests')
        .column('received_at')
        .execute();
      await db.schema
        .createTable('legal_request_events')
        .addColumn('seq', 'integer', (c) => c.primaryKey().autoIncrement())
        .addColumn('request_id', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('actor_role', 'text', (c) => c.notNull())
        .addColumn('actor_token', 'text', (c) => c.notNull())
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('data', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('legal_request_events_request')
        .on('legal_request_events')
        .column('request_id')
        .execute();
    },
  },
  '0301_legal_imports': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('legal_imports')
        .addColumn('sha256', 'text', (c) => c.notNull())
        .addColumn('attempt', 'integer', (c) => c.notNull())
        .addColumn('rows', 'integer', (c) => c.notNull())
        .addColumn('imported_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('legal_imports_pk', ['sha256', 'attempt'])
        .execute();
      // Files loaded before this table existed: each row's history item names its file.
      const file = jsonMemberText(db, 'data', 'file');
      await sql`INSERT INTO legal_imports (sha256, attempt, rows, imported_at)
        SELECT ${file}, 0, count(*), min(at) FROM legal_request_events
        WHERE action = 'imported' AND ${file} IS NOT NULL
        GROUP BY ${file}`.execute(db);
    },
  },
};
