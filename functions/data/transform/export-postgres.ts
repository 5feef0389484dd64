/**
 * Database to object storage from PostgreSQL: the table's pages in key order
 * (`select ... where key > $1 order by key limit $2`) handed to export-parts.ts, which writes the parts,
 * the cursor and the manifest (shared with export-mysql).
 */
import { ConfigurationError } from '@circle-core/core';
import type { PostgresConnection } from '#shared/sql/postgres-connection.ts';
import { type ExportContext, type ExportInput, type ExportOutput, runExport } from './export-parts.ts';

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
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
    return result.rows;
  });
}
