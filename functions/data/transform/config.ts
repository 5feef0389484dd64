import { envBoolean, envInteger, envList } from '@circle-core/core';
import * as z from 'zod';
import { BucketName } from '#shared/models/object-storage.ts';
import type { EngineFacts } from '#shared/sql/credentials.ts';
import { credentialsFromSettings, sqlSettings } from '#shared/sql/settings.ts';

/** PostgreSQL as the bulk load's target: the `PG_*` settings every PostgreSQL user of the core reads. */
export const LOAD_POSTGRES = {
  name: 'PostgreSQL',
  prefix: 'PG',
  schemes: ['postgres', 'postgresql'],
  engine: /postgres/,
  defaultPort: 5432,
  defaultUser: 'postgres',
  defaultDatabase: 'postgres',
} as const satisfies EngineFacts;

/** MySQL/MariaDB as load-mysql's target: the `MYSQL_*` settings the MySQL connector reads. */
export const LOAD_MYSQL = {
  name: 'MySQL',
  prefix: 'MYSQL',
  schemes: ['mysql', 'mariadb'],
  engine: /mysql|mariadb/,
  defaultPort: 3306,
  defaultUser: 'root',
  defaultDatabase: '',
} as const satisfies EngineFacts;

import type { TransformOptions } from './client.ts';

/**
 * The Data Transform connector's settings; keys are the environment variable names. No secret: S3 is read
 * and written with the function's role (the AWS SDK's default chain; `AWS_ENDPOINT_URL_S3` points it at
 * another store, as the local stack does).
 */
