/**
 * The zod models of the SQL database interface (PostgreSQL, MySQL/MariaDB, ...): parameterised
 * statements, transactional batches, bulk inserts and catalog introspection. Provider connectors reuse
 * these in their operation schemas and may extend them. Input types are the schemas' `z.input` (fields with
 * a default may be left out); output types are what implementations return.
 * Input objects are strict (`z.strictObject`, kept by `.extend()`): a misspelled or unknown field is refused
 * with a 400 naming it instead of being dropped; `test/hardening/strict-inputs.test.ts` checks every input.
 */
import * as z from 'zod';

/**
 * A table, schema or column name. Implementations always quote identifiers, so any printable name is
 * safe; control characters and names longer than engines keep (PostgreSQL truncates beyond 63 bytes,
 * MySQL refuses beyond 64 characters) are refused instead of silently meaning something else.
 */
export const SqlIdentifier = z
  .string()
  .min(1)
  .max(63)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'expected a name without control characters')
  .describe('A table, schema or column name, used exactly as written (quoted, case-sensitive)');
export type SqlIdentifier = z.infer<typeof SqlIdentifier>;

/** A bound parameter or a cell value: any JSON value. */
export const SqlValue = z
  .json()
  .describe(
    'A parameter value: string, number, boolean or null; arrays bind as engine arrays where the engine has ' +
      'them, objects as JSON',
  );
export type SqlValue = z.infer<typeof SqlValue>;

/** Parameters of one statement, in placeholder order. */
export const SqlParams = z
  .array(SqlValue)
  .max(65_535)
  .default([])
  .describe('Values for the placeholders ($1, $2, ... or ?), in order; never interpolated into the SQL');
export type SqlParams = z.input<typeof SqlParams>;

/** One parameterised statement. */
export const SqlStatement = z.strictObject({
  sql: z
    .string()
    .min(1)
    .max(1_000_000)
    .describe('Exactly one SQL statement with placeholders for every value; no templating is offered'),
  params: SqlParams,
});
/** A statement as callers write it (`params` may be left out). */
export type SqlStatement = z.input<typeof SqlStatement>;

/** Input of `query`. */
export const QueryInput = SqlStatement;
export type QueryInput = z.input<typeof QueryInput>;

/** A result column. */
export const SqlField = z.object({
  name: z.string().describe('The column name or alias'),
  type: z.string().describe('The engine type name, e.g. "integer", "text", "timestamp with time zone"'),
});
export type SqlField = z.infer<typeof SqlField>;

/** One result row, keyed by column name. Values are JSON: dates as the engine's text, binary as base64. */
export const SqlRow = z
  .record(z.string(), z.unknown())
  .describe(
    'One row keyed by column name; dates and times as text, binary as base64, 64-bit integers as text',
  );
export type SqlRow = z.infer<typeof SqlRow>;

/** Output of `query`. */
export const QueryOutput = z.object({
  rows: z.array(SqlRow).describe('The rows returned (empty for statements without a result set)'),
  rowCount: z
    .number()
    .int()
    .nullable()
    .describe('Rows returned or affected, as the server reports it (null when the statement has no count)'),
  fields: z.array(SqlField).describe('The result columns, in order'),
  truncated: z
    .boolean()
    .describe('True when more rows came back than the connector returns; add a LIMIT or page with OFFSET'),
});
export type QueryOutput = z.infer<typeof QueryOutput>;

/** Input of `execute`. */
export const ExecuteInput = z.strictObject({
  statements: z
    .array(SqlStatement)
    .min(1)
    .max(1000)
    .describe('Statements run in order in ONE transaction: all are committed, or none when one fails'),
});
export type ExecuteInput = z.input<typeof ExecuteInput>;

/** What one statement of `execute` did. */
export const StatementResult = z.object({
  rowCount: z.number().int().nullable().describe('Rows returned or affected by the statement'),
  rows: z.array(SqlRow).describe('Rows the statement returned (e.g. INSERT ... RETURNING id)'),
  truncated: z.boolean().describe('True when the statement returned more rows than the connector returns'),
});
export type StatementResult = z.infer<typeof StatementResult>;

