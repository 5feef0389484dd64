/**
 * The Data Transform connector's work: records read inline or from S3 (claim check) in constant memory,
 * checked against the input schema, mapped by a bounded JSONata expression, checked against the output
 * schema, and answered inline or written to S3 when large. A record that fails anywhere is rejected with
 * its index; the others are kept. The only file that talks to S3.
 */
import { createHash } from 'node:crypto';
import { HeadBucketCommand, S3Client } from '@aws-sdk/client-s3';
import {
  awsCall,
  createAwsClient,
  ForbiddenError,
  PayloadTooLargeError,
  remainingTimeMs,
  TimeoutError,
} from '@circle-core/core';
import type * as z from 'zod';
import {
  csvWriter,
  FORMAT_CONTENT_TYPES,
  ndjsonWriter,
  type ReadItem,
  type RecordFormat,
  type RecordWriter,
  readCsvBatches,
  readNdjsonBatches,
} from '#shared/data/formats.ts';
import { compileExpression, EvaluationError, type ExpressionLimits } from '#shared/data/jsonata.ts';
import { parquetWriter, readParquet } from '#shared/data/parquet.ts';
import { type RecordSchemaSpec, resolveRecordSchema } from '#shared/data/record-schemas.ts';
import { applyTransform, Rejections } from '#shared/data/record-transform.ts';
import {
  headObject,
  readObject,
  readRange,
  type S3ObjectAddress,
  S3ObjectWriter,
  s3ObjectTarget,
} from '#shared/data/s3-objects.ts';
import {
  MysqlConnection,
  type ConnectionOptions as MysqlConnectionOptions,
} from '#shared/sql/mysql-connection.ts';
import { type ConnectionOptions, PostgresConnection } from '#shared/sql/postgres-connection.ts';
import { exportMysql } from './export-mysql.ts';
import type { ExportContext } from './export-parts.ts';
import { exportPostgres } from './export-postgres.ts';
import { loadMysql } from './load-mysql.ts';
import type { LoadContext, LoadInput } from './load-parts.ts';
import { loadPostgres } from './load-postgres.ts';
import {
  type ExportMysqlInput,
  type ExportMysqlOutput,
  type ExportPostgresInput,
  type ExportPostgresOutput,
  type LoadMysqlInput,
  type LoadMysqlOutput,
  type LoadPostgresInput,
  type LoadPostgresOutput,
  MAX_LISTED_REJECTIONS,
  type ObjectSource,
  RECORD_MODELS,
  type TestExpressionInput,
  type TestExpressionOutput,
  type TransformRecordsInput,
  type TransformRecordsOutput,
  type WrittenObjectInfo,
} from './models.ts';

/** What the client needs from the settings. */
export interface TransformOptions {
  bucket: string;
  allowedBuckets: readonly string[];
  outputPrefix: string;
  forcePathStyle: boolean;
  s3TimeoutMs: number;
  limits: ExpressionLimits;
  maxRecordBytes: number;
  inlineMaxBytes: number;
  maxOutputBytes: number;
  partRecords: number;
  manifestTable: string;
  /** The bulk load's database; undefined: none configured (load-postgres answers a ConfigurationError). */
  postgres: ConnectionOptions | undefined;
  /** load-mysql's parts and manifest table (TRANSFORM_MYSQL_*). */
  mysqlPartRecords: number;
  mysqlManifestTable: string;
  /** load-mysql's database; undefined: none configured (load-mysql answers a ConfigurationError). */
  mysql: MysqlConnectionOptions | undefined;
}

/** Time kept back to write what is done and answer, once records stop being taken. */
const FINISH_RESERVE_MS = 3_000;

/** The format an object's key implies: `.csv`, `.parquet`, else NDJSON. */
export function formatOfKey(key: string): RecordFormat {
  if (/\.csv$/i.test(key)) return 'csv';
  if (/\.parquet$/i.test(key)) return 'parquet';
  return 'ndjson';
}

/**
 * Record transforms on parsed input (the runtime parsed it once). The SDK client is a parameter, so a test
 * can hand in one that fails on purpose.
 *
 * @example
 * ```ts
 * const client = await TransformClient.create(options);
 * await client.transformRecords({ expression: '{ "id": id }', records: [{ id: 1 }] }, 'corr-1');
 * ```
 */
export class TransformClient {
  readonly #s3: S3Client;
  readonly #options: TransformOptions;
  readonly #allowed: ReadonlySet<string>;
  readonly #postgres: PostgresConnection | undefined;
  readonly #mysql: MysqlConnection | undefined;

