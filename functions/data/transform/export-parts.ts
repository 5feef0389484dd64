/**
 * Database to object storage, for every source database (export-postgres, export-mysql): a table read in key
 * order (keyset pagination on `keyColumn`, the source's {@link PageReader}), each page of `partRows` rows
 * written as one part object `exports/<exportId>/part-<n>.<format>`. The part's name follows from its
 * position, so a repeated call writes the same object again rather than a new one. When the invocation's time
 * runs low the call answers `done: false` with a cursor (last key, parts, rows) to resume from; once the
 * table is exhausted a manifest lists every part.
 */
import { csvWriter, FORMAT_CONTENT_TYPES, ndjsonWriter, type RecordWriter } from '#shared/data/formats.ts';
import { parquetWriter } from '#shared/data/parquet.ts';
import { type S3ObjectAddress, S3ObjectWriter } from '#shared/data/s3-objects.ts';
import type { ExportPostgresInput, ExportPostgresOutput } from './models.ts';

/** Time a part needs at least: one page query, one object written, the answer. */
export const EXPORT_PART_RESERVE_MS = 10_000;

/** The input every export takes (export-mysql's has the same shape). */
export type ExportInput = ExportPostgresInput;
/** The answer every export gives. */
export type ExportOutput = ExportPostgresOutput;

/** What an export needs besides its input and its source. */
export interface ExportContext {
  partRows: number;
  outputPrefix: string;
  address(key: string): S3ObjectAddress;
  timeLeft(): number;
}

/** The source database's side: one page of rows after `after` in key order (the first page without it). */
export type PageReader = (after: string | number | undefined, limit: number) => Promise<unknown[]>;

function writerFor(format: 'ndjson' | 'csv' | 'parquet', object: S3ObjectWriter): RecordWriter {
  const sink = { write: (chunk: Buffer | string) => object.write(chunk) };
  if (format === 'csv') return csvWriter(sink);
  if (format === 'parquet') return parquetWriter(sink);
  return ndjsonWriter(sink);
}

const partKey = (prefix: string, part: number, format: string): string =>
  `${prefix}part-${String(part).padStart(5, '0')}.${format}`;

/** Writes one part object. */
async function writePart(
  address: S3ObjectAddress,
  format: 'ndjson' | 'csv' | 'parquet',
  rows: unknown[],
): Promise<void> {
  const object = new S3ObjectWriter(address, { contentType: FORMAT_CONTENT_TYPES[format] });
  const writer = writerFor(format, object);
  for (const row of rows) await writer.write(row);
  await writer.finish();
  await object.finish();
}

/**
 * Exports (or resumes exporting) a table page by page from `readPage`; see the module comment.
 *
 * @example
 * ```ts
 * const result = await runExport({ table: 'orders', keyColumn: 'order_id', exportId: 'nightly' }, context, readPage);
 * ```
 */
export async function runExport(
  input: ExportInput,
  context: ExportContext,
  readPage: PageReader,
): Promise<ExportOutput> {
  const format = input.format ?? 'ndjson';
  const partRows = input.partRows ?? context.partRows;
  const prefix = `${context.outputPrefix}exports/${input.exportId}/`;
  const state: { after: string | number | undefined; parts: number; rows: number } = {
    after: input.cursor?.after,
    parts: input.cursor?.parts ?? 0,
    rows: input.cursor?.rows ?? 0,
  };
  while (true) {
    if (context.timeLeft() < EXPORT_PART_RESERVE_MS) {
      const { after, parts, rows } = state;
      return { done: false, parts, rows, ...(after === undefined ? {} : { cursor: { after, parts, rows } }) };
    }
    const rows = await readPage(state.after, partRows);
    if (rows.length === 0) break;
    state.parts += 1;
    await writePart(context.address(partKey(prefix, state.parts, format)), format, rows);
    const last = (rows.at(-1) as Record<string, unknown>)[input.keyColumn];
    state.after = typeof last === 'number' ? last : String(last);
    state.rows += rows.length;
    if (rows.length < partRows) break;
  }
  const manifest = new S3ObjectWriter(context.address(`${prefix}manifest.json`), {
    contentType: 'application/json',
  });
  const { parts, rows } = state;
  await manifest.write(
    JSON.stringify({
      exportId: input.exportId,
      table: input.table,
      format,
      rows,
      parts: Array.from({ length: parts }, (_, i) => partKey(prefix, i + 1, format)),
    }),
  );
  const written = await manifest.finish();
  return { done: true, parts, rows, manifest: { bucket: written.bucket, key: written.key } };
}
