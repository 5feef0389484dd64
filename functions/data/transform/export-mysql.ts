/**
 * Database to object storage from MySQL/MariaDB: the table's pages in key order
 * (``select ... where `key` > ? order by `key` limit ?``, values bound, names validated and backtick-quoted)
 * handed to export-parts.ts, which writes the parts, the cursor and the manifest (shared with
 * export-postgres). Values come as the SQL kit's MySQL connection reads them: dates and times as the server's
 * text, `bigint` and `decimal` as text, `json` as objects.
 */
import { ConfigurationError, ValidationError } from '@circle-core/core';
import type { MysqlConnection } from '#shared/sql/mysql-connection.ts';
import { quoteIdentifier } from '#shared/sql/mysql-insert.ts';
import { type ExportContext, type ExportInput, type ExportOutput, runExport } from './export-parts.ts';

/** `table` or `database.table`, each part quoted with backticks (names are validated by the models). */
const quoteTable = (name: string): string => name.split('.').map(quoteIdentifier).join('.');

/**
 * Exports (or resumes exporting) a MySQL/MariaDB table; see the module comment. `maxRows` is the
 * connection's MYSQL_MAX_ROWS: a page never asks for more rows than one result keeps.
 *
 * @example
 * ```ts
 * const result = await exportMysql({ table: 'orders', keyColumn: 'order_id', exportId: 'nightly' }, connection, 10_000, context);
 * ```
 */
export async function exportMysql(
  input: ExportInput,
  connection: MysqlConnection | undefined,
  maxRows: number,
  context: ExportContext,
): Promise<ExportOutput> {
  if (connection === undefined) {
    throw new ConfigurationError('No MySQL database is configured: set MYSQL_SECRET (or MYSQL_URL locally)');
  }
  const partRows = input.partRows ?? context.partRows;
  if (partRows > maxRows && input.partRows === undefined) {
    throw new ConfigurationError(
      `TRANSFORM_MYSQL_PART_RECORDS (${partRows}) is above MYSQL_MAX_ROWS (${maxRows}), the rows one query may answer`,
    );
  }
  if (partRows > maxRows) {
    throw new ValidationError(
      `partRows ${partRows} is above MYSQL_MAX_ROWS (${maxRows}), the rows one query may answer: ask for fewer`,
      [{ pointer: '/partRows', message: `at most ${maxRows} (MYSQL_MAX_ROWS)` }],
    );
  }
  const columns = input.columns === undefined ? '*' : input.columns.map(quoteIdentifier).join(', ');
  const key = quoteIdentifier(input.keyColumn);
  const from = `select ${columns} from ${quoteTable(input.table)}`;
  return runExport({ ...input, partRows }, context, async (after, limit) => {
    const result = await connection.use(
      (session) =>
        after === undefined
          ? session.run(`${from} order by ${key} limit ?`, [limit])
          : session.run(`${from} where ${key} > ? order by ${key} limit ?`, [after, limit]),
      'read',
    );
    return result.rows;
  });
}
