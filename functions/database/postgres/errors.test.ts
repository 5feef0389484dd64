import {
  AuthError,
  ConfigurationError,
  ConflictError,
  ConnectorError,
  ForbiddenError,
  NotFoundError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from '@circle-core/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { isAuthFailure, isConnectionLost, toPostgresError, wasTerminatedByServer } from './errors.ts';

function serverError(code: string, message: string, extra: Partial<pg.DatabaseError> = {}): pg.DatabaseError {
  const error = new pg.DatabaseError(message, message.length, 'error');
  Object.assign(error, { code, severity: 'ERROR', ...extra });
  return error;
}

function networkError(code: string, message = `connect ${code} 10.0.0.1:5432`): Error {
  return Object.assign(new Error(message), { code });
}

describe('Function: toPostgresError', () => {
  it.each([
    ['23505', 'duplicate key value violates unique constraint "t_pkey"', ConflictError],
    ['23502', 'null value in column "name" of relation "t" violates not-null constraint', ValidationError],
    ['42P01', 'relation "nope" does not exist', NotFoundError],
    ['3F000', 'schema "nope" does not exist', NotFoundError],
    ['42703', 'column "nope" does not exist', ValidationError],
    ['42501', 'permission denied for table t', ForbiddenError],
    ['57014', 'canceling statement due to statement timeout', TimeoutError],
    ['40001', 'could not serialize access due to concurrent update', UnavailableError],
    ['40P01', 'deadlock detected', UnavailableError],
    ['28P01', 'password authentication failed for user "app"', AuthError],
    ['3D000', 'database "nope" does not exist', ConfigurationError],
    ['08006', 'connection failure', UnavailableError],
    ['53300', 'sorry, too many clients already', UnavailableError],
    ['57P01', 'terminating connection due to administrator command', UnavailableError],
    ['55P03', 'could not obtain lock on row in relation "t"', UnavailableError],
    ['0A000', 'cannot use a feature', ValidationError],
    ['XX000', 'internal error', ConnectorError],
  ])('maps SQLSTATE %s to the taxonomy', (code, message, expected) => {
    // Act
    const error = toPostgresError(serverError(code, message), { readOnly: false });
    // Assess
    expect(error).toBeInstanceOf(expected);
    expect(error.details).toMatchObject({ sqlstate: code });
  });

  it('answers a protocol violation caused by the request with ValidationError, not a retryable outage', () => {
    // Act
    const error = toPostgresError(
      serverError('08P01', 'bind message supplies 0 parameters, but prepared statement "" requires 1'),
      { readOnly: false, statementIndex: 1 },
    );
    const fatal = toPostgresError(
      serverError('08P01', 'invalid frontend message type 0', { severity: 'FATAL' }),
      { readOnly: false },
    );
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(
      'Statement 1 failed: PostgreSQL refused the statement as sent: bind message supplies 0 parameters, ' +
        'but prepared statement "" requires 1 (SQLSTATE 08P01)',
    );
    expect(fatal).toBeInstanceOf(UnavailableError);
  });

  it('marks serialization failures and deadlocks retryable', () => {
    // Act
    const error = toPostgresError(serverError('40P01', 'deadlock detected'), { readOnly: false });
    // Assess
    expect(error.retryable).toBe(true);
    expect(error.message).toMatch(/can be retried/);
  });

  it('names read-only mode when the connector refuses writes, and a replica otherwise', () => {
    // Act
    const configured = toPostgresError(
      serverError('25006', 'cannot execute DELETE in a read-only transaction'),
      {
        readOnly: true,
      },
    );
    const replica = toPostgresError(
      serverError('25006', 'cannot execute DELETE in a read-only transaction'),
      {
        readOnly: false,
      },
    );
    const switchBack = toPostgresError(
      serverError('25001', 'transaction read-write mode must be set first'),
      {
        readOnly: true,
      },
    );
    const otherwise = toPostgresError(serverError('25001', 'VACUUM cannot run inside a transaction block'), {
      readOnly: false,
    });
    // Assess
    expect(configured).toBeInstanceOf(ForbiddenError);
    expect(configured.message).toMatch(/read-only mode \(PG_READ_ONLY=true\)/);
    expect(replica.message).toMatch(/read replica/);
    expect(switchBack).toBeInstanceOf(ForbiddenError);
    expect(otherwise).toBeInstanceOf(ValidationError);
  });

  it('cuts quoted values and anything after a colon from data exception messages', () => {
    // Act
    const syntax = toPostgresError(serverError('22P02', 'invalid input syntax for type integer: "s3cr3t"'), {
      readOnly: false,
    });
    const range = toPostgresError(
      serverError('22003', 'value "123456789012" is out of range for type integer'),
      {
        readOnly: false,
      },
    );
    const bytes = toPostgresError(
      serverError('22021', 'invalid byte sequence for encoding "UTF8": 0xe9 0x80'),
      {
        readOnly: false,
      },
    );
    // Assess
    expect(syntax).toBeInstanceOf(ValidationError);
    expect(syntax.message).toBe('invalid input syntax for type integer (SQLSTATE 22P02)');
    expect(range.message).toBe('value "…" is out of range for type integer (SQLSTATE 22003)');
    expect(bytes.message).not.toContain('0xe9');
  });

  it('never uses the server detail, and keeps the hint of a SQL error', () => {
    // Act
    const conflict = toPostgresError(
      serverError('23505', 'duplicate key value violates unique constraint "users_email_key"', {
        detail: 'Key (email)=(ada@example.com) already exists.',
        constraint: 'users_email_key',
        table: 'users',
        schema: 'public',
        column: 'email',
      }),
      { readOnly: false },
    );
    const operator = toPostgresError(
      serverError('42883', 'operator does not exist: integer = text', {
        hint: 'You might need explicit casts.',
      }),
      { readOnly: false },
    );
    // Assess
    expect(JSON.stringify([conflict.message, conflict.details])).not.toContain('ada@example.com');
    expect(conflict.details).toEqual({
      sqlstate: '23505',
      constraint: 'users_email_key',
      table: 'users',
      schema: 'public',
      column: 'email',
    });
    expect(conflict.cause).toBeUndefined();
    expect(operator.message).toContain('hint: You might need explicit casts.');
  });

  it('replaces the text a database function raised with a generic message', () => {
    // Act
    const error = toPostgresError(serverError('P0001', 'card 4111111111111111 declined'), {
      readOnly: false,
    });
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('A database function raised an exception (SQLSTATE P0001)');
  });

  it('names the failing statement of a batch', () => {
    // Act
    const error = toPostgresError(serverError('23505', 'duplicate key value'), {
      readOnly: false,
      statementIndex: 2,
    });
    const network = toPostgresError(networkError('ECONNRESET'), { readOnly: false, statementIndex: 1 });
    // Assess
    expect(error.message).toBe('Statement 2 failed: duplicate key value (SQLSTATE 23505)');
    expect(error.details).toMatchObject({ statementIndex: 2 });
    expect(network.details).toEqual({ statementIndex: 1 });
  });

  it('maps network, TLS and timeout failures of the driver', () => {
    // Act
    const refused = toPostgresError(networkError('ECONNREFUSED'), { readOnly: false });
    const terminated = toPostgresError(new Error('Connection terminated unexpectedly'), { readOnly: false });
    const untrusted = toPostgresError(networkError('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'bad cert'), {
      readOnly: false,
    });
    const mismatch = toPostgresError(
      Object.assign(networkError('ERR_TLS_CERT_ALTNAME_INVALID', 'bad name'), { host: '10.0.0.1' }),
      { readOnly: false },
    );
    const expired = toPostgresError(networkError('CERT_HAS_EXPIRED', 'old cert'), { readOnly: false });
    const plain = toPostgresError(new Error('The server does not support SSL connections'), {
      readOnly: false,
    });
    const slow = toPostgresError(new Error('Connection terminated due to connection timeout'), {
      readOnly: false,
    });
    // Assess
    expect(refused).toBeInstanceOf(UnavailableError);
    expect(refused.message).toContain('ECONNREFUSED');
    expect(terminated).toBeInstanceOf(UnavailableError);
    expect(untrusted).toBeInstanceOf(ConfigurationError);
    expect(untrusted.message).toMatch(/certificate is not trusted.*NODE_EXTRA_CA_CERTS/);
    expect(mismatch).toBeInstanceOf(ConfigurationError);
    expect(mismatch.message).toMatch(/host name mismatch.*"10\.0\.0\.1".*PG_HOST/);
    expect(mismatch.message).not.toContain('NODE_EXTRA_CA_CERTS');
    expect(expired.message).toMatch(/expired/);
    expect(plain).toBeInstanceOf(ConfigurationError);
    expect(plain.message).toContain('PG_SSL');
    expect(slow).toBeInstanceOf(TimeoutError);
  });

  it('passes connector errors through and hides anything else behind an internal error', () => {
    // Prepare
    const known = new NotFoundError('gone');
    // Act
    const same = toPostgresError(known, { readOnly: false });
    const unknown = toPostgresError(new TypeError('boom'), { readOnly: false });
    const thrownString = toPostgresError('odd', { readOnly: false });
    // Assess
    expect(same).toBe(known);
    expect(unknown.constructor).toBe(ConnectorError);
    expect(unknown.expose).toBe(false);
    expect(unknown.message).toBe('Internal error');
    expect(thrownString.cause).toBeInstanceOf(Error);
  });
});

describe('Function: isConnectionLost', () => {
  it('tells a lost connection from an SQL error', () => {
    // Assess
    expect(isConnectionLost(serverError('57P01', 'terminating connection'))).toBe(true);
    expect(isConnectionLost(serverError('08006', 'connection failure'))).toBe(true);
    expect(isConnectionLost(networkError('EPIPE'))).toBe(true);
    expect(
      isConnectionLost(new Error('Client has encountered a connection error and is not queryable')),
    ).toBe(true);
    expect(isConnectionLost(serverError('08P01', 'bind message supplies 0 parameters'))).toBe(false);
    expect(isConnectionLost(serverError('08P01', 'invalid frontend message', { severity: 'FATAL' }))).toBe(
      true,
    );
    expect(isConnectionLost(serverError('XX000', 'lost', { severity: 'PANIC' }))).toBe(true);
    expect(isConnectionLost(serverError('57014', 'canceling statement'))).toBe(false);
    expect(isConnectionLost(serverError('42601', 'syntax error'))).toBe(false);
    expect(isConnectionLost(new Error('something else'))).toBe(false);
    expect(isConnectionLost('not an error')).toBe(false);
  });
});

describe('Function: wasTerminatedByServer', () => {
  it('is true only for the server ending the session', () => {
    // Assess
    expect(wasTerminatedByServer(serverError('57P01', 'admin shutdown'))).toBe(true);
    expect(wasTerminatedByServer(serverError('57P02', 'crash shutdown'))).toBe(true);
    expect(wasTerminatedByServer(serverError('57P03', 'cannot connect now'))).toBe(true);
    expect(wasTerminatedByServer(new Error('Connection terminated unexpectedly'))).toBe(false);
  });
});

describe('Function: isAuthFailure', () => {
  it('is true for refused passwords and authorization specifications', () => {
    // Assess
    expect(isAuthFailure(serverError('28P01', 'password authentication failed'))).toBe(true);
    expect(isAuthFailure(serverError('28000', 'no pg_hba.conf entry'))).toBe(true);
    expect(isAuthFailure(serverError('42501', 'permission denied'))).toBe(false);
  });
});
