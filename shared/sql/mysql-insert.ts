/**
 * Multi-row MySQL/MariaDB INSERT statements with bound values, bounded by rows, placeholders and bytes
 * (under `max_allowed_packet`), and backtick-quoted identifiers: the MySQL connector's insert-rows and the
 * Data Transform connector's load-mysql. Values never enter the SQL text.
 */
import { ValidationError } from '@circle-core/core';
import type { InsertRowsInput, SqlValue } from '#shared/models/sql-database.ts';

/** The prepared-statement protocol counts parameters in 16 bits. */
export const MAX_PARAMETERS = 65_535;
/** Rows per statement: as PostgreSQL's connector, bigger statements buy little. */
export const MAX_ROWS_PER_BATCH = 1_000;
/** Bytes of values per statement, well under the smallest default `max_allowed_packet` (16 MiB on MariaDB). */
export const MAX_BYTES_PER_BATCH = 4 * 1024 * 1024;

/**
 * Quotes a table, database or column name with backticks (a backtick inside is doubled).
 *
 * @example
 * ```ts
 * quoteIdentifier('order items'); // '`order items`'
 * ```
 */
export function quoteIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/** One statement of a bulk insert. */
export interface InsertBatch {
  sql: string;
  params: SqlValue[];
  rows: number;
}

/** How many bytes a value takes in the statement, roughly (the packet limit is what matters). */
function sizeOf(value: SqlValue): number {
  return typeof value === 'string'
    ? Buffer.byteLength(value)
    : value === null
      ? 1
      : JSON.stringify(value).length;
}

/**
 * Splits a bulk insert into multi-row `INSERT [IGNORE] INTO ... VALUES (?, ?), (?, DEFAULT)` statements,
 * each within the row, parameter and byte bounds. A row that leaves out a column gets the column's DEFAULT.
 *
 * @example
 * ```ts
 * planInsert({ table: 'events', rows: [{ id: 1, kind: 'a' }] });
 * // [{ sql: 'insert into `events` (`id`, `kind`) values (?, ?)', params: [1, 'a'], rows: 1 }]
 * ```
 */
export function planInsert(input: InsertRowsInput): InsertBatch[] {
  const first = input.rows[0] ?? {};
  const columns = input.columns ?? Object.keys(first);
  if (columns.length === 0) throw new ValidationError('insert-rows needs at least one column');
  if (new Set(columns).size !== columns.length) throw new ValidationError('columns must not repeat a name');
  const known = new Set(columns);
  const target =
    input.schema === undefined
      ? quoteIdentifier(input.table)
      : `${quoteIdentifier(input.schema)}.${quoteIdentifier(input.table)}`;
  const verb = input.onConflict === 'ignore' ? 'insert ignore into' : 'insert into';
  const head = `${verb} ${target} (${columns.map(quoteIdentifier).join(', ')}) values `;
  const perBatch = Math.min(MAX_ROWS_PER_BATCH, Math.floor(MAX_PARAMETERS / columns.length));

  const batches: InsertBatch[] = [];
  let tuples: string[] = [];
  let params: SqlValue[] = [];
  let bytes = 0;
  const flush = (): void => {
    if (tuples.length > 0) batches.push({ sql: `${head}${tuples.join(', ')}`, params, rows: tuples.length });
    tuples = [];
    params = [];
    bytes = 0;
  };
  input.rows.forEach((row, index) => {
    const stray = Object.keys(row).find((key) => !known.has(key));
    if (stray !== undefined) {
      const pointer = `/rows/${index}`;
      throw new ValidationError(
        `Row ${index} has a column that is not in columns: ${quoteIdentifier(stray)}`,
        [{ pointer, message: 'column not in columns' }],
      );
    }
    const cells = columns.map((column) => row[column]);
    const size = cells.reduce<number>((sum, value) => sum + (value === undefined ? 0 : sizeOf(value)), 0);
    if (tuples.length >= perBatch || (tuples.length > 0 && bytes + size > MAX_BYTES_PER_BATCH)) flush();
    tuples.push(`(${cells.map((value) => (value === undefined ? 'default' : '?')).join(', ')})`);
    for (const value of cells) if (value !== undefined) params.push(value);
    bytes += size;
  });
  flush();
  return batches;
}
