/**
 * DuckDB's failures as core errors, mapped once. DuckDB names the class of every error at the start of
 * its message (`Parser Error: ...`, `Catalog Error: ...`); each class is a row here choosing the core error,
 * and so the HTTP status, the queue's retry-or-drop and the Step Functions error name.
 */
import {
  ConflictError,
  ConnectorError,
  ForbiddenError,
  NotFoundError,
  NotSupportedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';

type Make = (message: string, options: { details: Record<string, unknown> }) => ConnectorError;

const invalid: Make = (m, o) => new ValidationError(m, [], o);

/** DuckDB error class (the words before `Error:`) -> what it means and the core error. */
export const DUCKDB_ERRORS: Readonly<Record<string, { meaning: string; make: Make }>> = {
  Parser: { meaning: 'the SQL does not parse', make: invalid },
  Binder: { meaning: 'the SQL names a column or function that does not fit', make: invalid },
  Conversion: { meaning: 'a value does not convert to the type asked', make: invalid },
  'Invalid Input': { meaning: 'DuckDB refused the input', make: invalid },
  'Out of Range': { meaning: 'a value is out of range', make: invalid },
  Constraint: { meaning: 'a constraint was violated', make: (m, o) => new ConflictError(m, o) },
  Catalog: { meaning: 'a table, view or function does not exist', make: (m, o) => new NotFoundError(m, o) },
  Permission: {
    meaning: 'SQL may only read the files given as sources',
    make: (m, o) => new ForbiddenError(m, o),
  },
  IO: { meaning: 'a file could not be read', make: invalid },
  'Not implemented': {
    meaning: 'DuckDB does not implement this',
    make: (m, o) => new NotSupportedError(m, o),
  },
  'Out of Memory': {
    meaning: 'the query needs more memory than DUCKDB_MEMORY_LIMIT_MB',
    make: invalid,
  },
  INTERRUPT: { meaning: 'the query was stopped', make: (m, o) => new TimeoutError(m, o) },
  Transaction: { meaning: 'a transaction conflict', make: (m, o) => new UnavailableError(m, o) },
  'Extension Autoloading': {
    meaning: 'the SQL needs an extension this build does not load',
    make: (m, o) => new NotSupportedError(m, o),
  },
  'Missing Extension': {
    meaning: 'the SQL needs an extension this build does not load',
    make: (m, o) => new NotSupportedError(m, o),
  },
  INTERNAL: { meaning: 'DuckDB failed internally', make: (m, o) => new UnexpectedResponseError(m, o) },
  FATAL: { meaning: 'DuckDB failed internally', make: (m, o) => new UnexpectedResponseError(m, o) },
};

/** Any other class DuckDB names (Divide by Zero, Mismatch Type, Dependency, ...) is the SQL's problem. */
const OTHER_CLASS = { meaning: 'DuckDB refused the SQL', make: invalid };

const CLASS = /^(?:Failed to extract statements: )?([A-Za-z ]{2,40}?) Error: /;

/**
 * The error class and first lines of a DuckDB message, with every parameter value taken out (a
 * `Conversion Error` quotes the value it could not convert): values never reach a message.
 *
 * @example
 * ```ts
 * scrubMessage("Conversion Error: Could not convert string 'abc' to INT32", ['abc']); // ... string '?' ...
 * ```
 */
export function scrubMessage(message: string, params: readonly unknown[]): string {
  let text = message.slice(0, 2_000);
  for (const param of params) {
    if (typeof param !== 'string' || param.length === 0) continue;
    text = text.split(`'${param}'`).join("'?'");
    if (param.length >= 4) text = text.split(param).join('?');
  }
  return text.trim();
}

/**
 * A DuckDB failure as a core error; core errors pass through. The message names the error class, what it
 * means and DuckDB's own words (values taken out); `details.code` is the class.
 *
 * @example
 * ```ts
 * try { ... } catch (error) { throw toDuckdbError(error, 'query', params); }
 * ```
 */
export function toDuckdbError(
  error: unknown,
  operation: string,
  params: readonly unknown[] = [],
): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = CLASS.exec(message)?.[1] ?? 'unknown';
  const row = Object.hasOwn(DUCKDB_ERRORS, code)
    ? DUCKDB_ERRORS[code]
    : code === 'unknown'
      ? undefined
      : OTHER_CLASS;
  const said = scrubMessage(message.replace(/^Failed to extract statements: /, ''), params);
  // No `cause`: DuckDB's raw message may quote a parameter value, and causes reach the logs.
  const options = { details: { provider: 'DuckDB', operation, code } };
  if (row === undefined) return new UnexpectedResponseError(`DuckDB ${operation} failed: ${said}`, options);
  return row.make(`DuckDB ${operation} failed, ${row.meaning}: ${said}`, options);
}
