/**
 * PostgreSQL failures -> the core error taxonomy, by SQLSTATE class. Server messages are kept only for
 * classes whose messages name identifiers, never data; for the others (data exceptions, RAISE from
 * functions, internal errors) quoted values and anything after a colon are cut. `detail` (which quotes
 * rows and keys) is never used.
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
import pg from 'pg';
import { type FailureContext, NETWORK_CODES, tlsFailure } from './errors.ts';

/** SQLSTATE classes whose server messages name objects (tables, columns, constraints), not values. */
const SAFE_MESSAGE_CLASSES = new Set([
  '08',
  '0A',
  '23',
  '25',
  '28',
  '3D',
  '3F',
  '40',
  '42',
  '53',
  '54',
  '55',
  '57',
]);

/** After an error of these severities the server closes the session. */
const FATAL_SEVERITIES = new Set(['FATAL', 'PANIC']);

/**
 * The SQLSTATE of a server error, if it is one.
 *
 * @example
 * ```ts
 * if (sqlState(error) === '23505') return 'duplicate';
 * ```
 */
export function sqlState(error: unknown): string | undefined {
  return error instanceof pg.DatabaseError ? error.code : undefined;
}

/**
 * Whether the server refused our credentials (invalid_password, invalid_authorization_specification):
 * the secret may have rotated, so it is worth one refresh and one reconnect.
 *
 * @example
 * ```ts
 * if (isAuthFailure(error)) await secret.refresh();
 * ```
 */
export function isAuthFailure(error: unknown): boolean {
  const code = sqlState(error);
  return code === '28P01' || code === '28000';
}

/**
 * Whether the connection is gone (socket closed, reset, or the server terminated the backend), so the
 * client must be discarded and a new connection opened.
 *
 * @example
 * ```ts
 * if (isConnectionLost(error)) discard(client);
 * ```
 */
export function isConnectionLost(error: unknown): boolean {
  if (error instanceof pg.DatabaseError) {
    const code = error.code ?? '';
    if (isFatal(error)) return true;
    // protocol_violation as a plain ERROR: the server refused one message (a parameter count that does
    // not match the statement, a NUL inside the SQL text) and the session goes on.
    if (code === '08P01') return false;
    return code.startsWith('08') || code.startsWith('57P');
  }
  if (!(error instanceof Error)) return false;
  const errno = (error as NodeJS.ErrnoException).code;
  if (errno !== undefined && NETWORK_CODES.has(errno)) return true;
  return /Connection terminated|not queryable|Connection closed/i.test(error.message);
}

/**
 * Whether the server ended the session before the statement's transaction could commit (administrator
 * command, crash, shutdown): nothing of the work was kept, so running it again on a new connection is safe.
 *
 * @example
 * ```ts
 * if (wasTerminatedByServer(error)) return attempt();
 * ```
 */
export function wasTerminatedByServer(error: unknown): boolean {
  const code = sqlState(error);
  return code === '57P01' || code === '57P02' || code === '57P03';
}

/** Whether the server ends the session after this error (it says so with the severity). */
function isFatal(error: pg.DatabaseError): boolean {
  return error.severity !== undefined && FATAL_SEVERITIES.has(error.severity);
}

/** Keeps a server message only where it cannot quote a value. */
function safeMessage(error: pg.DatabaseError, code: string): string {
  const message = error.message.slice(0, 500);
  if (SAFE_MESSAGE_CLASSES.has(code.slice(0, 2))) {
    const hint = code.startsWith('42') && error.hint ? ` (hint: ${error.hint.slice(0, 300)})` : '';
    return `${message}${hint}`;
  }
  // Data exceptions quote the offending value ('invalid input syntax for type integer: "abc"').
  const head = message.split(':')[0] ?? '';
  return head.replace(/"[^"]*"/g, '"…"').replace(/'[^']*'/g, "'…'");
}

function describe(message: string, code: string, context: FailureContext): string {
  const prefix = context.statementIndex === undefined ? '' : `Statement ${context.statementIndex} failed: `;
  return `${prefix}${message} (SQLSTATE ${code})`;
}

function databaseDetails(error: pg.DatabaseError, context: FailureContext): Record<string, unknown> {
  const details: Record<string, unknown> = { sqlstate: error.code };
  // Object names only: `detail`, `where` and `internalQuery` can quote data.
  if (error.schema) details['schema'] = error.schema;
  if (error.table) details['table'] = error.table;
  if (error.column) details['column'] = error.column;
  if (error.constraint) details['constraint'] = error.constraint;
  if (context.statementIndex !== undefined) details['statementIndex'] = context.statementIndex;
  return details;
}

