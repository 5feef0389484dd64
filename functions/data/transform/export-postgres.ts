/**
 * Database to object storage from PostgreSQL: the table's pages in key order
 * (`select ... where key > $1 order by key limit $2`) handed to export-parts.ts, which writes the parts,
 * the cursor and the manifest (shared with export-mysql).
 */
import { ConfigurationError } from '@circle-core/core';
import type { QueryResult } from 'pg';
import type { PostgresConnection } from '#shared/sql/postgres-connection.ts';
import { type ExportContext, type ExportInput, type ExportOutput, runExport } from './export-parts.ts';

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;

/** `real` and `double precision`: the kit reads NaN and the infinities as their names (JSON has none). */
const FLOAT_OIDS = new Set([700, 701]);

/**
 * For Parquet, a float column's NaN and infinities go back to numbers: the column is DOUBLE (which holds
 * them), not a mix of numbers and text the writer refuses.
 */
function floatsAsNumbers(result: QueryResult): unknown[] {
  const names = result.fields.filter((field) => FLOAT_OIDS.has(field.dataTypeID)).map((field) => field.name);
  if (names.length === 0) return result.rows;
  for (const row of result.rows as Record<string, unknown>[]) {
    for (const name of names) if (typeof row[name] === 'string') row[name] = Number(row[name]);
  }
  return result.rows;
}
const quoteTable = (name: string): string => name.split('.').map(quoteIdent).join('.');

/**
 * Exports (or resumes exporting) a PostgreSQL table; see the module comment.
 *
 * @example
 * ```ts
 * const result = await exportPostgres({ table: 'orders', keyColumn: 'order_id', exportId: 'nightly' }, connection, context);
 * ```
 */
export async function exportPostgres(
  input: ExportInput,
  connection: PostgresConnection | undefined,
  context: ExportContext,
): Promise<ExportOutput> {
  if (connection === undefined) {
    throw new ConfigurationError('No PostgreSQL database is configured: set PG_SECRET (or PG_URL locally)');
  }
  const columns = input.columns === undefined ? '*' : input.columns.map(quoteIdent).join(', ');
  const key = quoteIdent(input.keyColumn);
  const from = `select ${columns} from ${quoteTable(input.table)}`;
  return runExport(input, context, async (after, limit) => {
    const result = await connection.use(
      (session) =>
        after === undefined
          ? session.run(`${from} order by ${key} limit $1`, [limit])
          : session.run(`${from} where ${key} > $1 order by ${key} limit $2`, [after, limit]),
      'read',
    );
    return input.format === 'parquet' ? floatsAsNumbers(result) : result.rows;
  });
}
