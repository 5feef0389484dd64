/**
 * Amazon Athena's rows for the core's AWS error map (the Athena API Reference's exceptions by the SDK's
 * names), the call target naming the workgroup in every message, and the mapping of a failed query's
 * `AthenaError` into the taxonomy. Throttling, timeouts, 5xx, credentials and network failures are the
 * shared rows.
 */
import {
  type AwsCallTarget,
  type AwsErrorTable,
  ConflictError,
  type ConnectorError,
  NotFoundError,
  TimeoutError,
  UnavailableError,
  ValidationError,
} from '@circle-core/core';

export const ATHENA_ERRORS: AwsErrorTable = {
  // A request Athena refuses: a bad id or token, a query that has not succeeded, a workgroup it does not know.
  InvalidRequestException: 'validation',
  ResourceNotFoundException: { kind: 'not-found', says: 'does not exist' },
  TooManyRequestsException: 'rate-limited',
  InternalServerException: 'unavailable',
  AccessDeniedException: {
    kind: 'configuration',
    hint: 'the role needs athena:*QueryExecution* on ATHENA_WORKGROUP, glue:Get* on the tables and s3 on their data and ATHENA_OUTPUT_LOCATION',
  },
};

/**
 * The target of one Athena call.
 *
 * @example
 * ```ts
 * await awsCall({ ...athenaTarget('StartQueryExecution', 'primary'), timeoutMs }, (abortSignal) => sdk.send(command, { abortSignal }));
 * ```
 */
export function athenaTarget(action: string, workGroup: string): AwsCallTarget {
  return {
    service: 'Athena',
    action,
    table: ATHENA_ERRORS,
    resource: `workgroup ${workGroup}`,
    callerInput: true,
    details: { workGroup },
  };
}

/** Athena's InvalidRequestException for a ClientRequestToken reused with another request. */
const REUSED_TOKEN = /idempotent parameters do not match/i;

/**
 * The ConflictError (409) an InvalidRequestException from StartQueryExecution means when it says the
 * ClientRequestToken (the caller's `idempotencyKey`) was used before with another QueryString, other
 * ExecutionParameters, database or output location; undefined for any other refusal.
 *
 * @example
 * ```ts
 * const conflict = reusedKeyError('Idempotent parameters do not match'); // ConflictError naming /idempotencyKey
 * ```
 */
export function reusedKeyError(message: string): ConflictError | undefined {
  if (!REUSED_TOKEN.test(message)) return undefined;
  return new ConflictError(
    '/idempotencyKey was already used with other SQL/parameters (or another database or output location); ' +
      'pick a new key for a new query',
    { details: { provider: 'Athena', pointer: '/idempotencyKey' } },
  );
}

/** A letter, digit or underscore: a value next to one is part of a longer word or number. */
const WORD = String.raw`[\p{L}\p{N}_]`;
/** Characters that join two words into one token (`jane.doe@example.com`, `1234.5`, `a-b`, `a+b`). */
const JOIN = '[.@+-]';
/** An unquoted value shorter than this is left alone: `1`, `2` or `e` occur in every message. */
const MIN_UNQUOTED = 3;

/** A parameter literal's value: the text of `'...'` (optionally typed, `DATE '...'`), else the literal. */
function literalValue(param: string): string {
  const text = param.trim();
  return /^(?:(?:DATE|TIMESTAMP|TIME)\s+)?'((?:[^']|'')*)'$/is.exec(text)?.[1]?.replaceAll("''", "'") ?? text;
}

/**
 * A reason with each parameter's value replaced by `?` where it stands as a literal: Athena's messages
 * quote values (`Cannot cast 'abc' to INT`), and a value never reaches an answer or a log. A value quoted
 * whole (`'value'` or `"value"`, also with the quote doubled inside as SQL escapes it) is always replaced;
 * unquoted, a value of at least 3 characters is replaced where it is a whole token (not next to a letter,
 * digit or `_`, nor joined to one by `.`, `@`, `+` or `-`). A shorter value or one inside a longer word or
 * number is left, so `"nocolumn"` keeps its `e` and `expected 1 but found 2` its numbers. `params` are the
 * ExecutionParameters literals GetQueryExecution answers; `NULL` carries no value and is skipped.
 *
 * @example
 * ```ts
 * scrub("INVALID_CAST_ARGUMENT: Cannot cast 'abc' to INT", ["'abc'"]); // "INVALID_CAST_ARGUMENT: Cannot cast '?' to INT"
 * ```
 */
export function scrub(reason: string, params: readonly string[] | undefined): string {
  const values = [...new Set((params ?? []).map(literalValue))]
    .filter((value) => value.length > 0 && !/^null$/i.test(value))
    .sort((a, b) => b.length - a.length);
  let text = reason;
  for (const value of values) {
    for (const quote of ["'", '"']) {
      for (const inner of new Set([value, value.replaceAll(quote, quote + quote)])) {
        text = text.replaceAll(`${quote}${inner}${quote}`, `${quote}?${quote}`);
      }
    }
  }
  for (const value of values) {
    if ([...value].length < MIN_UNQUOTED) continue;
    const escaped = value.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
    const token = new RegExp(`(?<!${WORD})(?<!${WORD}${JOIN})${escaped}(?!${WORD})(?!${JOIN}${WORD})`, 'gu');
    text = text.replace(token, '?');
  }
  return text;
}

/** The error names of a `StateChangeReason` that mean a missing table, schema or catalog. */
const MISSING = /^(TABLE_NOT_FOUND|SCHEMA_NOT_FOUND|CATALOG_NOT_FOUND|ENTITY_NOT_FOUND)\b/;
const TIMED_OUT =
  /^(EXCEEDED_TIME_LIMIT|QUERY_TIMEOUT)\b|Query timeout|exceeded the maximum query execution time/i;
/** Athena's error types for a query that ran out of time (its error catalog: 206, 210). */
const TIMEOUT_TYPES = new Set([206, 210]);

/** What a failed query's AthenaError says, as the code of the interface's failure. */
export function failureCode(reason: string, category: number | undefined): string {
  return /^([A-Z][A-Z_]{2,60}):/.exec(reason)?.[1] ?? (category === 1 ? 'SYSTEM_ERROR' : 'USER_ERROR');
}

/**
 * The core error a failed or cancelled query means: a missing table a NotFoundError, the user's SQL
 * (ErrorCategory 2) a ValidationError, Athena's time limit a TimeoutError, Athena's own fault (category 1)
 * an UnavailableError, a cancelled query a ConflictError. The message is Athena's reason (never a value:
 * parameters are not part of it).
 *
 * @example
 * ```ts
 * throw queryError('q-1', 'FAILED', 'TABLE_NOT_FOUND: line 1:15: Table ... does not exist', 2);
 * ```
 */
export function queryError(
  queryId: string,
  state: string,
  reason: string | undefined,
  category: number | undefined,
  errorType?: number,
): ConnectorError {
  const details = { provider: 'Athena', queryId, state };
  if (state === 'CANCELLED') {
    return new ConflictError(`Query ${queryId} was cancelled: it has no results`, { details });
  }
  const said = (reason ?? 'no reason given').slice(0, 1_000);
  const message = `Athena query ${queryId} failed: ${said}`;
  if (MISSING.test(said)) return new NotFoundError(message, { details });
  if (TIMED_OUT.test(said) || TIMEOUT_TYPES.has(errorType ?? -1)) {
    return new TimeoutError(message, { details });
  }
  if (category === 1) return new UnavailableError(message, { details });
  return new ValidationError(message, [{ pointer: '/sql', message: said }], { details });
}
