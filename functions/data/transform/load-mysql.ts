/**
 * Bulk load into MySQL/MariaDB: the records of an S3 object (NDJSON, CSV, Parquet) mapped like
 * transform-records, then inserted with multi-row `INSERT INTO t (cols) VALUES (?, ?), (?, ?)` statements
 * whose values are bound parameters, batched by rows, placeholders and bytes (under `max_allowed_packet`;
 * the SQL kit's planInsert, as the MySQL connector's insert-rows), one part of `partRecords` input records
 * per transaction, each part claimed in the manifest table in that same transaction. Parts, resumption and
 * the manifest object are load-parts.ts's, shared with load-postgres.
 */
import { ConfigurationError, ValidationError } from '@circle-core/core';
import type { SqlValue } from '#shared/models/sql-database.ts';
import type { MysqlConnection, Session } from '#shared/sql/mysql-connection.ts';
import { planInsert, quoteIdentifier } from '#shared/sql/mysql-insert.ts';
import {
  type ListedPart,
  type LoadContext,
  type LoadInput,
  type LoadOutput,
  type PartName,
  type PartStore,
  runLoad,
} from './load-parts.ts';

/** `table` or `database.table`, each part quoted with backticks (names are validated by the models). */
const quoteTable = (name: string): string => name.split('.').map(quoteIdentifier).join('.');

/** The manifest tables known to exist, per connection: two clients in one process may reach two databases. */
const tablesReady = new WeakMap<MysqlConnection, Set<string>>();

/**
 * Creates the manifest table unless this connection made sure of it already. Unlike PostgreSQL
 * (load-postgres.ts), MariaDB and MySQL take the table's name under a metadata lock, so a concurrent
 * CREATE TABLE IF NOT EXISTS waits for the other and then finds the table.
 */
async function ensureManifestTable(
  connection: MysqlConnection,
  session: Session,
  table: string,
): Promise<void> {
  let ready = tablesReady.get(connection);
  if (ready?.has(table) === true) return;
  await session.run(
    `create table if not exists ${quoteTable(table)} (load_id varchar(100) not null, part int not null, \`rows\` int not null, loaded_at timestamp(3) not null default current_timestamp(3), primary key (load_id, part))`,
  );
  if (ready === undefined) {
    ready = new Set();
    tablesReady.set(connection, ready);
  }
  ready.add(table);
}

/** A row's cells by column: objects and arrays as JSON text, null and absent as NULL (as load-postgres). */
function cells(row: unknown, columns: readonly string[]): Record<string, SqlValue> {
  return Object.fromEntries(
    columns.map((column) => {
      const value = (row as Record<string, unknown>)[column];
      if (value === undefined || value === null) return [column, null];
      if (typeof value === 'object') return [column, JSON.stringify(value)];
      return [column, value as SqlValue];
    }),
  );
}

/** The MySQL side of a load: batched INSERTs per part, the manifest table beside them. */
class MysqlParts implements PartStore {
  readonly #connection: MysqlConnection;
  readonly #manifestTable: string;
  readonly #manifest: string;
  readonly #table: string;

  constructor(connection: MysqlConnection, manifestTable: string, table: string) {
    this.#connection = connection;
    this.#manifestTable = manifestTable;
    this.#manifest = quoteTable(manifestTable);
    this.#table = table;
  }

  loadedParts(loadId: string): Promise<Set<number>> {
    return this.#connection.use(async (session) => {
      await ensureManifestTable(this.#connection, session, this.#manifestTable);
      const result = await session.run(`select part from ${this.#manifest} where load_id = ?`, [loadId]);
      return new Set(result.rows.map((row) => Number(row['part'])));
    }, 'read');
  }

  writePart(
    { loadId, part }: PartName,
    rows: readonly unknown[],
    columns: readonly string[],
  ): Promise<number | undefined> {
    const manifest = this.#manifest;
    const [schema, table] = this.#table.includes('.')
      ? (this.#table.split('.') as [string, string])
      : [undefined, this.#table];
    const batches =
      rows.length === 0 || columns.length === 0
        ? []
        : planInsert({
            ...(schema === undefined ? {} : { schema }),
            table,
            columns: [...columns],
            rows: rows.map((row) => cells(row, columns)),
          });
    return this.#connection.use(async (session) => {
      await session.run('start transaction');
      // INSERT IGNORE skips only the duplicate key here: the part is already claimed (and loaded).
      const claimed = await session.run(
        `insert ignore into ${manifest} (load_id, part, \`rows\`) values (?, ?, 0)`,
        [loadId, part],
      );
      if (claimed.rowCount === 0) {
        await session.run('rollback');
        return undefined;
      }
      let count = 0;
      for (const batch of batches) {
        const outcome = await session.run(batch.sql, batch.params);
        // A lax sql_mode may cut or replace a value with only a warning: fail the part instead.
        if (outcome.warnings > 0) {
          throw new ValidationError(
            `The server changed or refused values of part ${loadId}#${part} (${outcome.warnings} warnings); the part was rolled back`,
          );
        }
        count += outcome.rowCount;
      }
      await session.run(`update ${manifest} set \`rows\` = ? where load_id = ? and part = ?`, [
        count,
        loadId,
        part,
      ]);
      await session.run('commit');
      return count;
    }, 'write');
  }

  async listParts(loadId: string): Promise<ListedPart[]> {
    const parts = await this.#connection.use(
      (session) =>
        session.run(
          `select part, \`rows\`, loaded_at from ${this.#manifest} where load_id = ? order by part`,
          [loadId],
        ),
      'read',
    );
    return parts.rows.map((row) => ({
      part: Number(row['part']),
      rows: Number(row['rows']),
      loadedAt: String(row['loaded_at']),
    }));
  }
}

/**
 * Runs (or resumes) one load into MySQL/MariaDB; see the module comment.
 *
 * @example
 * ```ts
 * const result = await loadMysql({ source: { key: 'in/orders.csv' }, table: 'orders' }, connection, context);
 * ```
 */
export async function loadMysql(
  input: LoadInput,
  connection: MysqlConnection | undefined,
  context: LoadContext,
): Promise<LoadOutput> {
  if (connection === undefined) {
    throw new ConfigurationError('No MySQL database is configured: set MYSQL_SECRET (or MYSQL_URL locally)');
  }
  return runLoad(input, context, new MysqlParts(connection, context.manifestTable, input.table));
}
