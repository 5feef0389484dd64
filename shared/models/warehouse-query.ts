/**
 * The zod models of the warehouse-query interface (Athena, Snowflake SQL API v2, DuckDB): a query is
 * started and gets a handle, its state is polled, its result is read one page at a time with a cursor,
 * and it can be cancelled. Values only travel as bound parameters (`?` placeholders, which all three
 * engines take), never inside the SQL text. Result columns are typed: each has the engine's type and a
 * portable `kind` that says how its values are encoded in JSON.
 * Input objects are strict (`z.strictObject`, kept by `.extend()`): an unknown field is a 400 naming it.
 * A connector may `.extend()` `StartQueryInput` with its engine's context (workgroup, warehouse, sources).
 */
import * as z from 'zod';
import { ROUNDED_WHOLE_NUMBER, roundedIntegerIssue } from '#shared/sql/values.ts';

/** A bound parameter: engines bind these as typed values, never as SQL text. */
export const WarehouseParam = z
  .union([z.string().max(1_000_000), z.number(), z.boolean(), z.null()])
  .refine((value) => roundedIntegerIssue(value, '') === undefined, ROUNDED_WHOLE_NUMBER)
  .describe(
    'A value for one `?` placeholder: string, number, boolean or null (dates as ISO text with a CAST in the ' +
      'SQL). A JSON number is exact only within ±(2^53 - 1): an integer beyond it (up to ±2^64) is refused ' +
      'with a 400, since JSON has already rounded it; such an integer (a BIGINT id) or an exact ' +
      'decimal goes as its decimal text, e.g. "9007199254740993": DuckDB and Snowflake convert it exactly to ' +
      'the integer or decimal column it is compared with or stored in; Athena binds text as a varchar literal, ' +
      'so write the CAST there (`cast(? as bigint)`)',
  );
export type WarehouseParam = z.infer<typeof WarehouseParam>;

/** The handle of a started query. */
export const QueryId = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9._:-]+$/, 'expected a query handle as start-query returned it')
  .describe(
    "The query's handle as start-query returned it (Athena QueryExecutionId, Snowflake statementHandle)",
  );
export type QueryId = z.infer<typeof QueryId>;

/** Input of `start-query`. */
export const StartQueryInput = z.strictObject({
  sql: z
    .string()
    .min(1)
    .max(262_144)
    .describe(
      'Exactly one SQL statement with a `?` placeholder for every value; no templating is offered, e.g. "SELECT 42 AS answer"',
    ),
  params: z
    .array(WarehouseParam)
    .max(1_000)
    .default([])
    .describe('Values for the `?` placeholders, in order; bound by the engine, never interpolated'),
  timeoutSeconds: z
    .number()
    .int()
    .min(1)
    .max(172_800)
    .optional()
    .describe(
      'Stop the query after this many seconds (capability `query-timeout`; refused with 501 where the ' +
        "engine has no per-query limit, as Athena, whose limit is the workgroup's)",
    ),
  idempotencyKey: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._:-]+$/, 'expected letters, digits, ".", "_", ":" or "-"')
    .optional()
    .describe(
      'Starting again with the same key returns the first query instead of running it twice ' +
        '(Athena ClientRequestToken, Snowflake requestId; Snowflake runs a first query that failed again)',
    ),
});
export type StartQueryInput = z.input<typeof StartQueryInput>;

/** Where a query is in its life. */
export const QueryState = z
  .enum(['queued', 'running', 'succeeded', 'failed', 'cancelled'])
  .describe(
    'queued and running go on; succeeded, failed and cancelled are final (Athena QUEUED/RUNNING/SUCCEEDED/' +
      'FAILED/CANCELLED; Snowflake 202 = running, 200 = succeeded, 422 = failed)',
  );
export type QueryState = z.infer<typeof QueryState>;

/** The final states. */
export const FINAL_QUERY_STATES: ReadonlySet<QueryState> = new Set(['succeeded', 'failed', 'cancelled']);

/** Why a query failed, as the engine said it. */
export const QueryFailure = z.object({
  code: z
    .string()
    .describe('The engine\'s error code or class, e.g. "Parser Error", "SYNTAX_ERROR", "002003"'),
  message: z.string().describe("The engine's message; never contains parameter values"),
});
export type QueryFailure = z.infer<typeof QueryFailure>;

