/**
 * The DuckDB connector's models: the warehouse-query interface's, with `start-query` extended by the
 * files a query reads (`sources`): CSV, NDJSON and Parquet objects of object storage or of the allowed local
 * directory, each visible to the SQL as a view of the name given.
 */
import * as z from 'zod';
import { SqlIdentifier } from '#shared/models/sql-database.ts';
import { StartQueryInput } from '#shared/models/warehouse-query.ts';

/** The file formats DuckDB reads with its built-in readers (no extension to download). */
export const SourceFormat = z
  .enum(['csv', 'ndjson', 'parquet'])
  .describe('csv (header row, types detected), ndjson (one JSON object a line) or parquet');
export type SourceFormat = z.infer<typeof SourceFormat>;

/** One file a query reads. */
export const QuerySource = z.strictObject({
  name: SqlIdentifier.describe('The view name the SQL reads the file by, e.g. `orders`'),
  url: z
    .string()
    .min(4)
    .max(2_048)
    .regex(
      /^(s3:\/\/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]\/.+|file:[^/].*)$/,
      'expected s3://bucket/key or file:relative/path',
    )
    .describe(
      '`s3://bucket/key` (a bucket of DUCKDB_SOURCE_BUCKETS, read through the S3 API) or `file:path` relative ' +
        'to DUCKDB_LOCAL_DIRECTORY; a name ending in .gz is decompressed',
    ),
  format: SourceFormat.optional().describe(
    'The format; default from the name: .csv, .ndjson/.jsonl/.json, .parquet (before any .gz)',
  ),
});
export type QuerySource = z.infer<typeof QuerySource>;

/** Input of `start-query` and `run-query` on DuckDB. */
export const DuckDbStartQueryInput = StartQueryInput.extend({
  sources: z
    .array(QuerySource)
    .max(20)
    .default([])
    .describe('Files the SQL reads as views, by name; SQL cannot open any other file itself'),
});
export type DuckDbStartQueryInput = z.input<typeof DuckDbStartQueryInput>;
