/**
 * MySQL/MariaDB failures -> the core error taxonomy: a table of server error numbers, then the SQLSTATE
 * class, then the driver's own codes. Server messages quote values ("Duplicate entry 'x'", "Incorrect
 * integer value: 'y'"), so a message is kept whole only for the error numbers listed as naming objects;
 * everywhere else each quoted part is cut. The raw server error is never kept as `cause`.
 */
import {
  AuthError,
  ConfigurationError,
  ConflictError,
  ConnectorError,
  type ConnectorErrorOptions,
  ForbiddenError,
  NotFoundError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from '@circle-core/core';
import { type FailureContext, NETWORK_CODES, tlsFailure } from './errors.ts';

/** A server error as mysql2 reports it. */
interface ServerError extends Error {
  errno: number;
  sqlState?: string;
  sqlMessage?: string;
  fatal?: boolean;
}

type Kind = 'conflict' | 'not-found' | 'auth' | 'forbidden' | 'validation' | 'unavailable' | 'timeout';

/** One row of the table: the class, and whether the server's message names only objects (no values). */
interface Row {
  kind: Kind;
  safe?: boolean;
  /** Our own message instead of the server's. */
  message?: string;
}

const safe = (kind: Kind): Row => ({ kind, safe: true });

/** Server error numbers (MySQL and MariaDB share them up to 1900; 1927 and 1969 are MariaDB's). */
const ERRORS: Record<number, Row> = {
  1022: { kind: 'conflict', message: 'Duplicate key' },
  1062: { kind: 'conflict' },
  1586: { kind: 'conflict' },
  1049: safe('not-found'),
  1051: safe('not-found'),
  1109: safe('not-found'),
  1146: safe('not-found'),
  1305: safe('not-found'),
  1045: { kind: 'auth', message: 'MySQL refused the credentials (access denied)' },
  1698: { kind: 'auth', message: 'MySQL refused the credentials (access denied)' },
  1862: { kind: 'auth', message: 'The password has expired; set a new one on the server' },
  1044: safe('forbidden'),
  1142: safe('forbidden'),
  1143: safe('forbidden'),
  1227: safe('forbidden'),
  1370: safe('forbidden'),
  1290: safe('forbidden'),
  1792: safe('forbidden'),
  1040: safe('unavailable'),
  1053: safe('unavailable'),
  1203: safe('unavailable'),
  1205: {
    kind: 'unavailable',
    message: 'Lock wait timeout exceeded; the transaction was rolled back and can be retried',
  },
  1213: {
    kind: 'unavailable',
    message: 'Deadlock found; the transaction was rolled back and can be retried',
  },
  1317: safe('unavailable'),
  1927: safe('unavailable'),
  3024: {
    kind: 'timeout',
    message: 'The statement was interrupted: it ran past the statement timeout (max_execution_time)',
  },
  1969: {
    kind: 'timeout',
    message: 'The statement was interrupted: it ran past the statement timeout (max_statement_time)',
  },
  1210: {
    kind: 'validation',
    message:
      'The params do not match the placeholders (?) of the SQL: pass one value per placeholder, in order',
  },
  1644: { kind: 'validation', message: 'A database routine raised an error (SIGNAL)' },
  // Caller mistakes the server reports with SQLSTATE HY000 (or 01000), whose class says nothing: a NOT NULL
  // column without a default left out, a value that does not fit its column (MySQL 8: 1366, 1265; MariaDB
  // gives 1366 22007), a CHECK constraint (MySQL 8: 3819; MariaDB: 4025, 23000), a bad date for a function,
  // safe-update mode, a table both updated and read in a subquery, mixed collations, a view's column
  // without a default.
  1364: { kind: 'validation' },
  1366: { kind: 'validation' },
  1265: { kind: 'validation' },
  3819: { kind: 'validation' },
  1411: { kind: 'validation' },
  1175: safe('validation'),
  1093: safe('validation'),
  1267: safe('validation'),
  1423: { kind: 'validation' },
};

/** Error numbers whose messages name tables, columns, keys and syntax, never values. */
const SAFE_MESSAGES = new Set([
  1048, 1050, 1054, 1060, 1061, 1064, 1091, 1136, 1241, 1242, 1264, 1265, 1295, 1364, 1406, 1423, 1451, 1452,
  3819, 4025,
]);

/** SQLSTATE classes, for numbers the table does not list. */
const CLASSES: Record<string, Kind> = {
  '08': 'unavailable',
  '21': 'validation',
  '22': 'validation',
  '23': 'validation',
  '25': 'validation',
  '28': 'auth',
  '40': 'unavailable',
  '42': 'validation',
  '70': 'unavailable',
};

/** Driver codes for a connection that is gone, besides the socket's own. */
const LOST_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'PROTOCOL_SEQUENCE_TIMEOUT']);

/** A server error has its positive error number; Node's socket errors carry a negative errno. */
function isServerError(error: unknown): error is ServerError {
  const errno = (error as { errno?: unknown }).errno;
  return error instanceof Error && typeof errno === 'number' && errno > 0;
}

/**
 * Whether the server refused the credentials (access denied): the secret may have rotated, so it is worth
 * one refresh and one reconnect.
 *
 * @example
 * ```ts
 * if (isAuthFailure(error)) await secret.refresh();
 * ```
 */