  constructor(s3: S3Client, options: TransformOptions) {
    this.#s3 = s3;
    this.#options = options;
    this.#allowed = new Set([options.bucket, ...options.allowedBuckets]);
    this.#postgres = options.postgres === undefined ? undefined : new PostgresConnection(options.postgres);
    this.#mysql = options.mysql === undefined ? undefined : new MysqlConnection(options.mysql);
  }

  /** Copies an object's records into a PostgreSQL table, part by part, resumable (load-postgres.ts). */
  async loadPostgres(
    input: LoadPostgresInput,
    timeLeft: () => number = remainingTimeMs,
  ): Promise<LoadPostgresOutput> {
    const { manifestTable, partRecords } = this.#options;
    const context = await this.#loadContext(input, { manifestTable, partRecords }, timeLeft);
    return loadPostgres(input, this.#postgres, context);
  }

  /** Inserts an object's records into a MySQL/MariaDB table, part by part, resumable (load-mysql.ts). */
  async loadMysql(input: LoadMysqlInput, timeLeft: () => number = remainingTimeMs): Promise<LoadMysqlOutput> {
    const { mysqlManifestTable: manifestTable, mysqlPartRecords: partRecords } = this.#options;
    const context = await this.#loadContext(input, { manifestTable, partRecords }, timeLeft);
    return loadMysql(input, this.#mysql, context);
  }

  /** What a bulk load reads and where its manifest goes (load-parts.ts). */
  async #loadContext(
    input: LoadInput,
    target: { manifestTable: string; partRecords: number },
    timeLeft: () => number,
  ): Promise<LoadContext> {
    const parts = {
      expression:
        input.expression === undefined
          ? undefined
          : compileExpression(input.expression, this.#options.limits),
      inputSchema: await this.#schema(input.inputSchema, '/inputSchema'),
      outputSchema: await this.#schema(input.outputSchema, '/outputSchema'),
      bindings: input.bindings,
    };
    return {
      ...target,
      outputPrefix: this.#options.outputPrefix,
      source: this.address(input.source.bucket, input.source.key),
      // A load writes numbers to a database: a number a double cannot hold is kept as its text.
      items: () => this.#readSourceBatches(input.source, { exactNumbers: true }),
      parts,
      manifestAddress: (key) => this.address(input.source.bucket, key),
      timeLeft: () => timeLeft(),
    };
  }

  /** Writes a PostgreSQL table to S3 as parts in key order, resumable by cursor (export-postgres.ts). */
  exportPostgres(
    input: ExportPostgresInput,
    timeLeft: () => number = remainingTimeMs,
  ): Promise<ExportPostgresOutput> {
    return exportPostgres(input, this.#postgres, this.#exportContext(this.#options.partRecords, timeLeft));
  }

  /** Writes a MySQL/MariaDB table to S3 as parts in key order, resumable by cursor (export-mysql.ts). */
  exportMysql(input: ExportMysqlInput, timeLeft: () => number = remainingTimeMs): Promise<ExportMysqlOutput> {
    const context = this.#exportContext(this.#options.mysqlPartRecords, timeLeft);
    return exportMysql(input, this.#mysql, this.#options.mysql?.maxRows ?? Number.POSITIVE_INFINITY, context);
  }

  /** Where an export writes its parts (export-parts.ts). */
  #exportContext(partRows: number, timeLeft: () => number): ExportContext {
    return {
      partRows,
      outputPrefix: this.#options.outputPrefix,
      address: (key) => this.address(undefined, key),
      timeLeft: () => timeLeft(),
    };
  }

  /** Closes the database connection (tests; Lambda keeps it for the container's life). */
  async close(): Promise<void> {
    await this.#postgres?.close();
    await this.#mysql?.close();
  }

  /** Builds the S3 client the kit's way (traced when tracing is on). */
  static async create(options: TransformOptions): Promise<TransformClient> {
    const s3 = await createAwsClient(S3Client, 'transform', {
      connectionTimeoutMs: Math.min(options.s3TimeoutMs, 3_000),
      requestTimeoutMs: options.s3TimeoutMs,
      maxAttempts: 3,
      extra: { forcePathStyle: options.forcePathStyle },
    });
    return new TransformClient(s3, options);
  }

  /** Compiles an expression (a syntax error is a ValidationError with its position) and tries it on a sample. */
  async testExpression(input: TestExpressionInput): Promise<TestExpressionOutput> {
    const expression = compileExpression(input.expression, this.#options.limits);
    if (input.sample === undefined) return { valid: true };
    try {
      const result = await expression.evaluate(input.sample, input.bindings);
      return result === undefined ? { valid: true } : { valid: true, result };
    } catch (error) {
      if (!(error instanceof EvaluationError)) throw error;
      const position = error.position === undefined ? {} : { position: error.position };
      return { valid: true, error: { code: error.code, message: error.message, ...position } };
    }
  }

  /** Maps every record; see the module comment. */
  async transformRecords(
    input: TransformRecordsInput,
    correlationId: string,
  ): Promise<TransformRecordsOutput> {
    const parts = {
      expression: compileExpression(input.expression, this.#options.limits),
      inputSchema: await this.#schema(input.inputSchema, '/inputSchema'),
      outputSchema: await this.#schema(input.outputSchema, '/outputSchema'),
      bindings: input.bindings,
    };
    // NDJSON numbers a double cannot hold are kept as their text, as in the loads (README, "Inputs").
    const items = Array.isArray(input.records)
      ? inlineItems(input.records)
      : this.#readSource(input.records, { exactNumbers: true });
    const sink = new OutputSink(this, input.output, `${safeName(correlationId)}-${requestDigest(input)}`);
    const rejections = new Rejections(MAX_LISTED_REJECTIONS);
    let read = 0;
    let skipped = 0;
    try {
      for await (const item of items) {
        const left = remainingTimeMs() - FINISH_RESERVE_MS;
        if (left <= 0) {
          throw new TimeoutError(
            `The invocation's time ran out after ${read} records; split the input or raise the function's timeout`,
          );
        }
        read += 1;
        const outcome = await applyTransform(parts, item, left);
        if ('rejection' in outcome) rejections.add(outcome.rejection);
        else if (outcome.records.length === 0) skipped += 1;
        else for (const record of outcome.records) await sink.write(record);
      }
      const finished = await sink.finish();
      return {
        read,
        written: sink.count,
        skipped,
        rejectedCount: rejections.count,
        rejected: rejections.listed,
        ...finished,
      };
    } catch (error) {
      await sink.abort();
      throw error;
    }
  }

  /** Proves the credentials, the endpoint and the bucket for `health` (HeadBucket, s3:ListBucket). */
  async ping(): Promise<void> {
    const bucket = this.#options.bucket;
    await awsCall(
      { ...s3ObjectTarget('HeadBucket', bucket), timeoutMs: this.#options.s3TimeoutMs },
      (abortSignal) => this.#s3.send(new HeadBucketCommand({ Bucket: bucket }), { abortSignal }),
    );
  }

  /** The address of an object in an allowed bucket. */
  address(bucket: string | undefined, key: string): S3ObjectAddress {
    const chosen = bucket ?? this.#options.bucket;
    if (!this.#allowed.has(chosen)) {
      throw new ForbiddenError(
        `Bucket "${chosen}" is not one of the allowed buckets (TRANSFORM_ALLOWED_BUCKETS)`,
      );
    }
    return {
      s3: this.#s3,
      bucket: chosen,
      key,
      timeoutMs: this.#options.s3TimeoutMs,
      target: (action) => s3ObjectTarget(action, chosen, key),
    };
  }

  get options(): TransformOptions {
    return this.#options;
  }

  async #schema(spec: RecordSchemaSpec | undefined, pointer: string): Promise<z.ZodType | undefined> {
    return spec === undefined ? undefined : await resolveRecordSchema(spec, RECORD_MODELS, pointer);
  }

  async *#readSource(source: ObjectSource, read: { exactNumbers?: boolean } = {}): AsyncGenerator<ReadItem> {
    for await (const batch of this.#readSourceBatches(source, read)) yield* batch;
  }

  /**
   * The source's items an array at a time, as the format's reader parsed them (no await per record), the
   * next S3 range read while the one before is parsed.
   */
  #readSourceBatches(
    source: ObjectSource,
    read: { exactNumbers?: boolean } = {},
  ): AsyncGenerator<ReadItem[]> {
    const address = this.address(source.bucket, source.key);
    const format = source.format ?? formatOfKey(source.key);
    const options = { maxRecordBytes: this.#options.maxRecordBytes, ...read };
    switch (format) {
      case 'csv':
        return readCsvBatches(readObject(address, { prefetch: true }), options);
      case 'ndjson':
        return readNdjsonBatches(readObject(address, { prefetch: true }), options);
      default:
        return singly(readParquetObject(address));
    }
  }
}

/** A Parquet object read through ranged GETs: its footer first, then one row group at a time. */
async function* readParquetObject(address: S3ObjectAddress): AsyncGenerator<ReadItem> {
  const { size } = await headObject(address);
  yield* readParquet({ byteLength: size, read: (start, end) => readRange(address, start, end) });
}

async function* singly(items: AsyncGenerator<ReadItem>): AsyncGenerator<ReadItem[]> {
  for await (const item of items) yield [item];
}

async function* inlineItems(records: readonly unknown[]): AsyncGenerator<ReadItem> {
  for (const [index, record] of records.entries()) yield { index, record };
}

/**
 * Where output records go: to the object the request names, or inline until they outgrow
 * `inlineMaxBytes`, then to an object named after the request (claim check; see {@link requestDigest}).
 */
class OutputSink {
  readonly #client: TransformClient;
  readonly #requested: TransformRecordsInput['output'];
  readonly #name: string;
  #inline: unknown[] | undefined = [];
  #inlineBytes = 0;
  #writer: { object: S3ObjectWriter; records: RecordWriter; format: RecordFormat } | undefined;
  count = 0;

  constructor(client: TransformClient, requested: TransformRecordsInput['output'], name: string) {
    this.#client = client;
    this.#requested = requested;
    this.#name = name;
    if (requested !== undefined) this.#inline = undefined;
  }

  async write(record: unknown): Promise<void> {
    this.count += 1;
    if (this.#inline !== undefined) {
      this.#inlineBytes += Buffer.byteLength(JSON.stringify(record) ?? 'null') + 1;
      this.#inline.push(record);
      if (this.#inlineBytes <= this.#client.options.inlineMaxBytes) return;
      // Too large for an answer: everything so far goes to the object, and the rest follows.
      const buffered = this.#inline;
      this.#inline = undefined;
      const writer = this.#open();
      for (const earlier of buffered) await writer.records.write(earlier);
      return;
    }
    const writer = this.#open();
    await writer.records.write(record);
    this.#checkSize(writer.object);
  }

  /** The output may not pass TRANSFORM_MAX_OUTPUT_BYTES (checked as batches reach the object). */
  #checkSize(object: S3ObjectWriter): void {
    const limit = this.#client.options.maxOutputBytes;
    if (object.size > limit) {
      throw new PayloadTooLargeError(limit, {
        message: `The output exceeds TRANSFORM_MAX_OUTPUT_BYTES (${limit} bytes)`,
      });
    }
  }

  async finish(): Promise<{ records: unknown[] } | { object: WrittenObjectInfo }> {
    if (this.#inline !== undefined) return { records: this.#inline };
    const writer = this.#open();
    await writer.records.finish();
    this.#checkSize(writer.object);
    const written = await writer.object.finish();
    const etag = written.etag === undefined ? {} : { etag: written.etag };
    return {
      object: {
        bucket: written.bucket,
        key: written.key,
        format: writer.format,
        size: written.size,
        parts: written.parts,
        ...etag,
      },
    };
  }

  async abort(): Promise<void> {
    await this.#writer?.object.abort();
  }

  #open(): { object: S3ObjectWriter; records: RecordWriter; format: RecordFormat } {
    if (this.#writer !== undefined) return this.#writer;
    const format = this.#requested?.format ?? 'ndjson';
    const key = this.#requested?.key ?? `${this.#client.options.outputPrefix}${this.#name}.${format}`;
    const address = this.#client.address(this.#requested?.bucket, key);
    const object = new S3ObjectWriter(address, { contentType: FORMAT_CONTENT_TYPES[format] });
    const sink = { write: (chunk: Buffer | string) => object.write(chunk) };
    let records: RecordWriter;
    if (format === 'csv') records = csvWriter(sink);
    else if (format === 'ndjson') records = ndjsonWriter(sink);
    else records = parquetWriter(sink);
    this.#writer = { object, records, format };
    return this.#writer;
  }
}

/**
 * 16 hex digits of the SHA-256 of a request's input: with the correlation id, the claim-check object's name.
 * A retry (the same correlation id, the same input) writes the same object again; two different requests
 * sharing a correlation id (parallel steps of one workflow, which Lambda Managed Instances may run at once
 * in one environment) write one object each instead of overwriting one another's output.
 */
function requestDigest(input: TransformRecordsInput): string {
  const text = JSON.stringify(input, (_key, value: unknown) =>
    typeof value === 'bigint' ? value.toString() : value,
  );
  return createHash('sha256').update(text).digest('hex').slice(0, 16);
}

/** A correlation id as a key segment: anything but letters, digits, `-`, `_` and `.` becomes `_`. */
function safeName(text: string): string {
  return text.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 120) || 'output';
}
