/**
 * The Amazon Athena connector's models: the warehouse-query interface's, with `start-query` extended by the
 * database its unqualified table names resolve in (default ATHENA_DATABASE). The workgroup and the result
 * location are the connector's settings, never a caller's input.
 */
import * as z from 'zod';
import { StartQueryInput } from '#shared/models/warehouse-query.ts';

/** A Glue database name as Athena takes it. */
export const DatabaseName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_-]+$/, 'expected a Glue database name (letters, digits, "_" or "-")');

/** Input of `start-query` and `run-query` on Athena. */
export const AthenaStartQueryInput = StartQueryInput.extend({
  database: DatabaseName.optional().describe(
    'The Glue database of unqualified table names; default ATHENA_DATABASE, e.g. "analytics"',
  ),
});
export type AthenaStartQueryInput = z.input<typeof AthenaStartQueryInput>;
