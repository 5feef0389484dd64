/**
 * Streaming record readers and writers: NDJSON (one JSON value per line), CSV (`csv-parse` and
 * `csv-stringify`, RFC 4180 with a header row) and Parquet (`hyparquet` / `hyparquet-writer`, in
 * `parquet.ts`). Readers take the bytes as an async iterable of chunks and yield one item per record
 * with its 0-based index; a record that cannot be read (a malformed line, a row with the wrong number of
 * fields) is yielded as an error with its index and the reader goes on. Writers turn records into chunks
 * for a sink in batches. Memory stays bounded by one chunk plus one record (one batch when writing).
 */
import { Readable } from 'node:stream';
import { parseJson } from '@circle-core/core';
import { parse as parseCsv } from 'csv-parse';
import { stringify as stringifyCsv } from 'csv-stringify/sync';

/** The formats records travel in. */
export const RECORD_FORMATS = ['ndjson', 'csv', 'parquet'] as const;
export type RecordFormat = (typeof RECORD_FORMATS)[number];

/** Media type of each format, for the objects written. */
export const FORMAT_CONTENT_TYPES: Readonly<Record<RecordFormat, string>> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

/** One record read, or why the record at that index could not be read. */
export type ReadItem = { index: number; record: unknown } | { index: number; error: string };

/** Bounds of a reader. */
export interface ReadOptions {
  /** The longest line (NDJSON) or record (CSV) in bytes; a longer one is an error item. */
  maxRecordBytes?: number;
}

/** Default longest record: 1 MiB. */
export const DEFAULT_MAX_RECORD_BYTES = 1_048_576;

function readError(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).slice(0, 300);
}

/**
 * NDJSON records from byte chunks; blank lines are skipped and not counted.
 *
 * @example
 * ```ts
 * for await (const item of readNdjson(readObject(address))) if ('record' in item) rows.push(item.record);
 * ```
 */
export async function* readNdjson(
  chunks: AsyncIterable<Uint8Array>,
  options: ReadOptions = {},
): AsyncGenerator<ReadItem> {
  const maxBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  let index = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  function* line(bytes: Buffer): Generator<ReadItem> {
    if (overlong) {
      overlong = false;
      yield { index: index++, error: `the line is longer than ${maxBytes} bytes` };
      return;
    }
    const text = bytes.toString('utf8').trim();
    if (text === '') return;
    try {
      yield { index, record: parseJson(text, 'line') };
    } catch (error) {
      yield { index, error: readError(error) };
    }
    index += 1;
  }
  for await (const raw of chunks) {
    let chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10)) {
      const head = chunk.subarray(0, newline);
      const whole = pending.length === 0 ? head : Buffer.concat([...pending, head]);
      pending = [];
      pendingBytes = 0;
      if (whole.length > maxBytes) overlong = true;
      yield* line(whole);
      chunk = chunk.subarray(newline + 1);
    }
    if (chunk.length === 0) continue;
    if (!overlong) {
      pending.push(Buffer.from(chunk));
      pendingBytes += chunk.length;
    }
    if (pendingBytes > maxBytes) {
      // Keep nothing of a line already too long: memory stays bounded whatever the input.
      overlong = true;
      pending = [];
      pendingBytes = 0;
    }
  }
  if (pending.length > 0 || overlong) yield* line(Buffer.concat(pending));
}

/**
 * CSV records (objects keyed by the header row) from byte chunks. Values are strings, as CSV has no types:
 * a schema with `z.coerce` or the expression (`$number(total)`) gives them theirs. A row with the wrong
 * number of fields, or an unclosed quote, is an error item; the rows after it are still read.
 *
 * @example
 * ```ts
 * for await (const item of readCsv(Readable.from([Buffer.from('id,name\n1,Ada\n')]))) console.log(item);
 * // { index: 0, record: { id: '1', name: 'Ada' } }
 * ```
 */
export async function* readCsv(
  chunks: AsyncIterable<Uint8Array>,
  options: ReadOptions & { delimiter?: string } = {},
): AsyncGenerator<ReadItem> {
  // A skipped row is reported with the number of rows parsed before it, so indexes count every data row.
  const skips: { after: number; error: string }[] = [];
  const parser = parseCsv({
    columns: true,
    bom: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    info: true,
    delimiter: options.delimiter ?? ',',
    max_record_size: options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    on_skip: (error) => {
      skips.push({ after: parser.info.records, error: readError(error) });
    },
  });
  const source = Readable.from(chunks);
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  let skipped = 0;
  function* skipsBefore(records: number): Generator<ReadItem> {
    while (skipped < skips.length && (skips[skipped]?.after ?? 0) < records) {
      const skip = skips[skipped] as { after: number; error: string };
      yield { index: skip.after + skipped, error: skip.error };
      skipped += 1;
    }
  }
  for await (const item of parser as AsyncIterable<{
    record: Record<string, string>;
    info: { records: number };
  }>) {
    yield* skipsBefore(item.info.records);
    yield { index: item.info.records - 1 + skipped, record: item.record };
  }
  yield* skipsBefore(Number.POSITIVE_INFINITY);
}

/** Where a writer puts its bytes; awaiting `write` is the back-pressure. */
export interface ByteSink {
  write(chunk: Buffer | string): Promise<void>;
}

/** A record writer of one format. */
export interface RecordWriter {
  /** Adds one record (buffered up to a batch). */
  write(record: unknown): Promise<void>;
  /** Writes what is buffered and the format's ending. */
  finish(): Promise<void>;
}

const BATCH_RECORDS = 1_000;

/**
 * NDJSON: one JSON text per line.
 *
 * @example
 * ```ts
 * const writer = ndjsonWriter(sink);
 * await writer.write({ id: 1 });
 * await writer.finish();
 * ```
 */
export function ndjsonWriter(sink: ByteSink): RecordWriter {
  let lines: string[] = [];
  const flush = async (): Promise<void> => {
    if (lines.length === 0) return;
    const text = `${lines.join('\n')}\n`;
    lines = [];
    await sink.write(text);
  };
  return {
    async write(record) {
      lines.push(JSON.stringify(record) ?? 'null');
      if (lines.length >= BATCH_RECORDS) await flush();
    },
    finish: flush,
  };
}

/**
 * CSV with a header row: the columns given, or the first record's keys. Objects and arrays in a cell are
 * written as their JSON text; keys absent from a record are empty cells, keys not in the columns dropped.
 *
 * @example
 * ```ts
 * const writer = csvWriter(sink, { columns: ['id', 'name'] });
 * ```
 */
export function csvWriter(
  sink: ByteSink,
  options: { columns?: readonly string[]; delimiter?: string } = {},
): RecordWriter {
  let columns = options.columns === undefined ? undefined : [...options.columns];
  let rows: Record<string, unknown>[] = [];
  let headerWritten = false;
  const flush = async (): Promise<void> => {
    if (rows.length === 0 && headerWritten) return;
    const text = stringifyCsv(rows, {
      header: !headerWritten,
      columns: columns ?? [],
      delimiter: options.delimiter ?? ',',
      cast: { object: (value) => JSON.stringify(value), boolean: (value) => String(value) },
    });
    headerWritten = true;
    rows = [];
    if (text !== '') await sink.write(text);
  };
  return {
    async write(record) {
      const row =
        typeof record === 'object' && record !== null && !Array.isArray(record)
          ? (record as Record<string, unknown>)
          : { value: record };
      columns ??= Object.keys(row);
      rows.push(row);
      if (rows.length >= BATCH_RECORDS) await flush();
    },
    async finish() {
      if (columns === undefined) return;
      await flush();
    },
  };
}
