/**
 * The Data Transform connector's models: each operation's input and output (every field described, inputs
 * refusing unknown fields) and the record models a request may name instead of giving a JSON Schema.
 */
import * as z from 'zod';
import { RECORD_FORMATS } from '#shared/data/formats.ts';
import { type RecordModels, RecordSchemaSpec } from '#shared/data/record-schemas.ts';
import { BucketName, ObjectKey } from '#shared/models/object-storage.ts';
import { ROUNDED_WHOLE_NUMBER, roundedIntegerIssue } from '#shared/sql/values.ts';

/** The most records a request may carry inline (larger inputs travel by claim check). */
export const MAX_INLINE_RECORDS = 10_000;
/** Rejections listed in an answer; `rejectedCount` counts them all. */
export const MAX_LISTED_REJECTIONS = 100;

/** An order as the examples, the sample data and the workflows exchange it. */
export const OrderV1 = z.object({
  id: z.union([z.string().min(1), z.number().int()]),
  customer: z.string().min(1),
  total: z.coerce.number().nonnegative(),
  currency: z.string().regex(/^[A-Z]{3}$/, 'expected an ISO 4217 code such as "EUR"'),
  createdAt: z.string().optional(),
});

/** An order reduced to what a warehouse table keeps. */
export const OrderRowV1 = z.strictObject({
  order_id: z.string().min(1),
  customer: z.string().min(1),
  total_cents: z.number().int().nonnegative(),
  currency: z.string().regex(/^[A-Z]{3}$/),
});

/** The models a request names with `{ "model": "<name>" }`. */
export const RECORD_MODELS: RecordModels = { 'order.v1': OrderV1, 'order-row.v1': OrderRowV1 };

const Expression = z
  .string()
  .min(1)
  .max(20_000)
  .describe(
    'A JSONata expression evaluated once per record, the record as its input (`$`), e.g. "{ \\"id\\": $string(id), \\"name\\": $uppercase(name) }"',
  );

const FormatName = z.enum(RECORD_FORMATS);

/** Records in an object: the claim check of a large input. */
export const ObjectSource = z.strictObject({
  key: ObjectKey.describe('The object holding the records, e.g. "incoming/orders.ndjson"'),
  bucket: BucketName.optional().describe('Its bucket; default TRANSFORM_BUCKET'),
  format: FormatName.optional().describe(
    'How the records are written; default from the key (.csv, .parquet), else ndjson',
  ),
});
export type ObjectSource = z.output<typeof ObjectSource>;

const Bindings = z
  .record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,63}$/), z.unknown())
  .describe('Values the expression reads as variables: `{ "rate": 1.1 }` is `$rate`, e.g. { "rate": 1.1 }');

/** RFC 6901 tokens back to the path segments zod reports (`~1` is `/`, `~0` is `~`). */
const pathOf = (pointer: string): string[] =>
  pointer
    .split('/')
    .slice(1)
    .map((token) => token.replaceAll('~1', '/').replaceAll('~0', '~'));

/**
 * Inline records: an integer beyond ±(2^53 - 1) in one was already rounded when the request was parsed
 * (records read from an object keep every digit), so it is refused, naming the first such field.
 */
const InlineRecords = z
  .array(z.unknown())
  .max(MAX_INLINE_RECORDS)
  .superRefine((records, context) => {
    for (const [index, record] of records.entries()) {
      const issue = roundedIntegerIssue(record, '');
      if (issue === undefined) continue;
      context.addIssue({
        code: 'custom',
        path: [index, ...pathOf(issue.pointer)],
        message: ROUNDED_WHOLE_NUMBER,
      });
      return;
    }
  });

export const TransformRecordsInput = z.strictObject({
  expression: Expression,
  records: z
    .union([InlineRecords, ObjectSource])
    .describe(
      `The records: up to ${MAX_INLINE_RECORDS} inline, or an object holding them (claim check), e.g. [{"id":1,"name":"Ada Lovelace"}]. ` +
        'An inline integer beyond ±(2^53 - 1) (up to ±2^64) is refused with a 400 naming its field, since JSON has ' +
        'already rounded it: send it as its decimal text ("9007199254740993"), or put the records in an object, whose numbers keep every digit',
    ),
  inputSchema: RecordSchemaSpec.optional().describe(
    'Schema every input record must match before the expression runs; a record that fails is rejected',
  ),
  outputSchema: RecordSchemaSpec.optional().describe(
    'Schema every output record must match; a record whose result fails is rejected',
  ),
  bindings: Bindings.optional(),
  output: z
    .strictObject({
      key: ObjectKey.optional().describe(
        'The object to write; default <TRANSFORM_OUTPUT_PREFIX><correlation id>-<input digest>.<format>',
      ),
      bucket: BucketName.optional().describe('Its bucket; default TRANSFORM_BUCKET'),
      format: FormatName.optional().describe('Format of the object; default ndjson'),
    })
    .optional()
    .describe(
      'Write the output records to an object (claim check) instead of answering them; without it they are answered inline unless larger than TRANSFORM_INLINE_MAX_BYTES',
    ),
});
export type TransformRecordsInput = z.output<typeof TransformRecordsInput>;

