import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';

type QueryCompiler = Parameters<NonNullable<Driver['savepoint']>>[2];

/**
 * The advisory lock every transaction of a store takes first (advisory locks are per
 * database, so each store has its own). Any 64-bit number works; this one is "gh-meta" in ASCII.
 */
const TRANSACTION_LOCK = '29106466919380065';

/**
 * Runs transactions one at a time, in this process and across processes: the semantics the
 * domain code was written against on SQLite, where one writer holds the database at a time
 * and the next waits for it (`busy_timeout`). In a process, transactions queue here; across
 * processes (the server and a CLI command), each takes a database-wide advisory lock as its
 * first statement, at READ COMMITTED, so it waits for the one running and then sees all it
 * committed. SERIALIZABLE alone would instead fail one of two overlapping read-then-write
 * transactions, which the domain code (like SQLite with a busy timeout) does not retry.
 * Queries outside a transaction use the rest of the pool, in parallel.
 *
 * A transaction waiting for its turn holds no pooled connection (connections are taken on
 * first use): otherwise waiting transactions could take the whole pool, and the running one
 * could not run a query outside itself.
 */
export class SerializedTransactionsDriver implements Driver {
  readonly #driver: Driver;
  /** Resolves when the transaction running now, and every one queued before, has ended. */
  #tail: Promise<void> = Promise.resolve();
  readonly #endTurn = new WeakMap<DatabaseConnection, () => void>();

  constructor(driver: Driver) {
    this.#driver = driver;
  }

  init(): Promise<void> {
    return this.#driver.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    return new LazyConnection(this.#driver);
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const previous = this.#tail;
    let endTurn: () => void = () => undefined;
    this.#tail = new Promise<void>((resolve) => {
      endTurn = resolve;
    });
    this.#endTurn.set(connection, endTurn);
    await previous;
    try {
      const connected = await real(connection);
      await this.#driver.beginTransaction(connected, {
        ...settings,
        isolationLevel: settings.isolationLevel ?? 'read committed',
      });
      await connected.executeQuery(CompiledQuery.raw(`select pg_advisory_xact_lock(${TRANSACTION_LOCK})`));
    } catch (error) {
      this.#endTurnOf(connection);
      throw error;
    }
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.#driver.commitTransaction(await real(connection));
    } finally {
      this.#endTurnOf(connection);
    }
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    try {
      await this.#driver.rollbackTransaction(await real(connection));
    } finally {
      this.#endTurnOf(connection);
    }
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler): Promise<void> {
    await this.#driver.savepoint?.(await real(connection), name, compile);
  }

  async rollbackToSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler,
  ): Promise<void> {
    await this.#driver.rollbackToSavepoint?.(await real(connection), name, compile);
  }

  async releaseSavepoint(
    connection: DatabaseConnection,
    name: string,
    compile: QueryCompiler,
  ): Promise<void> {
    await this.#driver.releaseSavepoint?.(await real(connection), name, compile);
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    await (connection as LazyConnection).release();
  }

  destroy(): Promise<void> {
    return this.#driver.destroy();
  }

  #endTurnOf(connection: DatabaseConnection): void {
    this.#endTurn.get(connection)?.();
    this.#endTurn.delete(connection);
  }
}

function real(connection: DatabaseConnection): Promise<DatabaseConnection> {
  return (connection as LazyConnection).real();
}

/** A pooled connection taken on first use and given back on release. */
class LazyConnection implements DatabaseConnection {
  readonly #driver: Driver;
  #acquired: Promise<DatabaseConnection> | undefined;

  constructor(driver: Driver) {
    this.#driver = driver;
  }

  real(): Promise<DatabaseConnection> {
    this.#acquired ??= this.#driver.acquireConnection();
    return this.#acquired;
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    return (await this.real()).executeQuery<R>(query);
  }

  async *streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    yield* (await this.real()).streamQuery<R>(query, chunkSize);
  }

  async release(): Promise<void> {
    if (this.#acquired === undefined) return;
    const acquired = await this.#acquired.catch(() => undefined);
    this.#acquired = undefined;
    // A connection that could not be taken has nothing to give back (the query reported why).
    if (acquired !== undefined) await this.#driver.releaseConnection(acquired);
  }
}
