/**
 * The one MySQL/MariaDB connection a container keeps, on the core's reused connection: opened on first
 * use, reused across invocations, used by one operation at a time, reopened when the server closed it,
 * re-authenticated once after a secret rotation, bounded in time both by the server's statement
 * timeout and by the Lambda's remaining time (then the statement is killed on the server), and reset after
 * a caller's SQL so that nothing it left on the session reaches a later call.
 */
import { isIP } from 'node:net';
import {
  ConfigurationError,
  callBudget,
  type Replay,
  ReusedConnection,
  remainingTimeMs,
  TimeoutError,
} from '@circle-core/core';
import mysql, { type Connection, type ConnectionOptions as DriverOptions, type FieldPacket } from 'mysql2';
import type { DatabaseCredentials, DatabaseEndpoint } from './credentials.ts';
import { driverError, StatementFailure } from './errors.ts';
import { isAuthFailure, isConnectionLost, toMysqlError, wasUndone } from './mysql-errors.ts';
import { shortestFloat32 } from './values.ts';

/** Builds a mysql2 connection; tests inject their own. */
export type ConnectionFactory = (options: DriverOptions) => Connection;

/** How the connection is opened and bounded. */
export interface ConnectionOptions {
  credentials: DatabaseCredentials;
  /** `verify-full`: TLS with certificate chain and host name checks; `disable`: plain TCP (local only). */
  ssl: 'verify-full' | 'disable';
  /** Sends the password with the clear-text plugin, as RDS IAM authentication needs (over TLS only). */
  iamAuth?: boolean;
  /** Server-side statement timeout of the session, in ms. */
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** Every session's transactions are READ ONLY. */
  readOnly: boolean;
  /** Rows kept per result; the rest are counted, not kept. */
  maxRows: number;
  createConnection?: ConnectionFactory;
  /** Milliseconds left in the invocation (`Infinity` outside Lambda). */
  remainingTimeMs?: () => number;
}

/** What one statement produced: the rows kept (at most maxRows), how many came, and the OK packet. */
export interface Outcome {
  rows: Record<string, unknown>[];
  /** Rows returned in all (kept or not), or rows affected for a statement without a result set. */
  rowCount: number;
  fields: FieldPacket[];
  truncated: boolean;
  warnings: number;
}

/** A connection lent to one unit of work. */
export interface Session {
  /** Runs one prepared statement; values only travel as bound parameters. */
  run(sql: string, params?: readonly unknown[]): Promise<Outcome>;
  /** Whether the server says a transaction is open (after the last statement). */
  inTransaction(): boolean;
}

export { StatementFailure };

/** The server's statement timeout fires first; the client-side bound only catches a stalled network. */
const CLIENT_GRACE_MS = 2_000;
/** How long the answer waits for the KILL of a statement that ran out of time (it goes on afterwards). */
const KILL_WAIT_MS = 150;
const SERVER_STATUS_IN_TRANS = 1;

interface Live {
  connection: Connection;
  endpoint: DatabaseEndpoint;
}

/** mysql2's connection keeps the last status flags and the server kind from the handshake. */
interface ConnectionInternals {
  serverStatus?: number;
  _isMariaDB?: boolean;
}

const LONGLONG = 8;
const FLOAT = 4;

/** How a column's cells are written: 64-bit integers as text, FLOAT as its shortest decimal. */
type CellKind = 'bigint' | 'float' | undefined;

/**
 * JSON for a cell: binary as base64, 64-bit integers as text (mysql2 gives small ones as numbers), FLOAT
 * (4 bytes on the binary protocol) as the server prints it (0.1, not 0.10000000149011612).
 */
function cell(value: unknown, kind: CellKind): unknown {
  if (Buffer.isBuffer(value)) return value.toString('base64');
  if (value === null) return value;
  if (kind === 'bigint') return String(value);
  return kind === 'float' && typeof value === 'number' ? shortestFloat32(value) : value;
}