const Problem = z.object({
  pointer: z.string().describe('JSON pointer into the record, "" for the record itself'),
  message: z.string().describe('What is wrong there'),
});

export const Rejection = z.object({
  index: z.number().int().nonnegative().describe('0-based index of the input record'),
  stage: z
    .enum(['read', 'input', 'expression', 'output'])
    .describe(
      'read: unreadable; input: failed inputSchema; expression: evaluation failed; output: failed outputSchema',
    ),
  message: z.string().describe('Why, without the record'),
  problems: z.array(Problem).optional().describe('The schema problems, at most five'),
});
export type Rejection = z.output<typeof Rejection>;

export const WrittenObjectInfo = z.object({
  bucket: z.string().describe('Bucket of the output object'),
  key: z.string().describe('Key of the output object'),
  format: FormatName.describe('Its format'),
  size: z.number().int().nonnegative().describe('Its size in bytes'),
  etag: z.string().optional().describe('Its entity tag'),
  parts: z.number().int().positive().describe('Parts it was uploaded in'),
});
export type WrittenObjectInfo = z.output<typeof WrittenObjectInfo>;

export const TransformRecordsOutput = z.object({
  read: z.number().int().nonnegative().describe('Input records read (rejected ones included)'),
  written: z.number().int().nonnegative().describe('Output records produced'),
  skipped: z
    .number()
    .int()
    .nonnegative()
    .describe('Input records for which the expression answered nothing (a filter), so no output'),
  rejectedCount: z.number().int().nonnegative().describe('Input records rejected, all stages'),
  rejected: z
    .array(Rejection)
    .describe(`The first ${MAX_LISTED_REJECTIONS} rejections, by index; the other records were kept`),
  records: z.array(z.unknown()).optional().describe('The output records, when answered inline'),
  object: WrittenObjectInfo.optional().describe('The output object, when written to S3 (claim check)'),
});
export type TransformRecordsOutput = z.output<typeof TransformRecordsOutput>;

export const TestExpressionInput = z.strictObject({
  expression: Expression,
  sample: z
    .unknown()
    .optional()
    .describe('A record to evaluate the expression on, e.g. {"id":1,"name":"Ada Lovelace"}'),
  bindings: Bindings.optional(),
});
export type TestExpressionInput = z.output<typeof TestExpressionInput>;

export const TestExpressionOutput = z.object({
  valid: z.literal(true).describe('The expression compiled (a syntax error is a 400 naming the position)'),
  result: z.unknown().optional().describe('What it answered for the sample; absent when it matched nothing'),
  error: z
    .object({
      code: z.string().describe('JSONata error code, e.g. "T2002", or result_too_large'),
      message: z.string().describe('The message with the position it points at'),
      position: z.number().int().optional().describe('Character offset in the expression'),
    })
    .optional()
    .describe('Why evaluating the sample failed, when it did'),
});
export type TestExpressionOutput = z.output<typeof TestExpressionOutput>;

const Identifier = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'expected an SQL identifier: letters, digits and _, at most 63');

export const LoadPostgresInput = z.strictObject({
  source: ObjectSource.describe('The object whose records are loaded, e.g. {"key":"incoming/orders.csv"}'),
  table: z
    .string()
    .regex(
      /^[A-Za-z_][A-Za-z0-9_]{0,62}(?:\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/,
      'expected table or schema.table (letters, digits, _)',
    )
    .describe('The table rows are copied into (it must exist), e.g. "orders"'),
  columns: z
    .array(Identifier)
    .min(1)
    .max(1_600)
    .optional()
    .describe("The table's columns to fill, in order; default: the first output record's keys"),
  expression: Expression.optional().describe(
    'A JSONata expression mapping each record to a row (see transform-records); default: the record as it is',
  ),
  inputSchema: RecordSchemaSpec.optional().describe('Schema every input record must match'),
  outputSchema: RecordSchemaSpec.optional().describe('Schema every row must match before it is copied'),
  bindings: Bindings.optional(),
  loadId: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/)
    .optional()
    .describe(
      'Names the load and its parts; the same id resumes it (parts already loaded are skipped). Default: derived from the bucket, key, entity tag and table',
    ),
  partRecords: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .describe('Input records per part (one COPY, one transaction); default TRANSFORM_PG_PART_RECORDS'),
});
export type LoadPostgresInput = z.output<typeof LoadPostgresInput>;

