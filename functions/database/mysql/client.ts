/**
 * The MySQL/MariaDB client: the SQL database interface over one reused mysql2 connection. It is the
 * library API (usable outside Lambda) and the only code the operations call; every failure leaves it as a
 * core error.
 */
import { type FieldIssue, NotFoundError, ValidationError } from '@circle-core/core';
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
  SqlRow,
} from '#shared/models/sql-database.ts';
import { SqlClientBase } from '#shared/sql/client-base.ts';
import { rdsSigner, withIamToken } from '#shared/sql/credentials.ts';
import { readOnlyRefusal } from '#shared/sql/errors.ts';
import { credentialsFromSettings } from '#shared/sql/settings.ts';
import { roundedIntegerIssue } from '#shared/sql/values.ts';
import type { MysqlConfig } from './config.ts';
import {
  type ConnectionFactory,
  type ConnectionOptions,
  MysqlConnection,
  type Outcome,
  type Session,
  StatementFailure,
} from './connection.ts';
import { DESCRIBE_TABLE_SQL, LIST_TABLES_SQL, planInsert, refusal, TABLE_TYPES, typeName } from './sql.ts';

/** The optional abilities of the SQL database interface this client offers: all of them. */
export const CAPABILITIES = [
  'transactions',
  'bulk-insert',
  'read-only',
] as const satisfies readonly SqlDatabaseCapability[];

/** The engine facts credentials need. */
export const MYSQL = {
  name: 'MySQL',
  prefix: 'MYSQL',
  schemes: ['mysql', 'mariadb'],
  engine: /mysql|mariadb/,
  defaultPort: 3306,
  defaultUser: 'root',
  defaultDatabase: '',
} as const;

/** Side effects a caller (a test) may replace when building from config. */
export interface MysqlClientDependencies {
  createConnection?: ConnectionFactory;
  remainingTimeMs?: () => number;
}

/** `query` and `execute` run a caller's SQL: the session is reset after it (see MysqlConnection.use). */
const CALLER_SQL = { callerSql: true } as const;

type Rows = Pick<QueryOutput, 'rows' | 'rowCount' | 'truncated'>;

/** The first parameter holding an integer JSON has already rounded (beyond 2^53), as a field issue. */
function roundedParameter(params: readonly unknown[], at: string): FieldIssue | undefined {
  for (const [index, value] of params.entries()) {
    const issue = roundedIntegerIssue(value, `${at}/params/${index}`);
    if (issue !== undefined) return issue;
  }
  return undefined;
}

const rowsOf = (outcome: Outcome): Rows => ({
  rows: outcome.rows as SqlRow[],
  rowCount: outcome.rowCount,
  truncated: outcome.truncated,
});

/**
 * MySQL and MariaDB (RDS, Aurora MySQL, self-hosted) through mysql2. Every statement is a prepared
 * statement with `?` placeholders and bound values, one statement per call; identifiers it writes itself
 * are quoted with backticks.
 *
 * @example
 * ```ts
 * const db = new MysqlClient({ credentials: urlCredentials('mysql://root@127.0.0.1/test', MYSQL),
 *   ssl: 'disable', statementTimeoutMs: 15_000, connectTimeoutMs: 5_000, readOnly: false, maxRows: 10_000 });
 * const { rows } = await db.query({ sql: 'select * from orders where id = ?', params: [42] });
 * await db.close();
 * ```
 */
export class MysqlClient extends SqlClientBase<Session> implements SqlDatabase {
  readonly capabilities: ReadonlySet<SqlDatabaseCapability> = new Set(CAPABILITIES);

  /** The connection typed as MySQL's, whose `use` can reset the session after a caller's SQL. */
  readonly #mysql: MysqlConnection;

  constructor(options: ConnectionOptions) {
    const connection = new MysqlConnection(options);
    super(connection, options.credentials, options.readOnly);
    this.#mysql = connection;
  }

  /**
   * Builds the client the connector's configuration describes (secret or URL, IAM token, TLS, timeouts).
   *
   * @example
   * ```ts
   * const db = MysqlClient.fromConfig(loadConfig(MysqlConfig));
   * ```
   */
  static fromConfig(config: MysqlConfig, dependencies: MysqlClientDependencies = {}): MysqlClient {
    const base = credentialsFromSettings(config, MYSQL);
    return new MysqlClient({
      credentials: config.MYSQL_IAM_AUTH ? withIamToken(base, rdsSigner(process.env['AWS_REGION'])) : base,
      ssl: config.MYSQL_SSL,
      iamAuth: config.MYSQL_IAM_AUTH,
      statementTimeoutMs: config.MYSQL_STATEMENT_TIMEOUT_MS,
      connectTimeoutMs: config.MYSQL_CONNECT_TIMEOUT_MS,
      readOnly: config.MYSQL_READ_ONLY,
      maxRows: config.MYSQL_MAX_ROWS,
      ...dependencies,
    });
  }

