/**
 * The Snowflake connector's models: the warehouse-query interface's, with `start-query` extended by the
 * context a statement runs in (warehouse, database, schema, role; each defaults to the connector's
 * setting, then to the user's defaults at Snowflake), and the SQL API's answers as the client reads them
 * (open objects: Snowflake adds fields).
 */
import * as z from 'zod';
import { StartQueryInput } from '#shared/models/warehouse-query.ts';

const ObjectName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z_][A-Za-z0-9_$]*$|^"[^"]{1,253}"$/, 'expected a Snowflake identifier')
  .optional();

/** Input of `start-query` and `run-query` on Snowflake. */
export const SnowflakeStartQueryInput = StartQueryInput.extend({
  warehouse: ObjectName.describe(
    'The virtual warehouse that runs it; default SNOWFLAKE_WAREHOUSE, e.g. "COMPUTE_WH"',
  ),
  database: ObjectName.describe(
    'The database of unqualified names; default SNOWFLAKE_DATABASE, e.g. "ANALYTICS"',
  ),
  schema: ObjectName.describe('The schema of unqualified names; default SNOWFLAKE_SCHEMA, e.g. "PUBLIC"'),
  role: ObjectName.describe('The role it runs as; default SNOWFLAKE_ROLE, e.g. "REPORTER"'),
});
export type SnowflakeStartQueryInput = z.input<typeof SnowflakeStartQueryInput>;

/** A 202 answer: the statement runs on. */
export const StatementRunning = z.object({
  code: z.string().optional(),
  statementHandle: z.string().min(1).max(256),
});

/** One entry of `rowType`. */
export const RowTypeAnswer = z.object({
  name: z.string(),
  type: z.string(),
  precision: z.number().nullish(),
  scale: z.number().nullish(),
});

/** A 200 answer of a statement: its metadata and partition 0. */
export const ResultSetAnswer = z.object({
  statementHandle: z.string().min(1).max(256),
  createdOn: z.number().optional(),
  resultSetMetaData: z.object({
    numRows: z.number().int().nonnegative(),
    rowType: z.array(RowTypeAnswer),
    partitionInfo: z.array(z.object({ rowCount: z.number().int().nonnegative() })).min(1),
  }),
  data: z.array(z.array(z.unknown())),
});
export type ResultSetAnswer = z.output<typeof ResultSetAnswer>;

/** A partition other than the first: its rows only. */
export const PartitionAnswer = z.object({ data: z.array(z.array(z.unknown())) });