export const LoadPostgresOutput = z.object({
  loadId: z.string().describe('The load id: pass it again (with the same input) to resume'),
  done: z
    .boolean()
    .describe('Every part is loaded; false: the time ran out, call again with loadId to resume'),
  partsLoaded: z.number().int().nonnegative().describe('Parts copied by this call'),
  partsSkipped: z.number().int().nonnegative().describe('Parts an earlier call had loaded already'),
  rowsLoaded: z.number().int().nonnegative().describe('Rows copied by this call'),
  read: z.number().int().nonnegative().describe('Input records read by this call (skipped parts included)'),
  rejectedCount: z.number().int().nonnegative().describe('Records rejected by this call, all stages'),
  rejected: z.array(Rejection).describe(`The first ${MAX_LISTED_REJECTIONS} rejections, by input index`),
  manifest: z
    .object({ bucket: z.string(), key: z.string() })
    .optional()
    .describe('The manifest object (every part with its rows), written once the load is done'),
});
export type LoadPostgresOutput = z.output<typeof LoadPostgresOutput>;

export const LoadMysqlInput = LoadPostgresInput.extend({
  table: z
    .string()
    .regex(
      /^[A-Za-z_][A-Za-z0-9_]{0,63}(?:\.[A-Za-z_][A-Za-z0-9_]{0,63})?$/,
      'expected table or database.table (letters, digits, _)',
    )
    .describe('The table rows are inserted into (it must exist), e.g. "orders"'),
  outputSchema: RecordSchemaSpec.optional().describe('Schema every row must match before it is inserted'),
  partRecords: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .describe(
      'Input records per part (one transaction of multi-row INSERTs); default TRANSFORM_MYSQL_PART_RECORDS',
    ),
});
export type LoadMysqlInput = z.output<typeof LoadMysqlInput>;

export const LoadMysqlOutput = LoadPostgresOutput.extend({
  partsLoaded: z.number().int().nonnegative().describe('Parts inserted by this call'),
  rowsLoaded: z.number().int().nonnegative().describe('Rows inserted by this call'),
});
export type LoadMysqlOutput = z.output<typeof LoadMysqlOutput>;

export const ExportPostgresInput = z.strictObject({
  table: LoadPostgresInput.shape.table.describe('The table to export, e.g. "orders"'),
  keyColumn: Identifier.describe(
    'A unique, ordered column parts are cut by (keyset pagination), e.g. "order_id"',
  ),
  columns: z.array(Identifier).min(1).max(1_600).optional().describe('The columns to export; default all'),
  format: FormatName.optional().describe('Format of the parts; default ndjson'),
  exportId: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,100}$/)
    .describe(
      'Names the export: parts are <TRANSFORM_OUTPUT_PREFIX>exports/<exportId>/part-00001.<format>, e.g. "orders-2026-12-06"',
    ),
  partRows: z
    .number()
    .int()
    .min(1)
    .max(1_000_000)
    .optional()
    .describe('Rows per part; default TRANSFORM_PG_PART_RECORDS'),
  cursor: z
    .strictObject({
      after: z.union([z.string(), z.number()]).describe('The last key exported'),
      parts: z.number().int().nonnegative().describe('Parts written so far'),
      rows: z.number().int().nonnegative().describe('Rows written so far'),
    })
    .optional()
    .describe('Where to resume: the `cursor` an earlier call answered with done: false'),
});
export type ExportPostgresInput = z.output<typeof ExportPostgresInput>;

export const ExportPostgresOutput = z.object({
  done: z.boolean().describe('Every row is exported and the manifest written; false: call again with cursor'),
  parts: z.number().int().nonnegative().describe('Parts written so far, this call and earlier ones'),
  rows: z.number().int().nonnegative().describe('Rows written so far'),
  cursor: ExportPostgresInput.shape.cursor.describe('Pass it back to resume, when done is false'),
  manifest: z
    .object({ bucket: z.string(), key: z.string() })
    .optional()
    .describe('The manifest object listing every part, once done'),
});
export type ExportPostgresOutput = z.output<typeof ExportPostgresOutput>;

export const ExportMysqlInput = ExportPostgresInput.extend({
  table: LoadMysqlInput.shape.table.describe('The table to export, e.g. "orders" or "shop.orders"'),
  partRows: ExportPostgresInput.shape.partRows.describe(
    'Rows per part (at most MYSQL_MAX_ROWS); default TRANSFORM_MYSQL_PART_RECORDS',
  ),
});
export type ExportMysqlInput = z.output<typeof ExportMysqlInput>;

export const ExportMysqlOutput = ExportPostgresOutput;
export type ExportMysqlOutput = z.output<typeof ExportMysqlOutput>;
