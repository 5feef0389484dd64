/**
 * The PostgreSQL client: the SQL database interface over one reused `pg` connection. It is the library API
 * (usable outside Lambda) and the only code the operations call; every failure leaves it as a core error.
 */
import { NotFoundError, ValidationError } from '@circle-core/core';
import type { FieldDef, QueryResult } from 'pg';
import type { SqlDatabase, SqlDatabaseCapability } from '#shared/interfaces/sql-database.ts';
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
  SqlField,
  SqlRow,
  StatementResult,
} from '#shared/models/sql-database.ts';
import { SqlClientBase } from '#shared/sql/client-base.ts';
import type { EngineFacts } from '#shared/sql/credentials.ts';
import { readOnlyRefusal } from '#shared/sql/errors.ts';
import { credentialsFromSettings } from '#shared/sql/settings.ts';
import type { PostgresConfig } from './config.ts';
import {
  type ClientFactory,
  type ConnectionOptions,
  PostgresConnection,
  type Replay,
  type Session,
  StatementFailure,
} from './connection.ts';
import {
  BUILTIN_TYPE_NAMES,
  DESCRIBE_TABLE_SQL,
  isTransactionControl,
  LIST_TABLES_SQL,
  planInsert,
  statementIssue,
  TABLE_TYPES,
  TYPE_NAMES_SQL,
} from './sql.ts';

/** How to build a {@link PostgresClient}. */
export interface PostgresClientOptions extends ConnectionOptions {
  /** Rows returned per result at most; beyond it results are cut and flagged `truncated`. Default 10,000. */
  maxRows?: number;
}

/** The engine facts credentials need. */
export const POSTGRES = {
  name: 'PostgreSQL',
  prefix: 'PG',
  schemes: ['postgres', 'postgresql'],
  engine: /postgres/,
  defaultPort: 5432,
  defaultUser: 'postgres',
  defaultDatabase: 'postgres',
} as const satisfies EngineFacts;

/** Side effects a caller (a test) may replace when building from config. */
export interface PostgresClientDependencies {
  createClient?: ClientFactory;
  remainingTimeMs?: () => number;
}

/** The SQL capabilities PostgreSQL offers: declared here once, reported by the connector. */
export const POSTGRES_CAPABILITIES: ReadonlySet<SqlDatabaseCapability> = new Set([
  'transactions',
  'bulk-insert',
  'read-only',
]);

const TRANSACTION_CONTROL_REFUSED = 'BEGIN, COMMIT, ROLLBACK and the like are refused';
const ENDED_TRANSACTION =
  'ended the transaction the connector opened; nothing was committed by the connector';

/**
 * PostgreSQL (RDS, Aurora, self-hosted, PGlite) through `pg`. Values are always bound parameters over the
 * extended protocol, so a call carries exactly one statement; identifiers it writes itself are quoted.
 *
 * @example
 * ```ts
 * const db = new PostgresClient({ credentials: urlCredentials('postgres://postgres@127.0.0.1/test'),
 *   ssl: 'disable', statementTimeoutMs: 15_000, connectTimeoutMs: 5_000, readOnly: false,
 *   applicationName: 'reports' });
 * const { rows } = await db.query({ sql: 'select * from orders where id = $1', params: [42] });
 * await db.close();
 * ```
 */
export class PostgresClient extends SqlClientBase<Session> implements SqlDatabase {
  readonly capabilities = POSTGRES_CAPABILITIES;
  readonly #maxRows: number;
  /** OIDs are stable within a database, so names are looked up once per container. */
  readonly #typeNames = new Map<number, string>(BUILTIN_TYPE_NAMES);
  /** The settings the session is opened with, put back after a caller's SQL. */
  readonly #sessionSettings: [statementTimeout: string, readOnly: string];
  /**
   * Whether a caller's SQL ran on the session and its state is not reset yet. Read and written only inside
   * `connection.use`, which lends the connection to one unit of work at a time.
   */
  #dirty = false;

  constructor(options: PostgresClientOptions) {
    super(new PostgresConnection(options), options.credentials, options.readOnly);
    this.#maxRows = options.maxRows ?? 10_000;
    this.#sessionSettings = [String(options.statementTimeoutMs), options.readOnly ? 'on' : 'off'];
  }