  async query(input: QueryInput): Promise<QueryOutput> {
    const { sql, params = [] } = input;
    const refused = refusal(sql, { inTransaction: this.readOnly });
    if (refused !== undefined)
      throw new ValidationError(`The statement was refused: ${refused}`, [
        { pointer: '/sql', message: refused },
      ]);
    const rounded = roundedParameter(params, '');
    if (rounded !== undefined) throw new ValidationError(rounded.message, [rounded]);
    return this.#mysql.use(
      async (session) => {
        const outcome = this.readOnly
          ? await this.#transaction(session, () => this.#inside(session, sql, params))
          : await session.run(sql, params);
        // Backstop for what the keyword check cannot see (a CALL that begins a transaction).
        if (!this.readOnly && session.inTransaction()) {
          throw new ValidationError('The statement left a transaction open; it was rolled back. Use execute');
        }
        return {
          ...rowsOf(outcome),
          fields: outcome.fields.map((field) => ({ name: field.name, type: typeName(field) })),
        };
      },
      this.replay(),
      CALLER_SQL,
    );
  }

  async execute(input: ExecuteInput): Promise<ExecuteOutput> {
    for (const [index, statement] of input.statements.entries()) {
      const refused = refusal(statement.sql, { inTransaction: true });
      if (refused !== undefined) {
        throw new ValidationError(
          `Statement ${index} was refused: ${refused}`,
          [{ pointer: `/statements/${index}/sql`, message: refused }],
          { details: { statementIndex: index } },
        );
      }
      const rounded = roundedParameter(statement.params ?? [], `/statements/${index}`);
      if (rounded !== undefined) {
        throw new ValidationError(`Statement ${index} was refused: ${rounded.message}`, [rounded], {
          details: { statementIndex: index },
        });
      }
    }
    return this.#mysql.use(
      (session) =>
        this.#transaction(session, async () => {
          const results = [];
          for (const [index, statement] of input.statements.entries()) {
            results.push(rowsOf(await this.#inside(session, statement.sql, statement.params ?? [], index)));
          }
          return { results };
        }),
      this.replay(),
      CALLER_SQL,
    );
  }

  async insertRows(input: InsertRowsInput): Promise<InsertRowsOutput> {
    if (this.readOnly) throw readOnlyRefusal('MYSQL', 'insert-rows');
    for (const [index, row] of input.rows.entries()) {
      const rounded = roundedIntegerIssue(row, `/rows/${index}`);
      if (rounded !== undefined) throw new ValidationError(rounded.message, [rounded]);
    }
    const batches = planInsert(input);
    return this.connection.use(
      (session) =>
        this.#transaction(session, async () => {
          let inserted = 0;
          for (const batch of batches) {
            const outcome = await session.run(batch.sql, batch.params);
            // Every warning must be a skipped duplicate: anything else (a value cut or replaced, which
            // INSERT IGNORE or a lax sql_mode allow) fails the whole insert instead of storing altered rows.
            if (outcome.warnings > batch.rows - outcome.rowCount) {
              throw new ValidationError(
                'The server changed or refused values of some rows (warnings other than duplicates); nothing was inserted',
              );
            }
            inserted += outcome.rowCount;
          }
          return { inserted, batches: batches.length };
        }),
      'write',
    );
  }

  async listTables(input: ListTablesInput = {}): Promise<ListTablesOutput> {
    const schema = input.schema ?? null;
    const outcome = await this.connection.use(
      (session) => session.run(LIST_TABLES_SQL, [schema, schema]),
      'read',
    );
    return {
      tables: outcome.rows.map((row) => ({
        schema: String(row['schema']),
        name: String(row['name']),
        type: TABLE_TYPES[String(row['kind'])] ?? 'table',
      })),
    };
  }

  async describeTable(input: DescribeTableInput): Promise<DescribeTableOutput> {
    const { rows } = await this.connection.use(
      (session) => session.run(DESCRIBE_TABLE_SQL, [input.schema ?? null, input.table]),
      'read',
    );
    const first = rows[0];
    if (first === undefined) {
      const where = input.schema === undefined ? 'the current database' : `database "${input.schema}"`;
      throw new NotFoundError(`Table "${input.table}" was not found in ${where}`);
    }
    const columns = rows.filter((row) => row['column_name'] !== null);
    return {
      schema: String(first['schema']),
      name: String(first['name']),
      type: TABLE_TYPES[String(first['kind'])] ?? 'table',
      columns: columns.map((row) => ({
        name: String(row['column_name']),
        position: Number(row['position']),
        type: String(row['type']),
        nullable: Number(row['nullable']) === 1,
        // MariaDB reports DEFAULT NULL as the text NULL: no default expression either way.
        default:
          row['default_value'] === null || row['default_value'] === 'NULL'
            ? null
            : String(row['default_value']),
        primaryKey: row['key_position'] !== null,
      })),
      primaryKey: columns
        .filter((row) => row['key_position'] !== null)
        .sort((a, b) => Number(a['key_position']) - Number(b['key_position']))
        .map((row) => String(row['column_name'])),
    };
  }

  /** START TRANSACTION [READ ONLY] ... COMMIT around `body`; a failure is rolled back by the connection. */
  async #transaction<T>(session: Session, body: () => Promise<T>): Promise<T> {
    await session.run(this.readOnly ? 'start transaction read only' : 'start transaction');
    const result = await body();
    await session.run('commit');
    return result;
  }

  /** One statement inside the connector's transaction, which it must neither fail silently nor end. */
  async #inside(session: Session, sql: string, params: readonly unknown[], index?: number): Promise<Outcome> {
    let outcome: Outcome;
    try {
      outcome = await session.run(sql, params);
    } catch (error) {
      throw index === undefined ? error : new StatementFailure(index, error);
    }
    if (!session.inTransaction()) {
      const what = index === undefined ? 'The statement' : `Statement ${index}`;
      const details = index === undefined ? undefined : { details: { statementIndex: index } };
      throw new ValidationError(`${what} ended the transaction the connector opened`, [], details);
    }
    return outcome;
  }
}
