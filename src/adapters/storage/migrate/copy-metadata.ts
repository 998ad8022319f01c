import { type Kysely, sql } from 'kysely';
import { StorageError } from '../../../shared/storage-errors.js';

// biome-ignore lint/suspicious/noExplicitAny: tables are discovered at run time, not typed.
type AnyDb = Kysely<any>;
type Row = Record<string, unknown>;

/** Rows per INSERT: PostgreSQL takes at most 65,535 parameters in one statement. */
const PARAMETERS_PER_INSERT = 30_000;
/** The key this copy reads rows in order by; never a column of ours. */
const ROWID = '__migrate_rowid';

export interface TableCopy {
  readonly table: string;
  readonly rows: number;
}

/** One table as SQLite holds it: its columns, the tables it references, its AUTOINCREMENT high mark. */
interface SourceTable {
  readonly name: string;
  readonly columns: readonly string[];
  readonly references: readonly string[];
  readonly rows: number;
  /** `sqlite_sequence`: the highest id AUTOINCREMENT ever gave, deleted rows included. */
  readonly highestId: number | undefined;
}

/**
 * The node's tables in a SQLite metadata store (Kysely's own left out), in an order where
 * every table comes after the tables its foreign keys reference.
 */
export async function sqliteTables(source: AnyDb): Promise<SourceTable[]> {
  const names = await sql<{ name: string }>`select name from sqlite_master where type = 'table'
    and name not like 'sqlite\\_%' escape '\\' and name not like 'kysely\\_%' escape '\\'
    order by name`.execute(source);
  const hasSequence =
    (
      await sql<{
        n: number;
      }>`select count(*) as n from sqlite_master where name = 'sqlite_sequence'`.execute(source)
    ).rows[0]?.n === 1;
  const tables = new Map<string, SourceTable>();
  for (const { name } of names.rows) {
    const columns = await sql<{
      name: string;
    }>`select name from pragma_table_info(${name}) order by cid`.execute(source);
    const references = await sql<{
      parent: string;
    }>`select "table" as parent from pragma_foreign_key_list(${name})`.execute(source);
    const count = await sql<{ n: number }>`select count(*) as n from ${sql.table(name)}`.execute(source);
    const sequence = hasSequence
      ? (await sql<{ seq: number }>`select seq from sqlite_sequence where name = ${name}`.execute(source))
          .rows[0]?.seq
      : undefined;
    tables.set(name, {
      name,
      columns: columns.rows.map((c) => c.name),
      references: references.rows.map((r) => r.parent).filter((parent) => parent !== name),
      rows: count.rows[0]?.n ?? 0,
      highestId: sequence,
    });
  }
  return inDependencyOrder(tables);
}

function inDependencyOrder(tables: ReadonlyMap<string, SourceTable>): SourceTable[] {
  const ordered: SourceTable[] = [];
  const placed = new Set<string>();
  const visiting = new Set<string>();
  const place = (table: SourceTable) => {
    if (placed.has(table.name)) return;
    if (visiting.has(table.name)) {
      throw new StorageError('MIGRATION_MISMATCH', `the foreign keys of table ${table.name} form a cycle`);
    }
    visiting.add(table.name);
    for (const parent of table.references) {
      const referenced = tables.get(parent);
      if (referenced !== undefined) place(referenced);
    }
    visiting.delete(table.name);
    placed.add(table.name);
    ordered.push(table);
  };
  for (const table of tables.values()) place(table);
  return ordered;
}

/** The tables of `tables` that hold rows in the PostgreSQL database (which may lack some of them). */
export async function postgresTablesWithRows(target: AnyDb, tables: readonly string[]): Promise<string[]> {
  const existing = new Set(
    (
      await sql<{ name: string }>`select table_name as name from information_schema.tables
        where table_schema = current_schema()`.execute(target)
    ).rows.map((r) => r.name),
  );
  const holding: string[] = [];
  for (const table of tables) {
    if (!existing.has(table)) continue;
    const any = await sql<{
      found: boolean;
    }>`select exists (select 1 from ${sql.table(table)}) as found`.execute(target);
    if (any.rows[0]?.found === true) holding.push(table);
  }
  return holding;
}

