import { type CreateTableBuilder, type Kysely, PostgresAdapter, type RawBuilder, sql } from 'kysely';

/**
 * The few places where domain SQL cannot be written once for both engines of the
 * `MetadataStore` port: SQLite (embedded, the default) and PostgreSQL. Everything else is
 * plain Kysely, and the PostgreSQL store translates SQLite's column types itself.
 */

/** Any database: only its dialect is read. */
// biome-ignore lint/suspicious/noExplicitAny: the tables do not matter here.
type AnyDatabase = Kysely<any>;

/** Whether `db` runs on PostgreSQL (otherwise on SQLite). */
export function isPostgres(db: AnyDatabase): boolean {
  return db.getExecutor().adapter instanceof PostgresAdapter;
}

/** The PostgreSQL column that {@link withInsertionOrder} adds. */
const INSERTION_ORDER_COLUMN = 'insertion_order';

/**
 * Adds to a new table what {@link insertionOrder} sorts by: nothing on SQLite, where every
 * table has its `rowid`; an identity column on PostgreSQL, which keeps no insertion order.
 */
export function withInsertionOrder<Name extends string, Columns extends string>(
  db: AnyDatabase,
  table: CreateTableBuilder<Name, Columns>,
): CreateTableBuilder<Name, Columns> {
  if (!isPostgres(db)) return table;
  return table.addColumn(INSERTION_ORDER_COLUMN, 'bigint', (c) =>
    c.generatedAlwaysAsIdentity().notNull(),
  ) as CreateTableBuilder<Name, Columns>;
}

/**
 * An `ORDER BY` term for the order rows were inserted in, for a table created with
 * {@link withInsertionOrder} (or, on SQLite, any table).
 */
export function insertionOrder(db: AnyDatabase): RawBuilder<number> {
  return isPostgres(db) ? sql<number>`${sql.ref(INSERTION_ORDER_COLUMN)}` : sql<number>`rowid`;
}

/**
 * The text of the member `key` of the JSON object in `column`, or null
 * (`json_extract(column, '$.key')` on SQLite).
 */
export function jsonMemberText(db: AnyDatabase, column: string, key: string): RawBuilder<string | null> {
  return isPostgres(db)
    ? sql<string | null>`(${sql.ref(column)}::jsonb ->> ${sql.lit(key)})`
    : sql<string | null>`json_extract(${sql.ref(column)}, ${sql.lit(`$.${key}`)})`;
}
