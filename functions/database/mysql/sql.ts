/**
 * The SQL text the MySQL connector writes itself: quoted identifiers, multi-row INSERT batches bounded by
 * rows, placeholders and bytes, the statements it refuses to run inside its own transactions, the catalog
 * queries behind `list-tables` and `describe-table`, and column type names. Values never enter this text.
 */
import type { TableType } from '#shared/models/sql-database.ts';

/** Multi-row INSERT planning and identifier quoting live in the SQL kit, shared with load-mysql. */
export {
  type InsertBatch,
  MAX_BYTES_PER_BATCH,
  MAX_PARAMETERS,
  MAX_ROWS_PER_BATCH,
  planInsert,
  quoteIdentifier,
} from '#shared/sql/mysql-insert.ts';

/** The first keyword of a statement, after whitespace, comments and an opening parenthesis. */
export function firstKeyword(sql: string): string {
  const rest = sql.replace(/^(?:\s+|--[^\n]*(?:\n|$)|#[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/, '');
  return (/^[A-Za-z_]+/.exec(rest)?.[0] ?? '').toLowerCase();
}

/** Statements that open or end a transaction, which the connector owns. */
const TRANSACTION_CONTROL = new Set([
  'begin',
  'start',
  'commit',
  'rollback',
  'xa',
  'lock',
  'unlock',
  'savepoint',
  'release',
]);

/** Statements MySQL commits implicitly before and after (DDL, account management, table maintenance). */
const IMPLICIT_COMMIT = new Set([
  'create',
  'alter',
  'drop',
  'rename',
  'truncate',
  'grant',
  'revoke',
  'install',
  'uninstall',
  'analyze',
  'optimize',
  'repair',
  'check',
  'flush',
  'cache',
  'load',
  'reset',
  'purge',
  'change',
]);

/**
 * Why a statement may not run inside the connector's transaction, or undefined: transaction control
 * everywhere, and in `execute` (or read-only mode) statements MySQL commits implicitly, which would commit
 * part of the batch.
 *
 * @example
 * ```ts
 * refusal('create table t (id int)', { inTransaction: true }); // 'MySQL commits implicitly ...'
 * ```
 */
export function refusal(sql: string, options: { inTransaction: boolean }): string | undefined {
  const keyword = firstKeyword(sql);
  if (TRANSACTION_CONTROL.has(keyword)) {
    return 'the connector opens and ends transactions itself: BEGIN, COMMIT, ROLLBACK, LOCK TABLES and the like are refused';
  }
  if (options.inTransaction && IMPLICIT_COMMIT.has(keyword)) {
    return `MySQL commits implicitly around ${keyword.toUpperCase()}, which would break the transaction: run it on its own with query`;
  }
  return undefined;
}

const SYSTEM_SCHEMAS = "('mysql', 'information_schema', 'performance_schema', 'sys')";

/** information_schema's TABLE_TYPE -> the interface's table type. */
export const TABLE_TYPES: Record<string, TableType> = { VIEW: 'view', 'SYSTEM VIEW': 'view' };

/** ?: the database, or null for every non-system database. */
export const LIST_TABLES_SQL = `select table_schema as \`schema\`, table_name as name, table_type as kind
from information_schema.tables
where (? is null and table_schema not in ${SYSTEM_SCHEMAS}) or table_schema = ?
order by table_schema, table_name`;

/** ?, ?: the database (null: the current one), the table. One row per column, ordered. */
export const DESCRIBE_TABLE_SQL = `select t.table_schema as \`schema\`, t.table_name as name, t.table_type as kind,
  c.column_name as column_name, c.ordinal_position as position, c.column_type as type,
  c.is_nullable = 'YES' as nullable, c.column_default as default_value,
  (select k.ordinal_position from information_schema.key_column_usage k
    where k.table_schema = c.table_schema and k.table_name = c.table_name
      and k.column_name = c.column_name and k.constraint_name = 'PRIMARY') as key_position
from information_schema.tables t
left join information_schema.columns c on c.table_schema = t.table_schema and c.table_name = t.table_name
where t.table_schema = coalesce(?, database()) and t.table_name = ?
order by c.ordinal_position`;

/** Protocol column types -> SQL type names; strings and blobs are told apart by the binary charset (63). */
const TYPE_NAMES: Record<number, string | [text: string, binary: string]> = {
  0: 'decimal',
  1: 'tinyint',
  2: 'smallint',
  3: 'int',
  4: 'float',
  5: 'double',
  6: 'null',
  7: 'timestamp',
  8: 'bigint',
  9: 'mediumint',
  10: 'date',
  11: 'time',
  12: 'datetime',
  13: 'year',
  15: ['varchar', 'varbinary'],
  16: 'bit',
  245: 'json',
  246: 'decimal',
  247: 'enum',
  248: 'set',
  249: ['tinytext', 'tinyblob'],
  250: ['mediumtext', 'mediumblob'],
  251: ['longtext', 'longblob'],
  252: ['text', 'blob'],
  253: ['varchar', 'varbinary'],
  254: ['char', 'binary'],
  255: 'geometry',
};

const BINARY_CHARSET = 63;
/** decimal, tinyint, smallint, int, float, double, bigint, mediumint and the newer decimal. */
const NUMERIC_TYPES: ReadonlySet<number> = new Set([0, 1, 2, 3, 4, 5, 8, 9, 246]);
const UNSIGNED_FLAG = 32;

/**
 * The SQL type name of a result column, from its protocol type, character set and flags.
 *
 * @example
 * ```ts
 * typeName({ columnType: 3, characterSet: 63, flags: 32 }); // 'int unsigned'
 * ```
 */
export function typeName(field: {
  columnType?: number | undefined;
  characterSet?: number | undefined;
  flags?: number | string[] | undefined;
}): string {
  const entry = TYPE_NAMES[field.columnType ?? -1];
  if (entry === undefined) return `type ${field.columnType}`;
  if (Array.isArray(entry)) return field.characterSet === BINARY_CHARSET ? entry[1] : entry[0];
  // Only numbers can be unsigned: MariaDB also sets the flag on TIMESTAMP (7) columns.
  const numeric = field.columnType !== undefined && NUMERIC_TYPES.has(field.columnType);
  const unsigned = numeric && typeof field.flags === 'number' && (field.flags & UNSIGNED_FLAG) !== 0;
  return unsigned ? `${entry} unsigned` : entry;
}
