/**
 * Parquet records with hyparquet (reader) and hyparquet-writer (writer): pure JavaScript, no native
 * binary, maintained (both released through 2026), and built for incremental work: the reader fetches
 * byte ranges from a random-access source (an S3 object through ranged GETs) one row group at a time, and
 * the writer emits one row group at a time to a sink that may be asynchronous. Memory is bounded by one
 * row group (the writer's is `rowGroupRows` records; a file's own row groups bound the reader's).
 *
 * Types: the writer infers the schema from the first row group (numbers are DOUBLE, since JSON has one
 * number type; strings UTF8; booleans; objects and arrays JSON); keys first seen later are dropped, as in
 * CSV. The reader answers JSON values: INT64 as a number when it is a safe integer, else its decimal
 * text; timestamps as ISO 8601 text; binary as base64.
 */
import { ValidationError } from '@circle-core/core';
import { type AsyncBuffer, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { ByteWriter, ParquetWriter, schemaFromColumnData } from 'hyparquet-writer';
import type { ByteSink, ReadItem, RecordWriter } from './formats.ts';

/** A random-access source: its length and a way to read any byte range. */
export interface RandomAccessSource {
  byteLength: number;
  read(start: number, end: number): Promise<Buffer>;
}

/** A value hyparquet decoded, as JSON. */
export function toJsonValue(value: unknown): unknown {
  if (value === undefined || value === null) return null;
  if (typeof value === 'bigint')
    return Number.isSafeInteger(Number(value)) ? Number(value) : value.toString();
  // JSON has no NaN or infinities: their text, as the NDJSON and CSV writers carry them (loads write it back).
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (Array.isArray(value)) return value.map(toJsonValue);
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = toJsonValue(item);
    return out;
  }
  return value;
}

/**
 * Parquet records, one row group at a time; a file hyparquet cannot read is a ValidationError.
 *
 * @example
 * ```ts
 * for await (const item of readParquet({ byteLength: size, read: (s, e) => readRange(address, s, e) })) rows.push(item);
 * ```
 */
export async function* readParquet(source: RandomAccessSource): AsyncGenerator<ReadItem> {
  const file: AsyncBuffer = {
    byteLength: source.byteLength,
    slice: async (start, end) => {
      const bytes = await source.read(start, end ?? source.byteLength);
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
  let metadata: Awaited<ReturnType<typeof parquetMetadataAsync>>;
  try {
    metadata = await parquetMetadataAsync(file);
  } catch (error) {
    throw new ValidationError(`Not a readable Parquet file: ${(error as Error).message}`.slice(0, 300));
  }
  let index = 0;
  for (const group of metadata.row_groups) {
    const rows = Number(group.num_rows);
    const records = await parquetReadObjects({ file, metadata, rowStart: index, rowEnd: index + rows });
    for (const record of records) yield { index: index++, record: toJsonValue(record) };
  }
}

/** The default records per written row group: bounded memory, groups large enough to compress well. */
export const DEFAULT_ROW_GROUP_ROWS = 10_000;

/**
 * A Parquet writer to a byte sink: each row group is encoded, then handed to the sink (awaited) before the
 * next is taken.
 *
 * @example
 * ```ts
 * const writer = parquetWriter({ write: (chunk) => object.write(chunk) });
 * await writer.write({ id: 1, name: 'Ada' });
 * await writer.finish();
 * ```
 */
export function parquetWriter(
  sink: ByteSink,
  options: { columns?: readonly string[]; rowGroupRows?: number } = {},
): RecordWriter {
  const groupRows = options.rowGroupRows ?? DEFAULT_ROW_GROUP_ROWS;
  const bytes = new ByteWriter();
  let columns = options.columns === undefined ? undefined : [...options.columns];
  let batch: Record<string, unknown>[] = [];
  let parquet: ParquetWriter | undefined;
  const drain = async (): Promise<void> => {
    if (bytes.index === 0) return;
    const chunk = Buffer.from(new Uint8Array(bytes.buffer, 0, bytes.index));
    bytes.index = 0;
    await sink.write(Buffer.from(chunk));
  };
  const writeGroup = async (): Promise<void> => {
    const names = columns ?? [];
    const columnData = names.map((name) => ({
      name,
      data: batch.map((row) => cell(row[name])) as unknown as string[],
    }));
    batch = [];
    try {
      if (parquet === undefined) {
        const schema = schemaFromColumnData({ columnData }).map((element) =>
          (element.type === 'INT32' || element.type === 'INT64') && element.converted_type === undefined
            ? { ...element, type: 'DOUBLE' as const }
            : element,
        );
        parquet = new ParquetWriter({ writer: bytes, schema });
      }
      await parquet.write({ columnData, rowGroupSize: columnData[0]?.data.length ?? 0 });
    } catch (error) {
      throw new ValidationError(
        `The records do not fit the Parquet column types set by the first ${groupRows} records: ${(error as Error).message}`.slice(
          0,
          400,
        ),
      );
    }
    await drain();
  };
  return {
    async write(record) {
      const row =
        typeof record === 'object' && record !== null && !Array.isArray(record)
          ? (record as Record<string, unknown>)
          : { value: record };
      columns ??= Object.keys(row);
      batch.push(row);
      if (batch.length >= groupRows) await writeGroup();
    },
    async finish() {
      if (columns === undefined) return;
      if (batch.length > 0 || parquet === undefined) await writeGroup();
      parquet?.finish();
      await drain();
    },
  };
}

/** A JSON value as a Parquet cell: numbers as doubles, null for absent. */
function cell(value: unknown): unknown {
  if (value === undefined) return null;
  return value;
}