export function isAuthFailure(error: unknown): boolean {
  return isServerError(error) && (error.errno === 1045 || error.errno === 1698);
}

/**
 * Whether the connection is gone (socket closed or reset, server gone, session killed), so it must be
 * discarded. mysql2 marks errors after which the connection is closed as `fatal`.
 *
 * @example
 * ```ts
 * if (isConnectionLost(error)) discard(connection);
 * ```
 */
export function isConnectionLost(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // A refusal during the handshake is fatal too, but says nothing about a connection that worked.
  if (isServerError(error)) return error.errno === 1927 || error.errno === 1053;
  if ((error as { fatal?: unknown }).fatal === true) return true;
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return NETWORK_CODES.has(code) || LOST_CODES.has(code) || /closed state/.test(error.message);
}

/**
 * Whether the server ended the session and rolled back its work (the session was killed, the server is
 * shutting down): running the work again on a new connection is safe.
 *
 * @example
 * ```ts
 * if (wasUndone(error)) return attempt();
 * ```
 */
export function wasUndone(error: unknown): boolean {
  return isServerError(error) && (error.errno === 1927 || error.errno === 1053);
}

/** Cuts every quoted part of a server message: MySQL quotes values with `'`. */
function cutValues(message: string): string {
  return message.replace(/'(?:[^'\\]|\\.|'')*'/g, "'…'");
}

function serverMessage(error: ServerError, row: Row | undefined): string {
  const text = (error.sqlMessage ?? error.message).slice(0, 500);
  if (row?.message !== undefined) return row.message;
  // The key is the last quoted name; the entry before it quotes the duplicate value.
  if (error.errno === 1062 || error.errno === 1586) {
    const key = /for key '([^']*)'$/.exec(text)?.[1];
    return key === undefined ? 'Duplicate entry' : `Duplicate entry for key '${key}'`;
  }
  return row?.safe === true || SAFE_MESSAGES.has(error.errno) ? text : cutValues(text);
}

function build(kind: Kind | undefined, message: string, options: ConnectorErrorOptions): ConnectorError {
  switch (kind) {
    case 'conflict':
      return new ConflictError(message, options);
    case 'not-found':
      return new NotFoundError(message, options);
    case 'auth':
      return new AuthError(message, options);
    case 'forbidden':
      return new ForbiddenError(message, options);
    case 'validation':
      return new ValidationError(message, [], options);
    case 'unavailable':
      return new UnavailableError(message, options);
    case 'timeout':
      return new TimeoutError(message, options);
    default:
      return new ConnectorError(message, options);
  }
}

function fromServerError(error: ServerError, context: FailureContext): ConnectorError {
  const state = error.sqlState ?? 'HY000';
  const details: Record<string, unknown> = { errno: error.errno, sqlstate: state };
  if (context.statementIndex !== undefined) details['statementIndex'] = context.statementIndex;
  const row = ERRORS[error.errno];
  let kind = row?.kind ?? CLASSES[state.slice(0, 2)];
  let message = serverMessage(error, row);
  if (context.readOnly && (error.errno === 1792 || error.errno === 1568)) {
    kind = 'forbidden';
    message = 'The connector is in read-only mode (MYSQL_READ_ONLY=true): writes are refused';
  }
  const prefix = context.statementIndex === undefined ? '' : `Statement ${context.statementIndex} failed: `;
  return build(kind, `${prefix}${message} (errno ${error.errno}, SQLSTATE ${state})`, { details });
}

/**
 * Maps anything mysql2 throws onto the core error taxonomy. Never puts parameter values, row data or
 * credentials into the message.
 *
 * @example
 * ```ts
 * try { await run(sql, params); } catch (error) { throw toMysqlError(error, { readOnly }); }
 * ```
 */
export function toMysqlError(error: unknown, context: FailureContext): ConnectorError {
  if (error instanceof ConnectorError) return error;
  if (isServerError(error)) return fromServerError(error, context);
  const err = error instanceof Error ? error : new Error(String(error));
  const code = (err as NodeJS.ErrnoException).code;
  const details =
    context.statementIndex === undefined ? undefined : { statementIndex: context.statementIndex };
  const options: ConnectorErrorOptions = details === undefined ? { cause: err } : { cause: err, details };
  const tls = tlsFailure(err, { engine: 'MySQL', setting: 'MYSQL_SSL', hostSetting: 'MYSQL_HOST' });
  if (tls !== undefined) return new ConfigurationError(tls, options);
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT') {
    return new ConfigurationError(
      'The MySQL server does not accept TLS; MYSQL_SSL=disable is only meant for local servers',
      options,
    );
  }
  if (err instanceof RangeError) return new ValidationError(err.message.slice(0, 200), [], options);
  if (code === 'ETIMEDOUT' && err.message.startsWith('connect')) {
    return new TimeoutError('Connecting to MySQL timed out', options);
  }
  if (isConnectionLost(err)) {
    return new UnavailableError(`The connection to MySQL failed (${code ?? 'connection lost'})`, options);
  }
  return new ConnectorError('Internal error', options);
}