export const TransformConfig = z.object({
  TRANSFORM_BUCKET: BucketName.describe(
    'Bucket claim-check inputs are read from and large outputs written to when a request names none',
  ),
  TRANSFORM_ALLOWED_BUCKETS: envList([])
    .pipe(z.array(BucketName))
    .describe('Comma-separated other buckets a request may name; TRANSFORM_BUCKET is always allowed'),
  TRANSFORM_OUTPUT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9!_.*'()/-]{0,200}$/, 'expected an S3 key prefix')
    .default('transform/outputs/')
    .describe('Key prefix of outputs the connector names itself (a large output with no `output.key`)'),
  TRANSFORM_S3_FORCE_PATH_STYLE: envBoolean(false).describe(
    '`https://host/bucket/key` addressing (S3-compatible stores; the local stack sets it)',
  ),
  TRANSFORM_S3_TIMEOUT_MS: envInteger(20_000, { min: 100, max: 900_000 }).describe(
    "Budget of one S3 call (one ranged read or one part) including the SDK's retries; the time left may cut it",
  ),
  TRANSFORM_EVAL_TIMEOUT_MS: envInteger(1_000, { min: 1, max: 60_000 }).describe(
    'Wall-clock limit of one JSONata evaluation (one record); over it the record is rejected with D1012',
  ),
  TRANSFORM_MAX_DEPTH: envInteger(500, { min: 10, max: 10_000 }).describe(
    'Deepest evaluation (recursion) one JSONata evaluation may reach; over it the record is rejected (D1011)',
  ),
  TRANSFORM_MAX_SEQUENCE: envInteger(100_000, { min: 10, max: 10_000_000 }).describe(
    'Longest sequence one JSONata evaluation may build; over it the record is rejected (D2015)',
  ),
  TRANSFORM_MAX_RESULT_BYTES: envInteger(262_144, { min: 64, max: 16_777_216 }).describe(
    'Largest answer of one evaluation, as JSON bytes; a larger one rejects the record',
  ),
  TRANSFORM_MAX_RECORD_BYTES: envInteger(1_048_576, { min: 1_024, max: 67_108_864 }).describe(
    'Longest record (NDJSON line, CSV row) read from an object; a longer one is rejected with its index',
  ),
  TRANSFORM_INLINE_MAX_BYTES: envInteger(200_000, { min: 0, max: 5_000_000 }).describe(
    'Largest output answered inline; a larger one is written to S3 and answered as a claim check (Step Functions carries at most 256 KiB)',
  ),
  ...sqlSettings(LOAD_POSTGRES, {
    statementTimeout:
      "The session's `statement_timeout` for load-postgres (one part's COPY must finish within it); unset PG_SECRET and PG_URL: no database, load-postgres answers 500",
  }),
  TRANSFORM_PG_PART_RECORDS: envInteger(10_000, { min: 1, max: 1_000_000 }).describe(
    'Input records per load part: one COPY and one transaction each, named in the manifest table',
  ),
  TRANSFORM_PG_MANIFEST_TABLE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}(?:\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/)
    .default('circle_load_parts')
    .describe('Table listing each loaded part (load_id, part, rows); created on first use'),
  ...sqlSettings(LOAD_MYSQL, {
    statementTimeout:
      "Server-side statement timeout of load-mysql's session (`max_statement_time` on MariaDB; each multi-row INSERT must finish within it); unset MYSQL_SECRET and MYSQL_URL: no database, load-mysql answers 500",
  }),
  TRANSFORM_MYSQL_PART_RECORDS: envInteger(10_000, { min: 1, max: 1_000_000 }).describe(
    'Input records per load-mysql part: one transaction of multi-row INSERTs each, named in the manifest table',
  ),
  TRANSFORM_MYSQL_MANIFEST_TABLE: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_]{0,63})?$/)
    .default('circle_load_parts')
    .describe('MySQL table listing each part load-mysql loaded (load_id, part, rows); created on first use'),
  TRANSFORM_MAX_OUTPUT_BYTES: envInteger(5_368_709_120, { min: 1_024, max: 53_687_091_200 }).describe(
    'Largest output object one request may write (bytes); past it the request fails with 413',
  ),
});
export type TransformSettings = z.output<typeof TransformConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = await TransformClient.create(clientOptions(loadConfig(TransformConfig)));
 * ```
 */
export function clientOptions(config: TransformSettings): TransformOptions {
  return {
    bucket: config.TRANSFORM_BUCKET,
    allowedBuckets: config.TRANSFORM_ALLOWED_BUCKETS,
    outputPrefix: config.TRANSFORM_OUTPUT_PREFIX,
    forcePathStyle: config.TRANSFORM_S3_FORCE_PATH_STYLE,
    s3TimeoutMs: config.TRANSFORM_S3_TIMEOUT_MS,
    limits: {
      timeoutMs: config.TRANSFORM_EVAL_TIMEOUT_MS,
      maxDepth: config.TRANSFORM_MAX_DEPTH,
      maxSequence: config.TRANSFORM_MAX_SEQUENCE,
      maxResultBytes: config.TRANSFORM_MAX_RESULT_BYTES,
    },
    maxRecordBytes: config.TRANSFORM_MAX_RECORD_BYTES,
    inlineMaxBytes: config.TRANSFORM_INLINE_MAX_BYTES,
    maxOutputBytes: config.TRANSFORM_MAX_OUTPUT_BYTES,
    partRecords: config.TRANSFORM_PG_PART_RECORDS,
    manifestTable: config.TRANSFORM_PG_MANIFEST_TABLE,
    postgres:
      config.PG_SECRET === undefined && config.PG_URL === undefined
        ? undefined
        : {
            credentials: credentialsFromSettings(config, LOAD_POSTGRES),
            ssl: config.PG_SSL,
            statementTimeoutMs: config.PG_STATEMENT_TIMEOUT_MS,
            connectTimeoutMs: config.PG_CONNECT_TIMEOUT_MS,
            readOnly: config.PG_READ_ONLY,
            applicationName: 'circle-core-transform',
          },
    mysqlPartRecords: config.TRANSFORM_MYSQL_PART_RECORDS,
    mysqlManifestTable: config.TRANSFORM_MYSQL_MANIFEST_TABLE,
    mysql:
      config.MYSQL_SECRET === undefined && config.MYSQL_URL === undefined
        ? undefined
        : {
            credentials: credentialsFromSettings(config, LOAD_MYSQL),
            ssl: config.MYSQL_SSL,
            statementTimeoutMs: config.MYSQL_STATEMENT_TIMEOUT_MS,
            connectTimeoutMs: config.MYSQL_CONNECT_TIMEOUT_MS,
            readOnly: config.MYSQL_READ_ONLY,
            maxRows: config.MYSQL_MAX_ROWS,
          },
  };
}