/**
 * Runs one prepared statement through mysql2's event interface, so rows beyond `maxRows` are counted
 * without being kept: a large result cannot exhaust the function's memory.
 */
function executeOne(
  connection: Connection,
  sql: string,
  params: readonly unknown[],
  timeoutMs: number,
  maxRows: number,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const outcome: Outcome = { rows: [], rowCount: 0, fields: [], truncated: false, warnings: 0 };
    let settled = false;
    // In event mode mysql2 reports a lost connection to the connection only, not to the running command.
    const lost = (error: Error): void => settle(() => reject(error));
    const settle = (finish: () => void): void => {
      connection.off('error', lost);
      if (!settled) finish();
      settled = true;
    };
    connection.on('error', lost);
    let header = false;
    // mysql2 announces a result without rows (an OK packet: affected rows, warnings) by a 'fields' event
    // without fields just before its 'result'. Its class name would tell it too, but not once minified.
    let headerNext = false;
    let kinds = new Map<string, CellKind>();
    const command = connection.execute({ sql, values: [...params], timeout: timeoutMs });
    command.on('fields', (fields: FieldPacket[] | undefined, index = 0) => {
      if (fields === undefined) headerNext = true;
      if (index !== 0 || fields === undefined) return;
      outcome.fields = fields;
      kinds = new Map(
        fields.map((field) => [
          field.name,
          field.columnType === LONGLONG ? 'bigint' : field.columnType === FLOAT ? 'float' : undefined,
        ]),
      );
    });
    command.on('result', (row: Record<string, unknown>, index = 0) => {
      if (headerNext) {
        headerNext = false;
        // A statement without a result set; a CALL ends its result sets with one too.
        if (!header && outcome.fields.length === 0) outcome.rowCount = Number(row['affectedRows'] ?? 0);
        outcome.warnings = Number(row['warningStatus'] ?? 0);
        header = true;
      } else if (index === 0) {
        outcome.rowCount += 1;
        if (outcome.rows.length < maxRows) {
          outcome.rows.push(
            Object.fromEntries(Object.entries(row).map(([key, value]) => [key, cell(value, kinds.get(key))])),
          );
        } else outcome.truncated = true;
      }
    });
    command.on('error', (error: Error) => settle(() => reject(error)));
    command.on('end', () => settle(() => resolve(outcome)));
  });
}

/**
 * One reused MySQL/MariaDB connection with serialised use: the core's {@link ReusedConnection} with a
 * driver that opens mysql2 connections, reads their errors and rolls back a failed unit of work.
 *
 * @example
 * ```ts
 * const connection = new MysqlConnection({ credentials, ssl: 'disable', statementTimeoutMs: 15_000,
 *   connectTimeoutMs: 5_000, readOnly: false, maxRows: 10_000 });
 * const outcome = await connection.use((session) => session.run('select 1 as one'), 'read');
 * ```
 */
export class MysqlConnection {
  readonly #options: ConnectionOptions;
  readonly #create: ConnectionFactory;
  readonly #remainingTimeMs: () => number;
  readonly #connection: ReusedConnection<Live>;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    this.#create = options.createConnection ?? ((driverOptions) => mysql.createConnection(driverOptions));
    this.#remainingTimeMs = options.remainingTimeMs ?? (() => remainingTimeMs());
    this.#connection = new ReusedConnection<Live>(
      {
        name: 'MySQL',
        open: (timeoutMs) => this.#connect(timeoutMs),
        close: (live) => this.#close(live),
        isConnectionLost: (error) => isConnectionLost(driverError(error)),
        wasUndone: (error) => wasUndone(driverError(error)),
        isAuthFailure: (error) => isAuthFailure(error) && options.credentials.rotatable,
        refreshCredentials: async () => {
          await options.credentials.refresh();
          return true;
        },
        // A failed unit of work must not leave its transaction open for the next one.
        afterFailure: async (live) => {
          if (this.#inTransaction(live)) await this.#run(live, 'rollback', []);
        },
      },
      { connectTimeoutMs: options.connectTimeoutMs, remainingTimeMs: this.#remainingTimeMs },
    );
  }

