/**
 * Bulk load into PostgreSQL: the records of an S3 object (NDJSON, CSV, Parquet; read in ranges) mapped
 * like transform-records, then copied into a table with `COPY ... FROM STDIN` (pg-copy-streams), one part
 * of `partRecords` input records per transaction, each part claimed in the manifest table in that same
 * transaction. Parts, resumption and the manifest object are load-parts.ts's, shared with load-mysql.
 */
import { ConfigurationError } from '@circle-core/core';
import type { PostgresConnection, Session } from '#shared/sql/postgres-connection.ts';
import { sqlState } from '#shared/sql/postgres-errors.ts';
import {
  type ListedPart,
  type LoadContext,
  type LoadInput,
  type LoadOutput,
  type PartName,
  type PartStore,
  runLoad,
} from './load-parts.ts';

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const quoteTable = (name: string): string => name.split('.').map(quoteIdent).join('.');

/** The manifest tables known to exist, per connection: two clients in one process may reach two databases. */
const tablesReady = new WeakMap<PostgresConnection, Set<string>>();

/**
 * PostgreSQL's answer to a CREATE TABLE IF NOT EXISTS that ran beside another session's creation of the
 * same table: it waits for that one to commit, then fails with 23505 on `pg_type_typname_nsp_index` (or
 * 42P07 duplicate_table). Either way the table exists now.
 */
function createdMeanwhile(error: unknown): boolean {
  const code = sqlState(error);
  return code === '23505' || code === '42P07';
}

async function ensureManifestTable(
  connection: PostgresConnection,
  session: Session,
  table: string,
): Promise<void> {
  let ready = tablesReady.get(connection);
  if (ready?.has(table) === true) return;
  try {
    await session.run(
      `create table if not exists ${quoteTable(table)} (load_id text not null, part integer not null, rows integer not null, loaded_at timestamptz not null default now(), primary key (load_id, part))`,
    );
  } catch (error) {
    if (!createdMeanwhile(error)) throw error;
  }
  if (ready === undefined) {
    ready = new Set();
    tablesReady.set(connection, ready);
  }
  ready.add(table);
}

/** One COPY CSV cell: strings always quoted (so '' stays an empty string), null and absent empty (NULL). */
function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  const text = typeof value === 'object' ? JSON.stringify(value) : String(value);
  return `"${text.includes('"') ? text.replaceAll('"', '""') : text}"`;
}

/**
 * A part's rows as COPY's CSV text, objects and arrays as their JSON. Written here rather than by
 * csv-stringify, which took about eight times as long on the load's hot path (bench/RESULTS.md, bulk load).
 */
function csvRows(rows: readonly unknown[], columns: readonly string[]): string {
  const lines: string[] = [];
  for (const row of rows) {
    const record = row as Record<string, unknown>;
    lines.push(columns.map((column) => csvCell(record[column])).join(','));
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

/** The PostgreSQL side of a load: COPY per part, the manifest table beside it. */
class PostgresParts implements PartStore {
  readonly #connection: PostgresConnection;
  readonly #manifestTable: string;
  readonly #manifest: string;
  readonly #table: string;

  constructor(connection: PostgresConnection, manifestTable: string, table: string) {
    this.#connection = connection;
    this.#manifestTable = manifestTable;
    this.#manifest = quoteTable(manifestTable);
    this.#table = table;
  }

  loadedParts(loadId: string): Promise<Set<number>> {
    return this.#connection.use(async (session) => {
      await ensureManifestTable(this.#connection, session, this.#manifestTable);
      const result = await session.run(`select part from ${this.#manifest} where load_id = $1`, [loadId]);
      return new Set(result.rows.map((row) => Number((row as { part: number }).part)));
    }, 'read');
  }

  writePart(
    { loadId, part }: PartName,
    rows: readonly unknown[],
    names: readonly string[],
  ): Promise<number | undefined> {
    const manifest = this.#manifest;
    return this.#connection.use(async (session) => {
      await session.run('begin');
      const claimed = await session.run(
        `insert into ${manifest} (load_id, part, rows) values ($1, $2, 0) on conflict do nothing returning part`,
        [loadId, part],
      );
      if (claimed.rowCount === 0) {
        await session.run('rollback');
        return undefined;
      }
      const count =
        rows.length === 0 || names.length === 0
          ? 0
          : await session.copyFrom(
              `copy ${quoteTable(this.#table)} (${names.map(quoteIdent).join(', ')}) from stdin with (format csv)`,
              [csvRows(rows, names)],
            );
      await session.run(`update ${manifest} set rows = $3 where load_id = $1 and part = $2`, [
        loadId,
        part,
        count,
      ]);
      await session.run('commit');
      return count;
    }, 'write');
  }

  async listParts(loadId: string): Promise<ListedPart[]> {
    const parts = await this.#connection.use(
      (session) =>
        session.run(`select part, rows, loaded_at from ${this.#manifest} where load_id = $1 order by part`, [
          loadId,
        ]),
      'read',
    );
    return parts.rows.map((row) => {
      const { part, rows, loaded_at } = row as { part: number; rows: number; loaded_at: unknown };
      return { part: Number(part), rows: Number(rows), loadedAt: String(loaded_at) };
    });
  }
}

/**
 * Runs (or resumes) one load into PostgreSQL; see the module comment.
 *
 * @example
 * ```ts
 * const result = await loadPostgres({ source: { key: 'in/orders.csv' }, table: 'orders' }, connection, context);
 * ```
 */
export async function loadPostgres(
  input: LoadInput,
  connection: PostgresConnection | undefined,
  context: LoadContext,
): Promise<LoadOutput> {
  if (connection === undefined) {
    throw new ConfigurationError('No PostgreSQL database is configured: set PG_SECRET (or PG_URL locally)');
  }
  return runLoad(input, context, new PostgresParts(connection, context.manifestTable, input.table));
}