/** Output of `execute`. */
export const ExecuteOutput = z.object({
  results: z.array(StatementResult).describe('One result per statement, in order'),
});
export type ExecuteOutput = z.infer<typeof ExecuteOutput>;

/** Input of `insert-rows`. */
export const InsertRowsInput = z.strictObject({
  schema: SqlIdentifier.optional().describe(
    'The schema (PostgreSQL) or database (MySQL); default: the current one',
  ),
  table: SqlIdentifier.describe('The table to insert into'),
  columns: z
    .array(SqlIdentifier)
    .min(1)
    .max(1600)
    .optional()
    .describe('The columns to fill; default: the keys of the first row. A row missing one gets its DEFAULT'),
  rows: z
    .array(z.record(z.string(), SqlValue))
    .min(1)
    .max(100_000)
    .describe('The rows, each keyed by column name'),
  onConflict: z
    .enum(['error', 'ignore'])
    .default('error')
    .describe('On a duplicate key: "error" fails and inserts nothing, "ignore" skips the duplicate rows'),
});
export type InsertRowsInput = z.input<typeof InsertRowsInput>;

/** Output of `insert-rows`. */
export const InsertRowsOutput = z.object({
  inserted: z
    .number()
    .int()
    .nonnegative()
    .describe('Rows inserted (duplicates skipped by "ignore" excluded)'),
  batches: z.number().int().positive().describe('Multi-row INSERT statements it took, in one transaction'),
});
export type InsertRowsOutput = z.infer<typeof InsertRowsOutput>;

/** Input of `list-tables`. */
export const ListTablesInput = z.strictObject({
  schema: SqlIdentifier.optional().describe('Only tables of this schema; default: every non-system schema'),
});
export type ListTablesInput = z.infer<typeof ListTablesInput>;

/** A kind of relation. */
export const TableType = z
  .enum(['table', 'view', 'materialized-view', 'foreign-table', 'partitioned-table'])
  .describe('What kind of relation it is');
export type TableType = z.infer<typeof TableType>;

/** One table or view. */
export const TableSummary = z.object({
  schema: z.string().describe('The schema it belongs to'),
  name: z.string().describe('The table name'),
  type: TableType,
});
export type TableSummary = z.infer<typeof TableSummary>;

/** Output of `list-tables`. */
export const ListTablesOutput = z.object({
  tables: z.array(TableSummary).describe('Tables and views, ordered by schema then name'),
});
export type ListTablesOutput = z.infer<typeof ListTablesOutput>;

/** Input of `describe-table`. */
export const DescribeTableInput = z.strictObject({
  schema: SqlIdentifier.optional().describe('The schema; default: the first schema of the search path'),
  table: SqlIdentifier.describe('The table or view to describe'),
});
export type DescribeTableInput = z.infer<typeof DescribeTableInput>;

/** One column of a table. */
export const ColumnDescription = z.object({
  name: z.string().describe('The column name'),
  position: z.number().int().positive().describe('1-based position in the table'),
  type: z.string().describe('The engine type with modifiers, e.g. "character varying(100)"'),
  nullable: z.boolean().describe('Whether the column accepts NULL'),
  default: z.string().nullable().describe('The default expression as SQL text, null when none'),
  primaryKey: z.boolean().describe('Whether the column is part of the primary key'),
});
export type ColumnDescription = z.infer<typeof ColumnDescription>;

/** Output of `describe-table`. */
export const DescribeTableOutput = z.object({
  schema: z.string().describe('The schema the table was found in'),
  name: z.string().describe('The table name'),
  type: TableType,
  columns: z.array(ColumnDescription).describe('The columns, in table order'),
  primaryKey: z.array(z.string()).describe('Primary key column names in key order; empty when none'),
});
export type DescribeTableOutput = z.infer<typeof DescribeTableOutput>;
