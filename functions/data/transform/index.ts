/**
 * The Data Transform connector: record transforms declared as data (a JSONata expression, schemas on both
 * sides), records inline or by claim check in S3, on every trigger (HTTP, SQS, Step Functions, direct
 * invoke, library use) from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { TransformClient } from './client.ts';
import { clientOptions, TransformConfig } from './config.ts';
import {
  ExportMysqlInput,
  ExportMysqlOutput,
  ExportPostgresInput,
  ExportPostgresOutput,
  LoadMysqlInput,
  LoadMysqlOutput,
  LoadPostgresInput,
  LoadPostgresOutput,
  TestExpressionInput,
  TestExpressionOutput,
  TransformRecordsInput,
  TransformRecordsOutput,
} from './models.ts';
import { resumeExport, resumeLoad } from './unfinished.ts';

/**
 * @example
 * ```ts
 * await connector.run('transform-records', { expression: '{ "id": id }', records: [{ id: 1 }] });
 * ```
 */
export const connector = defineConnector({
  name: 'transform',
  version: '1.4.7',
  config: TransformConfig,
  setup: { client: ({ config }) => TransformClient.create(clientOptions(config)) },
  operations: (op) => ({
    'transform-records': op({
      // Writes an object only for a large output, under a key named by the request or the correlation id.
      effect: 'write',
      description:
        'Maps records with a JSONata expression, checked against input and output schemas; records inline or in S3, output inline or to S3',
      input: TransformRecordsInput,
      output: TransformRecordsOutput,
      measures: (output) => ({ recordsRead: output.read, recordsRejected: output.rejectedCount }),
      run: (input, { client, correlationId }) => client.transformRecords(input, correlationId),
    }),
    'load-postgres': op({
      effect: 'write',
      description:
        'Copies the records of an S3 object (NDJSON, CSV, Parquet) into a PostgreSQL table with COPY, part by part, resumable by loadId, with a manifest',
      input: LoadPostgresInput,
      output: LoadPostgresOutput,
      measures: (output) => ({ rowsLoaded: output.rowsLoaded, recordsRejected: output.rejectedCount }),
      unfinished: resumeLoad,
      run: (input, { client }) => client.loadPostgres(input),
    }),
    'load-mysql': op({
      effect: 'write',
      description:
        'Inserts the records of an S3 object (NDJSON, CSV, Parquet) into a MySQL/MariaDB table with batched multi-row INSERTs, part by part, resumable by loadId, with a manifest',
      input: LoadMysqlInput,
      output: LoadMysqlOutput,
      measures: (output) => ({ rowsLoaded: output.rowsLoaded, recordsRejected: output.rejectedCount }),
      unfinished: resumeLoad,
      run: (input, { client }) => client.loadMysql(input),
    }),
    'export-postgres': op({
      effect: 'write',
      description:
        'Writes a PostgreSQL table to S3 as NDJSON, CSV or Parquet parts in key order, resumable by cursor, with a manifest',
      input: ExportPostgresInput,
      output: ExportPostgresOutput,
      measures: (output) => ({ rowsExported: output.rows }),
      unfinished: resumeExport,
      run: (input, { client }) => client.exportPostgres(input),
    }),
    'export-mysql': op({
      effect: 'write',
      description:
        'Writes a MySQL/MariaDB table to S3 as NDJSON, CSV or Parquet parts in key order, resumable by cursor, with a manifest',
      input: ExportMysqlInput,
      output: ExportMysqlOutput,
      measures: (output) => ({ rowsExported: output.rows }),
      unfinished: resumeExport,
      run: (input, { client }) => client.exportMysql(input),
    }),
    'test-expression': op({
      description:
        'Compiles a JSONata expression (a syntax error names its position) and evaluates it on a sample',
      input: TestExpressionInput,
      output: TestExpressionOutput,
      run: (input, { client }) => client.testExpression(input),
    }),
  }),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
