import { envBoolean, envInteger, envList } from '@circle-core/core';
import * as z from 'zod';
import { BucketName } from '#shared/models/object-storage.ts';
import type { DuckDbClientOptions } from './client.ts';

/**
 * The DuckDB connector's settings; keys are the environment variable names. No secret: DuckDB is
 * embedded, and S3 sources are read with the function's role (the AWS SDK's default chain).
 */
export const DuckdbConfig = z.object({
  DUCKDB_MEMORY_LIMIT_MB: envInteger(256, { min: 16, max: 10_240 }).describe(
    "DuckDB's memory limit in MiB; keep it well below the function's memorySize (beyond it DuckDB spills to /tmp)",
  ),
  DUCKDB_THREADS: envInteger(2, { min: 1, max: 16 }).describe(
    'Worker threads; a Lambda function gets about one vCPU per 1,769 MB of memory',
  ),
  DUCKDB_TEMP_DIRECTORY: z
    .string()
    .min(1)
    .default('/tmp/duckdb')
    .describe('Where DuckDB spills and S3 sources are written while a query reads them (Lambda: under /tmp)'),
  DUCKDB_LOCAL_DIRECTORY: z
    .string()
    .optional()
    .transform((value) => (value === '' ? undefined : value))
    .describe(
      'The one directory `file:` sources may read; unset or empty refuses them (set by the local stack)',
    ),
  DUCKDB_SOURCE_BUCKETS: envList([])
    .pipe(z.array(BucketName))
    .describe('Comma-separated buckets `s3://` sources may read; empty refuses them'),
  DUCKDB_S3_ENDPOINT: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      'S3-compatible endpoint for sources (s3rver, MinIO); unset means AWS, or `AWS_ENDPOINT_URL_S3`',
    ),
  DUCKDB_S3_FORCE_PATH_STYLE: envBoolean(false).describe(
    '`https://host/bucket/key` addressing; most S3-compatible stores need it',
  ),
  DUCKDB_SOURCE_MAX_BYTES: envInteger(268_435_456, { min: 1, max: 10_737_418_240 }).describe(
    'Largest object one source may be, in bytes (it is written to DUCKDB_TEMP_DIRECTORY while read)',
  ),
  DUCKDB_S3_TIMEOUT_MS: envInteger(20_000, { min: 100, max: 900_000 }).describe(
    "Bound of one source's download; the invocation's time left may cut it shorter",
  ),
  DUCKDB_MAX_RESULT_ROWS: envInteger(100_000, { min: 1, max: 10_000_000 }).describe(
    'A result with more rows fails the query with a 400 (aggregate, add a LIMIT, or page in several queries)',
  ),
  DUCKDB_MAX_RESULT_BYTES: envInteger(67_108_864, { min: 1_024, max: 4_294_967_296 }).describe(
    "A result holding more bytes (as JSON, all pages together) fails the query with a 413 instead of exhausting the function's memory; raise it with memorySize",
  ),
  DUCKDB_RESULT_TTL_SECONDS: envInteger(900, { min: 1, max: 86_400 }).describe(
    "How long a finished query's state and result stay readable in the container that ran it",
  ),
  DUCKDB_MAX_QUERIES: envInteger(100, { min: 1, max: 10_000 }).describe(
    'Queries held at once per container; the oldest finished ones are forgotten first',
  ),
  DUCKDB_QUERY_TIMEOUT_SECONDS: envInteger(300, { min: 1, max: 86_400 }).describe(
    'A query that gives no timeoutSeconds is stopped after this long',
  ),
});

/** The parsed settings. */
export type DuckdbSettings = z.output<typeof DuckdbConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = new DuckDbClient(clientOptions(loadConfig(DuckdbConfig)));
 * ```
 */
export function clientOptions(config: DuckdbSettings): DuckDbClientOptions {
  return {
    memoryLimitMb: config.DUCKDB_MEMORY_LIMIT_MB,
    threads: config.DUCKDB_THREADS,
    tempDirectory: config.DUCKDB_TEMP_DIRECTORY,
    localDirectory: config.DUCKDB_LOCAL_DIRECTORY,
    sourceBuckets: config.DUCKDB_SOURCE_BUCKETS,
    s3Endpoint: config.DUCKDB_S3_ENDPOINT,
    s3ForcePathStyle: config.DUCKDB_S3_FORCE_PATH_STYLE,
    sourceMaxBytes: config.DUCKDB_SOURCE_MAX_BYTES,
    s3TimeoutMs: config.DUCKDB_S3_TIMEOUT_MS,
    maxResultRows: config.DUCKDB_MAX_RESULT_ROWS,
    maxResultBytes: config.DUCKDB_MAX_RESULT_BYTES,
    resultTtlSeconds: config.DUCKDB_RESULT_TTL_SECONDS,
    maxQueries: config.DUCKDB_MAX_QUERIES,
    defaultTimeoutSeconds: config.DUCKDB_QUERY_TIMEOUT_SECONDS,
  };
}
