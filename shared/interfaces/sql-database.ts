/**
 * The SQL database interface: what every relational database client (PostgreSQL, MySQL/MariaDB, ...)
 * offers to workflows, whatever its driver looks like. Models live in `shared/models/sql-database.ts`.
 */
import type {
  DescribeTableInput,
  DescribeTableOutput,
  ExecuteInput,
  ExecuteOutput,
  InsertRowsInput,
  InsertRowsOutput,
  ListTablesInput,
  ListTablesOutput,
  QueryInput,
  QueryOutput,
} from '../models/sql-database.ts';
import type { HasCapabilities } from './capabilities.ts';

/**
 * Optional abilities a SQL database client may offer:
 * - `transactions`: `execute` runs its statements in one transaction, all or nothing;
 * - `bulk-insert`: `insert-rows` inserts many rows in few round trips (multi-row statements);
 * - `read-only`: the client can be configured so every statement runs in a read-only transaction and
 *   writes are refused with a `ForbiddenError`.
 */
export type SqlDatabaseCapability = 'transactions' | 'bulk-insert' | 'read-only';

/**
 * A SQL database client. Values only ever travel as bound parameters, never inside SQL text; identifiers
 * (`insert-rows`, `describe-table`) are validated and quoted. Every method maps driver failures onto the
 * core error taxonomy: a unique violation is a `ConflictError`, other integrity violations and SQL errors
 * a `ValidationError`, a missing table a `NotFoundError`, a statement timeout a `TimeoutError`, a write in
 * read-only mode a `ForbiddenError`, refused credentials an `AuthError`, a lost connection, a deadlock or a
 * serialization failure an `UnavailableError` (retryable). Messages never contain parameter values.
 *
 * @example
 * ```ts
 * async function activeUsers(db: SqlDatabase, since: string): Promise<number> {
 *   const { rows } = await db.query({ sql: 'select count(*)::int as n from users where seen > $1', params: [since] });
 *   return rows[0]?.['n'] as number;
 * }
 * ```
 */
export interface SqlDatabase extends HasCapabilities<SqlDatabaseCapability> {
  /** Runs exactly one parameterised statement and returns its rows, count and columns. */
  query(input: QueryInput): Promise<QueryOutput>;
  /**
   * Runs several parameterised statements in one transaction: all are committed or, when one fails, none
   * (the error's `details.statementIndex` and message name the failing statement, 0-based).
   */
  execute(input: ExecuteInput): Promise<ExecuteOutput>;
  /** Inserts many rows into one table in one transaction, in as few statements as the engine allows. */
  insertRows(input: InsertRowsInput): Promise<InsertRowsOutput>;
  /** Lists tables and views, optionally of one schema. */
  listTables(input?: ListTablesInput): Promise<ListTablesOutput>;
  /** Columns, types, nullability, defaults and primary key of one table; `NotFoundError` when missing. */
  describeTable(input: DescribeTableInput): Promise<DescribeTableOutput>;
  /** Releases the connection; the client reconnects if used again. */
  close(): Promise<void>;
}