/**
 * The SQLSTATEs whose meaning needs more than the class: a message of our own, or a class that depends on
 * the connector's mode or the error's severity. Undefined for the rest, which map by class.
 */
function fromSpecificCode(
  error: pg.DatabaseError,
  code: string,
  context: FailureContext,
  options: ConnectorErrorOptions,
): ConnectorError | undefined {
  if (code === '57014') {
    return new TimeoutError(
      describe('The statement was cancelled: it ran past the statement timeout', code, context),
      options,
    );
  }
  // 25001 in read-only mode: a statement tried `SET TRANSACTION READ WRITE` inside the read-only transaction.
  if (code === '25006' || (code === '25001' && context.readOnly)) {
    const why = context.readOnly
      ? 'The connector is in read-only mode (PG_READ_ONLY=true): writes are refused'
      : 'The database refused a write in a read-only transaction (a read replica or a read-only default)';
    return new ForbiddenError(describe(why, code, context), options);
  }
  if (code === '40001' || code === '40P01') {
    return new UnavailableError(
      describe(
        `${safeMessage(error, code)}; the transaction was rolled back and can be retried`,
        code,
        context,
      ),
      options,
    );
  }
  if (code === '08P01' && !isFatal(error)) {
    // The request, not the network: the server could not use what the call sent (e.g. "bind message
    // supplies 0 parameters, but prepared statement "" requires 1"). Sending it again fails again.
    return new ValidationError(
      describe(`PostgreSQL refused the statement as sent: ${safeMessage(error, code)}`, code, context),
      [],
      options,
    );
  }
  if (code.startsWith('P0')) {
    return new ValidationError(
      describe('A database function raised an exception', code, context),
      [],
      options,
    );
  }
  return undefined;
}

/** Server errors by SQLSTATE. The raw error is not kept as `cause`: its message and detail may quote data. */
function fromDatabaseError(error: pg.DatabaseError, context: FailureContext): ConnectorError {
  const code = error.code ?? 'XX000';
  const options: ConnectorErrorOptions = { details: databaseDetails(error, context) };
  const specific = fromSpecificCode(error, code, context, options);
  if (specific !== undefined) return specific;
  const message = describe(safeMessage(error, code), code, context);
  const cls = code.slice(0, 2);
  if (code === '23505') return new ConflictError(message, options);
  if (code === '42P01' || code === '3F000') return new NotFoundError(message, options);
  if (code === '42501') return new ForbiddenError(message, options);
  if (cls === '28') return new AuthError(message, options);
  if (cls === '3D') return new ConfigurationError(message, options);
  if (cls === '08' || cls === '53' || cls === '57' || code === '55P03' || code === '55006') {
    return new UnavailableError(message, options);
  }
  if (['22', '23', '25', '0A', '2B', '42', '44', '54', '55', '21', '26', '34'].includes(cls)) {
    return new ValidationError(message, [], options);
  }
  return new ConnectorError(message, options);
}

/**
 * Maps anything the `pg` driver throws onto the core error taxonomy. Never puts parameter values, row
 * data or credentials into the message: server messages are filtered by SQLSTATE class and `detail` is
 * dropped.
 *
 * @example
 * ```ts
 * try { await client.query(sql, params); } catch (error) { throw toPostgresError(error, { readOnly }); }
 * ```
 */
export function toPostgresError(error: unknown, context: FailureContext): ConnectorError {
  if (error instanceof ConnectorError) return error;
  if (error instanceof pg.DatabaseError) return fromDatabaseError(error, context);
  const err = error instanceof Error ? error : new Error(String(error));
  const errno = (err as NodeJS.ErrnoException).code;
  const details =
    context.statementIndex === undefined ? undefined : { statementIndex: context.statementIndex };
  const options: ConnectorErrorOptions = details === undefined ? { cause: err } : { cause: err, details };
  const tls = tlsFailure(err, { engine: 'PostgreSQL', setting: 'PG_SSL', hostSetting: 'PG_HOST' });
  if (tls !== undefined) return new ConfigurationError(tls, options);
  if (/does not support SSL/i.test(err.message)) {
    return new ConfigurationError(
      'The PostgreSQL server does not accept TLS; PG_SSL=disable is only meant for local servers',
      options,
    );
  }
  if (/connection timeout|timeout expired/i.test(err.message)) {
    return new TimeoutError('Connecting to PostgreSQL timed out', options);
  }
  if (isConnectionLost(err)) {
    return new UnavailableError(
      `The connection to PostgreSQL failed (${errno ?? 'connection lost'})`,
      options,
    );
  }
  return new ConnectorError('Internal error', options);
}