/**
 * Copies every row of every table from SQLite to PostgreSQL in one transaction (so an
 * interruption leaves the target's tables empty), ids preserved, in dependency order and in
 * each table's insertion order (which PostgreSQL's `insertion_order` columns then number the
 * same way). Afterwards every identity column continues past the highest id SQLite ever gave,
 * so an id is never reused; then the row counts are compared table by table.
 */
export async function copyMetadataToPostgres(
  source: AnyDb,
  target: AnyDb,
  onProgress: (done: number, total: number) => void,
): Promise<TableCopy[]> {
  const tables = await sqliteTables(source);
  const total = tables.reduce((sum, t) => sum + t.rows, 0);
  let done = 0;
  onProgress(done, total);
  await target.transaction().execute(async (trx) => {
    for (const table of tables) {
      const identity = await targetColumns(trx, table);
      const batch = Math.max(1, Math.floor(PARAMETERS_PER_INSERT / table.columns.length));
      let last = Number.MIN_SAFE_INTEGER;
      for (;;) {
        const rows = await sql<Row>`select rowid as ${sql.id(ROWID)}, * from ${sql.table(table.name)}
          where rowid > ${last} order by rowid limit ${batch}`.execute(source);
        if (rows.rows.length === 0) break;
        last = Number(rows.rows.at(-1)![ROWID]);
        await trx
          .insertInto(table.name)
          .values(rows.rows.map((row) => Object.fromEntries(table.columns.map((c) => [c, row[c]]))))
          .execute();
        done += rows.rows.length;
        onProgress(done, total);
      }
      for (const column of identity) await continueIdentity(trx, table, column);
    }
  });
  const copied: TableCopy[] = [];
  for (const table of tables) {
    const count = await sql<{ n: number }>`select count(*) as n from ${sql.table(table.name)}`.execute(
      target,
    );
    const rows = Number(count.rows[0]?.n ?? 0);
    if (rows !== table.rows) {
      throw new StorageError(
        'MIGRATION_MISMATCH',
        `table ${table.name}: SQLite holds ${table.rows} rows, PostgreSQL ${rows} after the copy`,
      );
    }
    copied.push({ table: table.name, rows });
  }
  return copied;
}

/**
 * Checks that PostgreSQL has every column SQLite has, and returns the columns filled by
 * `generated by default as identity` (SQLite's AUTOINCREMENT ids), whose sequences must
 * continue past the copied ids. Columns PostgreSQL alone has (`insertion_order`) fill themselves.
 */
async function targetColumns(target: AnyDb, table: SourceTable): Promise<string[]> {
  const columns = await sql<{ name: string; generation: string | null }>`select column_name as name,
    identity_generation as generation from information_schema.columns
    where table_schema = current_schema() and table_name = ${table.name}`.execute(target);
  if (columns.rows.length === 0) {
    throw new StorageError(
      'MIGRATION_MISMATCH',
      `PostgreSQL has no table ${table.name}: the data directory holds tables this version does not create`,
    );
  }
  const present = new Set(columns.rows.map((c) => c.name));
  const missing = table.columns.filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new StorageError(
      'MIGRATION_MISMATCH',
      `PostgreSQL's table ${table.name} lacks the columns ${missing.join(', ')} that SQLite's has`,
    );
  }
  return columns.rows
    .filter((c) => c.generation === 'BY DEFAULT' && table.columns.includes(c.name))
    .map((c) => c.name);
}

async function continueIdentity(target: AnyDb, table: SourceTable, column: string): Promise<void> {
  const max = await sql<{ id: number | null }>`select max(${sql.ref(column)}) as id from ${sql.table(
    table.name,
  )}`.execute(target);
  const next = Math.max(Number(max.rows[0]?.id ?? 0), table.highestId ?? 0) + 1;
  await sql`select setval(pg_get_serial_sequence(${table.name}, ${column}), ${next}, false)`.execute(target);
}
