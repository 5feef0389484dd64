/**
 * Streaming record readers and writers: NDJSON (one JSON value per line), CSV (`csv-parse` and
 * `csv-stringify`, RFC 4180 with a header row) and Parquet (`hyparquet` / `hyparquet-writer`, in
 * `parquet.ts`). Readers take the bytes as an async iterable of chunks and yield one item per record
 * with its 0-based index (the `...Batches` readers: arrays of them, as parsed); a record that cannot be
 * read (a malformed line, a row with the wrong number of fields) is yielded as an error with its index
 * and the reader goes on. Writers turn records into chunks for a sink in batches. Memory stays bounded
 * by one chunk plus one record (one batch when writing; one chunk's records when reading in batches).
 */
import { Readable } from 'node:stream';
import { parseJson } from '@circle-core/core';
import { parse as parseCsv } from 'csv-parse';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import { exactNumbers } from '../sql/values.ts';

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
  /**
   * NDJSON: a number a double cannot hold exactly (an integer beyond 2^53, more than 15 to 17 significant
   * digits) is read as its decimal text as written, not rounded (the Data Transform connector's loads).
   */
  exactNumbers?: boolean;
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
  for await (const batch of readNdjsonBatches(chunks, options)) yield* batch;
}

/**
 * {@link readNdjson}'s items as one array per chunk read (none when a chunk completes no line), for a
 * caller that would rather not await each record.
 *
 * @example
 * ```ts
 * for await (const batch of readNdjsonBatches(readObject(address))) for (const item of batch) take(item);
 * ```
 */
export async function* readNdjsonBatches(
  chunks: AsyncIterable<Uint8Array>,
  options: ReadOptions = {},
): AsyncGenerator<ReadItem[]> {
  const maxBytes = options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
  let index = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let overlong = false;
  let batch: ReadItem[] = [];
  function line(bytes: Buffer): void {
    if (overlong) {
      overlong = false;
      batch.push({ index: index++, error: `the line is longer than ${maxBytes} bytes` });
      return;
    }
    const text = bytes.toString('utf8').trim();
    if (text === '') return;
    try {
      const record = parseJson(text, 'line');
      batch.push({ index, record: options.exactNumbers === true ? exactNumbers(text, record) : record });
    } catch (error) {
      batch.push({ index, error: readError(error) });
    }
    index += 1;
  }
  /** The start of a line the next chunk ends. */
  function keep(chunk: Buffer): void {
    if (chunk.length === 0) return;
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
  for await (const raw of chunks) {
    let chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10)) {
      const head = chunk.subarray(0, newline);
      const whole = pending.length === 0 ? head : Buffer.concat([...pending, head]);
      pending = [];
      pendingBytes = 0;
      if (whole.length > maxBytes) overlong = true;
      line(whole);
      chunk = chunk.subarray(newline + 1);
    }
    if (batch.length > 0) {
      yield batch;
      batch = [];
    }
    keep(chunk);
  }
  if (pending.length > 0 || overlong) line(Buffer.concat(pending));
  if (batch.length > 0) yield batch;
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
  for await (const batch of readCsvBatches(chunks, options)) yield* batch;
}

/** Records the CSV parser may hold before its input is paused (one chunk's records may still exceed it). */
const CSV_BATCH_RECORDS = 10_000;

/**
 * {@link readCsv}'s items as arrays of what the parser produced since the last one, for a caller that
 * would rather not await each record: the parser's rows are collected as it emits them (no async
 * iteration per row), its input paused while {@link CSV_BATCH_RECORDS} wait.
 *
 * @example
 * ```ts
 * for await (const batch of readCsvBatches(readObject(address))) for (const item of batch) take(item);
 * ```
 */
export async function* readCsvBatches(
  chunks: AsyncIterable<Uint8Array>,
  options: ReadOptions & { delimiter?: string } = {},
): AsyncGenerator<ReadItem[]> {
  // A skipped row is reported with the number of rows parsed before it, so indexes count every data row.
  const skips: { after: number; error: string }[] = [];
  const parser = parseCsv({
    columns: true,
    bom: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    delimiter: options.delimiter ?? ',',
    max_record_size: options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES,
    on_skip: (error) => {
      skips.push({ after: parser.info.records, error: readError(error) });
    },
  });
  let rows: Record<string, string>[] = [];
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const signal = (): void => {
    wake?.();
    wake = undefined;
  };
  parser.on('data', (row: Record<string, string>) => {
    rows.push(row);
    if (rows.length >= CSV_BATCH_RECORDS) parser.pause();
    signal();
  });
  parser.on('end', () => {
    ended = true;
    signal();
  });
  parser.on('error', (error) => {
    failure = { error };
    signal();
  });
  const source = Readable.from(chunks);
  source.on('error', (error) => parser.destroy(error));
  source.pipe(parser);
  let records = 0;
  let skipped = 0;
  const skipsBefore = (count: number, batch: ReadItem[]): void => {
    while (skipped < skips.length && (skips[skipped]?.after ?? 0) < count) {
      const skip = skips[skipped] as { after: number; error: string };
      batch.push({ index: skip.after + skipped, error: skip.error });
      skipped += 1;
    }
  };
  /** The rows parsed so far as items, each skipped row before the rows parsed after it. */
  const take = (): ReadItem[] => {
    const batch: ReadItem[] = [];
    for (const record of rows) {
      records += 1;
      skipsBefore(records, batch);
      batch.push({ index: records - 1 + skipped, record });
    }
    rows = [];
    if (ended) skipsBefore(Number.POSITIVE_INFINITY, batch);
    return batch;
  };
  try {
    for (;;) {
      if (failure !== undefined) throw failure.error;
      if (rows.length === 0 && !ended) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        continue;
      }
      const batch = take();
      if (batch.length > 0) yield batch;
      if (ended && rows.length === 0) return;
      if (parser.isPaused()) parser.resume();
    }
  } finally {
    if (!ended) parser.destroy();
    source.destroy();
  }
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
