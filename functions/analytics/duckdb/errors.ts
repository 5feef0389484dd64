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
  PayloadTooLargeError,
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
    make: (m, o) => new PayloadTooLargeError(0, { ...o, message: m }),
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

/** The limits a query runs within (Lambda's memorySize and /tmp), for the errors that name them. */
export interface DuckdbLimits {
  memoryLimitMb: number;
  /** The size of the file system under DUCKDB_TEMP_DIRECTORY, when known. */
  tempBytes?: number | undefined;
}

/** DuckDB could not spill (its temp directory is full: its own check or the OS's ENOSPC). */
const DISK_FULL = /max_temp_directory_size|No space left on device|ENOSPC/;

/** Lambda's /tmp (ephemeral storage), where DUCKDB_TEMP_DIRECTORY lives, and how it is raised. */
const EPHEMERAL_STORAGE =
  "Lambda's /tmp: 512 MB unless the function's ephemeral storage (ephemeralStorageSize, up to 10,240 MB) is raised";

/**
 * A query that outgrew the function's memory or its disk, as a 413 naming the limit and the setting to
 * raise; undefined for any other failure. DuckDB's own advice (SET threads, PRAGMA ...) is left out: its
 * configuration is locked, so the caller can change none of it.
 *
 * @example
 * ```ts
 * limitError('Out of Memory Error: failed to allocate ...', undefined, 'query', { memoryLimitMb: 256 });
 * ```
 */
export function limitError(
  message: string,
  errno: unknown,
  operation: string,
  limits: DuckdbLimits,
): PayloadTooLargeError | undefined {
  const code = CLASS.exec(message)?.[1];
  const disk = errno === 'ENOSPC' || ((code === 'Out of Memory' || code === 'IO') && DISK_FULL.test(message));
  if (!disk && code !== 'Out of Memory') return undefined;
  const said = (message.replace(/^Failed to extract statements: /, '').split('\n')[0] ?? '').slice(0, 300);
  const details = { provider: 'DuckDB', operation, code: disk ? 'disk_full' : 'Out of Memory' };
  const memory = `DUCKDB_MEMORY_LIMIT_MB (${limits.memoryLimitMb} MiB)`;
  if (disk) {
    return new PayloadTooLargeError(limits.tempBytes ?? 0, {
      details,
      message:
        `DuckDB ${operation} failed: the query's data outgrew the disk under DUCKDB_TEMP_DIRECTORY, where DuckDB ` +
        `spills what exceeds ${memory} and S3 sources are written while read (${EPHEMERAL_STORAGE}). Raise the ` +
        `ephemeral storage, read smaller sources, or make the query need less (${said.trim()})`,
    });
  }
  return new PayloadTooLargeError(limits.memoryLimitMb * 1_048_576, {
    details,
    message:
      `DuckDB ${operation} failed: the query needs more memory than ${memory} and could not spill the rest to ` +
      "disk. Raise DUCKDB_MEMORY_LIMIT_MB together with the function's memorySize (keep the limit well below " +
      `it), or make the query need less: aggregate, fewer columns, a LIMIT (${said.trim()})`,
  });
}

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
  limits?: DuckdbLimits,
): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const errno = (error as { code?: unknown } | null)?.code;
  const overLimit = limits === undefined ? undefined : limitError(message, errno, operation, limits);
  if (overLimit !== undefined) return overLimit;
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