/** What `start-query`, `get-query` and `cancel-query` return. */
export const QueryStatus = z.object({
  queryId: QueryId,
  state: QueryState,
  failure: QueryFailure.nullable().describe('Why it failed; null unless state is failed'),
  submittedAt: z.string().describe('When the engine accepted it, ISO 8601'),
  completedAt: z.string().nullable().describe('When it reached a final state, ISO 8601; null before'),
  rowCount: z
    .number()
    .int()
    .nonnegative()
    .nullable()
    .describe('Rows in the result (or changed by a write) once succeeded; null before or when unknown'),
});
export type QueryStatus = z.infer<typeof QueryStatus>;

/** A reference to a started query. */
export const QueryRef = z.strictObject({ queryId: QueryId });
export type QueryRef = z.infer<typeof QueryRef>;

/** Input of `get-query`. */
export const GetQueryInput = QueryRef.extend({
  waitSeconds: z
    .number()
    .min(0)
    .max(900)
    .default(0)
    .describe(
      "Poll until the query is final or this long has passed, within the invocation's time left; 0 answers at " +
        'once. A query still running afterwards comes back with its state (poll again, e.g. from a Wait state)',
    ),
});
export type GetQueryInput = z.input<typeof GetQueryInput>;

/** How the values of a result column are encoded in JSON. */
export const ColumnKind = z
  .enum([
    'boolean',
    'integer',
    'bigint',
    'decimal',
    'float',
    'string',
    'date',
    'time',
    'timestamp',
    'timestamp-tz',
    'interval',
    'binary',
    'json',
    'list',
    'struct',
    'map',
    'other',
  ])
  .describe(
    'How values are encoded: boolean; integer (up to 32 bits) a number; bigint (64 bits and wider) and ' +
      'decimal exact text; float a number ("NaN", "Infinity", "-Infinity" as text); string text; date ' +
      '"YYYY-MM-DD"; time "HH:MM:SS[.fffffffff]"; timestamp "YYYY-MM-DDTHH:MM:SS[.fffffffff]" without zone; ' +
      'timestamp-tz the same in UTC ending in "Z"; a fraction has up to nine digits, nanoseconds where the ' +
      "type keeps them (DuckDB TIMESTAMP_NS and TIME_NS, Snowflake's TIME and TIMESTAMP of scale 7 to 9), never " +
      "cut to fewer; interval and other the engine's text; binary base64; json, " +
      'list, struct and map JSON values whose members follow the same rules (a map as [{key, value}])',
  );
export type ColumnKind = z.infer<typeof ColumnKind>;

/** A typed result column. */
export const ResultColumn = z.object({
  name: z.string().describe('The column name or alias; two columns may share one (rows are positional)'),
  type: z.string().describe('The engine\'s type, e.g. "DECIMAL(10,3)", "varchar", "TIMESTAMP_NTZ(9)"'),
  kind: ColumnKind,
});
export type ResultColumn = z.infer<typeof ResultColumn>;

/** Input of `get-query-results`. */
export const GetQueryResultsInput = QueryRef.extend({
  cursor: z
    .string()
    .min(1)
    .max(4_096)
    .optional()
    .describe('The nextCursor of the previous page; leave out for the first page'),
  pageSize: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(1_000)
    .describe('Rows per page at most (Athena pages are at most 1000; Snowflake pages follow its partitions)'),
});
export type GetQueryResultsInput = z.input<typeof GetQueryResultsInput>;

/** One page of a result. */
export const QueryResultsPage = z.object({
  queryId: QueryId,
  columns: z.array(ResultColumn).describe('The result columns, in order; the same on every page'),
  rows: z
    .array(z.array(z.unknown()))
    .describe(
      "The rows of this page, each an array ordered like columns, values encoded by the column's kind",
    ),
  nextCursor: z.string().nullable().describe('Pass as cursor for the next page; null on the last page'),
});
export type QueryResultsPage = z.infer<typeof QueryResultsPage>;

/** Input of `run-query`: start, wait within the time left, and the first page when it finished. */
export const RunQueryInput = StartQueryInput.extend({
  waitSeconds: z
    .number()
    .min(0)
    .max(900)
    .default(30)
    .describe(
      "How long to wait for the result within the invocation's time left before answering the handle",
    ),
  pageSize: GetQueryResultsInput.shape.pageSize,
});
export type RunQueryInput = z.input<typeof RunQueryInput>;

/** Output of `run-query`. */
export const RunQueryOutput = z.object({
  status: QueryStatus.describe('Where the query stands: its id, state, timings and any error'),
  results: QueryResultsPage.nullable().describe(
    'The first page when the query succeeded in time; null otherwise (poll get-query with status.queryId)',
  ),
});
export type RunQueryOutput = z.infer<typeof RunQueryOutput>;