  /**
   * Builds the client the connector's configuration describes (secret or URL, TLS, timeouts, read-only).
   *
   * @example
   * ```ts
   * const db = PostgresClient.fromConfig(loadConfig(PostgresConfig));
   * ```
   */
  static fromConfig(config: PostgresConfig, dependencies: PostgresClientDependencies = {}): PostgresClient {
    return new PostgresClient({
      credentials: credentialsFromSettings(config, POSTGRES),
      ssl: config.PG_SSL,
      statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
      readOnly: config.PG_READ_ONLY,
      applicationName: config.PG_APPLICATION_NAME,
      maxRows: config.PG_MAX_ROWS,
      ...dependencies,
    });
  }

  async query(input: QueryInput): Promise<QueryOutput> {
    const { sql, params = [] } = input;
    if (isTransactionControl(sql)) {
      throw new ValidationError(
        `query runs one statement on its own and ${TRANSACTION_CONTROL_REFUSED}; use execute`,
      );
    }
    const issue = statementIssue(sql, params, '');
    if (issue !== undefined) throw new ValidationError(issue.message, [issue]);
    return this.#use(
      async (session) => {
        let result: QueryResult;
        if (this.readOnly) {
          result = await this.#transaction(session, async () => {
            const inner = await session.run(sql, params);
            this.#assertStillInTransaction(session, 'The statement');
            return inner;
          });
        } else {
          result = await session.run(sql, params);
          // Backstop for what the keyword check cannot see: the session must not be left in a transaction.
          if (session.transactionStatus() !== 'I') {
            throw new ValidationError(
              'The statement left a transaction open; it was rolled back. Use execute',
            );
          }
        }
        const fields = await this.#fields(session, result.fields);
        return { ...this.#rows(result), rowCount: result.rowCount, fields };
      },
      this.replay(),
      true,
    );
  }

  async execute(input: ExecuteInput): Promise<ExecuteOutput> {
    const control = input.statements.findIndex((statement) => isTransactionControl(statement.sql));
    if (control !== -1) {
      throw new ValidationError(
        `Statement ${control} was refused: execute opens and commits the transaction itself and ${TRANSACTION_CONTROL_REFUSED}`,
        [{ pointer: `/statements/${control}/sql`, message: 'transaction control statement' }],
        { details: { statementIndex: control } },
      );
    }
    for (const [index, statement] of input.statements.entries()) {
      const issue = statementIssue(statement.sql, statement.params ?? [], `/statements/${index}`);
      if (issue !== undefined) {
        throw new ValidationError(`Statement ${index} was refused: ${issue.message}`, [issue], {
          details: { statementIndex: index },
        });
      }
    }
    return this.#use(
      (session) =>
        this.#transaction(session, async () => {
          const results: StatementResult[] = [];
          for (const [index, statement] of input.statements.entries()) {
            let result: QueryResult;
            try {
              result = await session.run(statement.sql, statement.params ?? []);
            } catch (error) {
              throw new StatementFailure(index, error);
            }
            this.#assertStillInTransaction(session, `Statement ${index}`, index);
            results.push({ ...this.#rows(result), rowCount: result.rowCount });
          }
          return { results };
        }),
      this.replay(),
      true,
    );
  }

  async insertRows(input: InsertRowsInput): Promise<InsertRowsOutput> {
    if (this.readOnly) throw readOnlyRefusal('PG', 'insert-rows');
    const batches = planInsert(input);
    return this.#use(
      async (session) => {
        const insertAll = async (): Promise<number> => {
          let inserted = 0;
          for (const batch of batches) inserted += (await session.run(batch.sql, batch.params)).rowCount ?? 0;
          return inserted;
        };
        // One statement is atomic on its own; several need a transaction to be all or nothing.
        const inserted =
          batches.length === 1 ? await insertAll() : await this.#transaction(session, insertAll);
        return { inserted, batches: batches.length };
      },
      'write',
      false,
    );
  }

  async listTables(input: ListTablesInput = {}): Promise<ListTablesOutput> {
    const result = await this.#use(
      (session) => session.run(LIST_TABLES_SQL, [input.schema ?? null]),
      'read',
      false,
    );
    return {
      tables: result.rows.map((row: Record<string, string>) => ({
        schema: String(row['schema']),
        name: String(row['name']),
        type: TABLE_TYPES[String(row['kind'])] ?? 'table',
      })),
    };
  }

  async describeTable(input: DescribeTableInput): Promise<DescribeTableOutput> {
    const result = await this.#use(
      (session) => session.run(DESCRIBE_TABLE_SQL, [input.schema ?? null, input.table]),
      'read',
      false,
    );
    const first = result.rows[0] as Record<string, unknown> | undefined;
    if (first === undefined) {
      const where = input.schema === undefined ? 'the current schema' : `schema "${input.schema}"`;
      throw new NotFoundError(`Table "${input.table}" was not found in ${where}`);
    }
    const primaryKey = first['primary_key'] as string[];
    const columns = result.rows
      .filter((row: Record<string, unknown>) => row['column_name'] !== null)
      .map((row: Record<string, unknown>) => ({
        name: String(row['column_name']),
        position: Number(row['position']),
        type: String(row['type']),
        nullable: row['nullable'] === true,
        default: (row['default_value'] as string | null) ?? null,
        primaryKey: primaryKey.includes(String(row['column_name'])),
      }));
    return {
      schema: String(first['schema']),
      name: String(first['name']),
      type: TABLE_TYPES[String(first['kind'])] ?? 'table',
      columns,
      primaryKey,
    };
  }

  /**
   * A unit of work on the connection. A caller's SQL (`callerSql`) may leave state on the session that
   * outlives it: settings (`SET search_path`, `SET statement_timeout`, `SET SESSION CHARACTERISTICS AS
   * TRANSACTION READ ONLY`, also inside a committed transaction), temporary tables, prepared statements,
   * advisory locks, LISTEN. The connection serves every later invocation of the container, several at once
   * on Lambda Managed Instances, so that state is discarded after the caller's SQL (DISCARD ALL,
   * https://www.postgresql.org/docs/current/sql-discard.html) and the session's own settings are set again.
   * When that clean-up cannot run, the next unit of work runs it first.
   */
  #use<T>(work: (session: Session) => Promise<T>, replay: Replay, callerSql: boolean): Promise<T> {
    return this.connection.use(async (session) => {
      if (this.#dirty) await this.#resetSession(session);
      if (!callerSql) return work(session);
      this.#dirty = true;
      let result: T;
      try {
        result = await work(session);
      } catch (error) {
        await this.#resetSession(session).catch(() => undefined);
        throw error;
      }
      // The work is done (a write committed): a failed clean-up must not report it failed.
      await this.#resetSession(session).catch(() => undefined);
      return result;
    }, replay);
  }

  async #resetSession(session: Session): Promise<void> {
    // DISCARD ALL cannot run inside a transaction block.
    if (session.transactionStatus() !== 'I') await session.run('rollback');
    await session.run('discard all');
    await session.run(
      "select set_config('statement_timeout', $1, false), set_config('default_transaction_read_only', $2, false)",
      this.#sessionSettings,
    );
    this.#dirty = false;
  }

  /**
   * BEGIN ... COMMIT around `body`; a failure is rolled back by the connection. In read-only mode the
   * transaction is READ ONLY and takes its snapshot at once, which makes a later `SET TRANSACTION READ
   * WRITE` fail: a statement cannot switch the transaction back to writing.
   */
  async #transaction<T>(session: Session, body: () => Promise<T>): Promise<T> {
    await session.run(this.readOnly ? 'begin transaction read only' : 'begin');
    if (this.readOnly) await session.run('select 1');
    const result = await body();
    await session.run('commit');
    return result;
  }

  #assertStillInTransaction(session: Session, what: string, statementIndex?: number): void {
    if (session.transactionStatus() === 'T') return;
    const details = statementIndex === undefined ? undefined : { details: { statementIndex } };
    throw new ValidationError(`${what} ${ENDED_TRANSACTION}`, [], details);
  }

  #rows(result: QueryResult): { rows: SqlRow[]; truncated: boolean } {
    const rows = result.rows as SqlRow[];
    if (rows.length <= this.#maxRows) return { rows, truncated: false };
    return { rows: rows.slice(0, this.#maxRows), truncated: true };
  }

  /** Column names and SQL type names; unseen type OIDs are looked up once in pg_type. */
  async #fields(session: Session, fields: FieldDef[] | undefined): Promise<SqlField[]> {
    const list = fields ?? [];
    const unknown = [...new Set(list.map((field) => field.dataTypeID))].filter(
      (oid) => !this.#typeNames.has(oid),
    );
    if (unknown.length > 0) {
      try {
        const names = await session.run(TYPE_NAMES_SQL, [unknown]);
        for (const row of names.rows as { oid: string; name: string }[])
          this.#typeNames.set(Number(row.oid), row.name);
      } catch {
        // The statement already succeeded: a failed name lookup must not fail it (or make it run again).
      }
    }
    return list.map((field) => ({
      name: field.name,
      type: this.#typeNames.get(field.dataTypeID) ?? `oid ${field.dataTypeID}`,
    }));
  }
}
