/**
 * Snowflake's failures as core errors, mapped once. Two tables: the codes of the SQL API itself (auth,
 * throttling, bad requests, in `{ code, message }` bodies beside the HTTP status), and the codes of a failed
 * statement (a 422 `{ code, message, sqlState, statementHandle }`), which become the state `failed` or
 * `cancelled` of a query when it is polled, and the core error of its class when it is submitted or read.
 */
import {
  ConflictError,
  type ConnectorError,
  type ErrorTable,
  ForbiddenError,
  type HttpResponse,
  NotFoundError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';

/** The SQL API's own codes (non-422 answers); codes without a row keep the HTTP status's mapping. */
export const SNOWFLAKE_API_ERRORS: ErrorTable = {
  codeIn: 'body',
  codeField: 'code',
  rows: {
    '390144': { kind: 'auth', meaning: 'the JWT is invalid (key, fingerprint, account or user)' },
    '390318': { kind: 'auth', meaning: 'the JWT has expired' },
    '390101': { kind: 'forbidden', meaning: 'the user may not make this call' },
    '390429': { kind: 'rate-limited', meaning: 'too many requests; wait as Retry-After says' },
  },
};

type Make = (message: string, details: Record<string, unknown>) => ConnectorError;

const invalid: Make = (m, details) => new ValidationError(m, [], { details });

/**
 * Statement failure codes -> what they mean and the core error. Any other code is the SQL's problem (400),
 * unless its SQLSTATE says the transaction was rolled back ({@link RETRYABLE_STATES}).
 */
export const STATEMENT_ERRORS: Readonly<Record<string, { meaning: string; make: Make }>> = {
  '001003': { meaning: 'the SQL does not parse (syntax error)', make: invalid },
  '000904': { meaning: 'the SQL names a column or function that does not fit', make: invalid },
  '000008': { meaning: 'send exactly one statement', make: invalid },
  '002049': { meaning: 'the params do not match the `?` placeholders', make: invalid },
  '100038': { meaning: 'a value does not convert to the type asked', make: invalid },
  '100035': { meaning: 'a value is out of range', make: invalid },
  '002003': {
    meaning: 'a table or view does not exist or the role may not see it',
    make: (m, details) => new NotFoundError(m, { details }),
  },
  '003001': {
    meaning: 'the role lacks a privilege',
    make: (m, details) => new ForbiddenError(m, { details }),
  },
  '000709': {
    meaning: 'no statement has this handle (or its result expired)',
    make: (m, details) => new NotFoundError(m, { details }),
  },
  '000604': {
    meaning: 'the statement was cancelled',
    make: (m, details) => new ConflictError(m, { details }),
  },
  '000630': {
    meaning: 'the statement ran past its timeout and was stopped',
    make: (m, details) => new TimeoutError(m, { details }),
  },
  '000603': {
    meaning: 'Snowflake failed running the statement',
    make: (m, details) => new UnavailableError(m, { details }),
  },
  // SQLSTATE 57014 like a cancel, but nobody cancelled it: too many statements queued for one table's lock.
  '000625': {
    meaning:
      'the statement was aborted waiting for a table lock (more than 20 statements queued for it); try again',
    make: (m, details) => new UnavailableError(m, { details }),
  },
};

/**
 * SQLSTATEs of a transaction the engine rolled back (serialization failure, deadlock) for codes without a
 * row: running it again can succeed. Class 57 (operator intervention) is left to the rows: it also covers
 * a cancel (000604), a timeout (000630) and a missing warehouse (000606, 57P03), which a retry does not fix.
 */
const RETRYABLE_STATES = new Set(['40001', '40P01']);
const retryable: Make = (m, details) => new UnavailableError(m, { details });

/** The code of a cancelled statement, and of one stopped by its timeout. */
export const CANCELLED_CODE = '000604';
export const NO_SUCH_STATEMENT_CODE = '000709';

/** What a failed statement said, values taken out. */
export interface StatementFailure {
  code: string;
  sqlState: string;
  message: string;
}

/**
 * Snowflake's message without the literals it quotes: a conversion error quotes the value it could not
 * convert, which may be a bound parameter, and values never reach a message.
 *
 * @example
 * ```ts
 * scrub("Numeric value 'abc' is not recognized"); // "Numeric value '?' is not recognized"
 * ```
 */
export function scrub(message: string): string {
  return message
    .slice(0, 1_000)
    .replace(/'(?:[^'\\]|\\.|'')*'/g, "'?'")
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * A 422 answer of a statement, before it becomes an error or a state: the client's polls read the failure
 * from it. Never leaves the client.
 */
export class StatementFailedError extends ValidationError {
  readonly failure: StatementFailure;
  constructor(failure: StatementFailure) {
    super(`Snowflake statement failed (${failure.code})`);
    this.name = 'StatementFailedError';
    this.failure = failure;
  }
}

const CODE = /^\d{6}$/;

/**
 * The declaration's inspect hook: a 422 with a statement failure body is a {@link StatementFailedError}
 * (not retried), and so is a 408 with a statement's QueryStatus (the SQL API answers 408 for a statement
 * stopped by its `timeout`, code 000630); anything else, a 408 without a statement among it, goes to the
 * error table and the status mapping.
 */
export function inspectStatement(response: HttpResponse): ConnectorError | undefined {
  const body = (response.body ?? {}) as Record<string, unknown>;
  const timedOut =
    response.status === 408 &&
    typeof body['code'] === 'string' &&
    CODE.test(body['code']) &&
    typeof body['statementHandle'] === 'string';
  if (response.status !== 422 && !timedOut) return undefined;
  const code = typeof body['code'] === 'string' && CODE.test(body['code']) ? body['code'] : 'unknown';
  const sqlState =
    typeof body['sqlState'] === 'string' && /^[0-9A-Z]{5}$/.test(body['sqlState']) ? body['sqlState'] : '';
  const message = typeof body['message'] === 'string' ? scrub(body['message']) : '';
  return new StatementFailedError({ code, sqlState, message });
}

/**
 * The core error a statement failure means: the message names the code, what it means and Snowflake's own
 * words (literals taken out); `details` carry the code and SQL state.
 *
 * @example
 * ```ts
 * statementError({ code: '002003', sqlState: '42S02', message: '...' }, 'start-query'); // NotFoundError
 * ```
 */
export function statementError(failure: StatementFailure, operation: string): ConnectorError {
  const details = {
    provider: 'Snowflake',
    operation,
    code: failure.code,
    ...(failure.sqlState === '' ? {} : { sqlState: failure.sqlState }),
  };
  const row = Object.hasOwn(STATEMENT_ERRORS, failure.code) ? STATEMENT_ERRORS[failure.code] : undefined;
  if (failure.code === 'unknown') {
    return new UnexpectedResponseError(`Snowflake ${operation} failed without an error code`, { details });
  }
  const said = failure.message === '' ? '' : `: ${failure.message}`;
  if (row === undefined) {
    const make = RETRYABLE_STATES.has(failure.sqlState) ? retryable : invalid;
    return make(`Snowflake ${operation} failed (${failure.code})${said}`, details);
  }
  return row.make(`Snowflake ${operation} failed, ${row.meaning} (${failure.code})${said}`, details);
}