  /**
   * Runs `work` with the connection, one unit of work at a time; see {@link ReusedConnection.use}. Every
   * failure is mapped once into the error taxonomy here.
   *
   * With `callerSql`, `work` runs SQL a caller wrote, which may leave state on the session that outlives
   * it: user variables, temporary tables, session variables (`SET SESSION TRANSACTION READ ONLY`,
   * `sql_mode`, `time_zone`, `max_statement_time`), prepared statements, `GET_LOCK` locks. The connection
   * serves every later call of the container, several at once on Lambda Managed Instances, so afterwards
   * (also after a failure) the session is reset and its own settings are applied again; a reset that
   * fails discards the connection, and the next call opens a new one.
   */
  async use<T>(
    work: (session: Session) => Promise<T>,
    replay: Replay,
    options: { callerSql?: boolean } = {},
  ): Promise<T> {
    try {
      return await this.#connection.use(async (live) => {
        const session: Session = {
          run: (sql, params = []) => this.#run(live, sql, params),
          inTransaction: () => this.#inTransaction(live),
        };
        if (options.callerSql !== true) return work(session);
        try {
          return await work(session);
        } finally {
          await this.#resetSession(live);
        }
      }, replay);
    } catch (error) {
      const statementIndex = error instanceof StatementFailure ? error.index : undefined;
      throw toMysqlError(driverError(error), { readOnly: this.#options.readOnly, statementIndex });
    }
  }

  /** Closes the connection; the next use opens a new one. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  #inTransaction(live: Live): boolean {
    return (
      (((live.connection as unknown as ConnectionInternals).serverStatus ?? 0) & SERVER_STATUS_IN_TRANS) !== 0
    );
  }

  async #run(live: Live, sql: string, params: readonly unknown[]): Promise<Outcome> {
    const timeoutMs = callBudget(
      this.#options.statementTimeoutMs + CLIENT_GRACE_MS,
      'The statement',
      this.#remainingTimeMs(),
    );
    try {
      return await executeOne(live.connection, sql, params, timeoutMs, this.#options.maxRows);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'PROTOCOL_SEQUENCE_TIMEOUT') throw error;
      // The statement may still run on the server: drop the session and kill it there.
      live.connection.destroy();
      this.#connection.discard(live);
      await Promise.race([this.#kill(live), new Promise((resolve) => setTimeout(resolve, KILL_WAIT_MS))]);
      throw new TimeoutError(
        `The statement did not finish within ${timeoutMs} ms (statement timeout or the invocation's remaining time)`,
      );
    }
  }

  /**
   * COM_RESET_CONNECTION (mysql2's `reset()`) clears the session's state without a new login: it rolls back
   * an open transaction and resets user variables, temporary tables, session variables, prepared statements
   * and locks (https://dev.mysql.com/doc/c-api/8.0/en/mysql-reset-connection.html; MariaDB since 10.2.4,
   * https://mariadb.com/kb/en/com_reset_connection/). mysql2 (3.x) clears its statement cache with it.
   * Then the session's own settings are applied again. Never rejects: a failed reset discards the
   * connection (destroyed, so nothing can run on the state left behind).
   */
  async #resetSession(live: Live): Promise<void> {
    try {
      const timeoutMs = callBudget(
        this.#options.connectTimeoutMs,
        'The session reset',
        this.#remainingTimeMs(),
      );
      await new Promise<void>((resolve, reject) => {
        const lost = (error: Error): void => finish(error);
        const timer = setTimeout(
          () => finish(new Error(`The session reset did not finish within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const finish = (error?: Error | null): void => {
          clearTimeout(timer);
          live.connection.off('error', lost);
          if (error) reject(error);
          else resolve();
        };
        live.connection.on('error', lost);
        live.connection.reset((error) => finish(error));
      });
      await this.#applySettings(live);
    } catch {
      live.connection.destroy();
      this.#connection.discard(live);
    }
  }

  /**
   * The session settings every connection starts with: utf8mb4 (the handshake's character set; MySQL's
   * reset sets session variables to their global values "including system variables that are set
   * implicitly by statements such as SET NAMES", per the page above), the statement timeout and
   * read-only transactions. One statement for the first two: one round trip.
   */
  async #applySettings(live: Live): Promise<void> {
    const mariadb = (live.connection as unknown as ConnectionInternals)._isMariaDB === true;
    const timeout = this.#options.statementTimeoutMs;
    const names = 'set names utf8mb4 collate utf8mb4_unicode_ci';
    await (mariadb
      ? this.#run(live, `${names}, session max_statement_time = ?`, [timeout / 1000])
      : this.#run(live, `${names}, session max_execution_time = ?`, [timeout]));
    if (this.#options.readOnly) await this.#run(live, 'set session transaction read only', []);
  }

  async #connect(timeoutMs: number): Promise<Live> {
    const endpoint = await this.#options.credentials.endpoint();
    if (this.#options.ssl === 'verify-full' && isIP(endpoint.host) !== 0) {
      // mysql2 checks the certificate against host names only: an IP address would go unchecked.
      throw new ConfigurationError(
        `MYSQL_SSL=verify-full needs a host name the server certificate lists, not the IP address ${endpoint.host} (MYSQL_HOST, or the secret's host)`,
      );
    }
    const connection = this.#create({
      host: endpoint.host,
      port: endpoint.port,
      user: endpoint.user,
      password: endpoint.password,
      ...(endpoint.database === '' ? {} : { database: endpoint.database }),
      // mysql2 checks the host name only with verifyIdentity; the CAs are Node's plus NODE_EXTRA_CA_CERTS.
      ...(this.#options.ssl === 'verify-full'
        ? { ssl: { rejectUnauthorized: true, verifyIdentity: true } }
        : {}),
      enableCleartextPlugin: this.#options.iamAuth === true && this.#options.ssl === 'verify-full',
      connectTimeout: timeoutMs,
      multipleStatements: false,
      // No LOAD DATA LOCAL: a server must never be able to ask for a file of the function.
      flags: ['-LOCAL_FILES', '-MULTI_STATEMENTS'],
      dateStrings: true,
      supportBigNumbers: true,
      bigNumberStrings: true,
      charset: 'UTF8MB4_UNICODE_CI',
      // The server's global max_prepared_stmt_count is shared by every container.
      maxPreparedStatements: 100,
      enableKeepAlive: true,
    });
    const live: Live = { connection, endpoint };
    // An idle connection the server closes emits 'error'; without a listener it would crash the process.
    connection.on('error', () => this.#connection.markBroken(live));
    connection.on('end', () => this.#connection.markBroken(live));
    try {
      await new Promise<void>((resolve, reject) =>
        connection.connect((error) => (error ? reject(error) : resolve())),
      );
      await this.#applySettings(live);
    } catch (error) {
      connection.destroy();
      throw error;
    }
    return live;
  }

  #close(live: Live): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        live.connection.destroy();
        resolve();
      }, 1_000);
      live.connection.end(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Best-effort `KILL` of the session a timed-out statement occupies, over a short-lived connection. */
  async #kill(live: Live): Promise<void> {
    const threadId = live.connection.threadId;
    if (typeof threadId !== 'number') return;
    const killer = this.#create({
      host: live.endpoint.host,
      port: live.endpoint.port,
      user: live.endpoint.user,
      password: live.endpoint.password,
      ...(this.#options.ssl === 'verify-full'
        ? { ssl: { rejectUnauthorized: true, verifyIdentity: true } }
        : {}),
      enableCleartextPlugin: this.#options.iamAuth === true && this.#options.ssl === 'verify-full',
      connectTimeout: 1_000,
      flags: ['-LOCAL_FILES'],
    });
    killer.on('error', () => undefined);
    await new Promise<void>((resolve) => {
      killer.execute({ sql: 'kill ?', values: [threadId], timeout: 1_000 }, () => resolve());
    });
    killer.destroy();
  }
}
