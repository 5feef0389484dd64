/**
 * The SQL text the connector writes itself: validated, quoted identifiers, multi-row INSERT batches under
 * the protocol's parameter limit, and the catalog queries behind `list-tables` and `describe-table`.
 * Values never enter this text; they are bound as parameters.
 */
import { type FieldIssue, ValidationError } from '@circle-core/core';
import pg from 'pg';
import type { InsertRowsInput, SqlValue, TableType } from '#shared/models/sql-database.ts';
import { roundedIntegerIssue } from '#shared/sql/values.ts';

/** The wire protocol counts bind parameters in an unsigned 16-bit field. */
export const MAX_PARAMETERS = 65_535;
/**
 * Rows per statement. Measured here (50,000 rows of 3 columns, real server): 250 to 21,845 rows per statement
 * all took 210-290 ms, so bigger statements buy little; 1,000 keeps each message small and bounded.
 */
export const MAX_ROWS_PER_BATCH = 1_000;
/** PostgreSQL keeps 63 bytes of a name (NAMEDATALEN - 1) and silently truncates the rest. */
const MAX_IDENTIFIER_BYTES = 63;

/**
 * Validates and quotes a table, schema or column name (`escapeIdentifier`: doubled quotes inside).
 *
 * @example
 * ```ts
 * quoteIdentifier('order items'); // '"order items"'
 * ```
 */
export function quoteIdentifier(name: string, what = 'identifier'): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: names with control characters are refused.
  if (name.length === 0 || /[\u0000-\u001f\u007f]/.test(name)) {
    throw new ValidationError(`Invalid ${what}: expected a non-empty name without control characters`);
  }
  if (Buffer.byteLength(name, 'utf8') > MAX_IDENTIFIER_BYTES) {
    throw new ValidationError(`Invalid ${what}: PostgreSQL names are at most ${MAX_IDENTIFIER_BYTES} bytes`);
  }
  return pg.escapeIdentifier(name);
}

/** One statement of a bulk insert. */
export interface InsertBatch {
  sql: string;
  params: SqlValue[];
}

/**
 * Splits a bulk insert into multi-row `INSERT ... VALUES ($1, $2), ($3, DEFAULT)` statements, each under
 * the parameter limit. A row that leaves out a column gets the column's DEFAULT.
 *
 * @example
 * ```ts
 * const batches = planInsert({ table: 'events', rows: [{ id: 1, kind: 'a' }], onConflict: 'ignore' });
 * // [{ sql: 'insert into "events" ("id", "kind") values ($1, $2) on conflict do nothing', params: [1, 'a'] }]
 * ```
 */
export function planInsert(input: InsertRowsInput): InsertBatch[] {
  const { rows } = input;
  const first = rows[0];
  if (first === undefined) throw new ValidationError('insert-rows needs at least one row');
  const columns = input.columns ?? Object.keys(first);
  if (columns.length === 0) throw new ValidationError('insert-rows needs at least one column');
  if (new Set(columns).size !== columns.length) throw new ValidationError('columns must not repeat a name');
  const known = new Set(columns);
  const target =
    input.schema === undefined
      ? quoteIdentifier(input.table, 'table')
      : `${quoteIdentifier(input.schema, 'schema')}.${quoteIdentifier(input.table, 'table')}`;
  const head = `insert into ${target} (${columns.map((column) => quoteIdentifier(column, 'column')).join(', ')}) values `;
  const tail = input.onConflict === 'ignore' ? ' on conflict do nothing' : '';
  const perBatch = Math.max(1, Math.min(MAX_ROWS_PER_BATCH, Math.floor(MAX_PARAMETERS / columns.length)));

  const batches: InsertBatch[] = [];
  for (let start = 0; start < rows.length; start += perBatch) {
    const params: SqlValue[] = [];
    const tuples: string[] = [];
    rows.slice(start, start + perBatch).forEach((row, offset) => {
      for (const key of Object.keys(row)) {
        if (!known.has(key)) {
          throw new ValidationError(
            `Row ${start + offset} has a column that is not in columns: ${quoteIdentifier(key, 'column')}`,
          );
        }
      }
      const cells = columns.map((column) => {
        const value = row[column];
        if (value === undefined) return 'default';
        const nul = nulCharacterAt(value, `/rows/${start + offset}/${pointerToken(column)}`);
        if (nul !== undefined) {
          const message = `The value at ${nul} ${NUL_IN_VALUE}`;
          throw new ValidationError(message, [{ pointer: nul, message }]);
        }
        const rounded = roundedIntegerIssue(value, `/rows/${start + offset}/${pointerToken(column)}`);
        if (rounded !== undefined) throw new ValidationError(rounded.message, [rounded]);
        params.push(value);
        return `$${params.length}`;
      });
      tuples.push(`(${cells.join(', ')})`);
    });
    batches.push({ sql: `${head}${tuples.join(', ')}${tail}`, params });
  }
  return batches;
}

const TRANSACTION_CONTROL = new Set(['begin', 'start', 'commit', 'end', 'rollback', 'abort']);

/** The index just past the block comment starting at `start` (block comments nest in PostgreSQL). */
function endOfBlockComment(text: string, start = 0): number {
  let depth = 0;
  let index = start;
  do {
    if (text.startsWith('/*', index)) {
      depth += 1;
      index += 2;
    } else if (text.startsWith('*/', index)) {
      depth -= 1;
      index += 2;
    } else index += 1;
  } while (depth > 0 && index < text.length);
  return index;
}

/** A statement without its leading whitespace and comments (`--` lines, nested block comments). */
function skipLeadingComments(sql: string): string {
  let rest = sql.trimStart();
  for (;;) {
    if (rest.startsWith('--')) {
      const end = rest.indexOf('\n');
      rest = end === -1 ? '' : rest.slice(end + 1).trimStart();
    } else if (rest.startsWith('/*')) {
      rest = rest.slice(endOfBlockComment(rest)).trimStart();
    } else return rest;
  }
}

/**
 * Whether a statement starts or ends a transaction (BEGIN, START, COMMIT, END, ROLLBACK, ABORT, and their
 * PREPARED forms). The connector owns transaction boundaries: such a statement inside `execute` would
 * commit part of the batch, and through `query` would leave the session inside a transaction.
 *
 * @example
 * ```ts
 * isTransactionControl('/* note *\/ COMMIT'); // true
 * ```
 */
export function isTransactionControl(sql: string): boolean {
  const keyword = /^[A-Za-z]+/.exec(skipLeadingComments(sql))?.[0]?.toLowerCase();
  return keyword !== undefined && TRANSACTION_CONTROL.has(keyword);
}

/** Letters, digits, `_`, `$` and every non-ASCII character continue a keyword, an identifier or a number. */
const WORD = /[A-Za-z0-9_$\u0080-\uffff]+/y;
const PLACEHOLDER = /\$(\d+)/y;
/** `$$` or `$tag$`: the tag follows identifier rules but holds no `$` and does not start with a digit. */
const DOLLAR_QUOTE = /\$(?:[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*)?\$/y;

/** What the scanner saw at one position: where it ends, and the word or placeholder it was. */
interface Token {
  end: number;
  word?: string;
  placeholder?: number;
}

function sticky(pattern: RegExp, text: string, index: number): RegExpExecArray | null {
  pattern.lastIndex = index;
  return pattern.exec(text);
}

/** The index just past the quoted string or identifier whose opening quote is at `start`. */
function endOfQuoted(text: string, start: number, backslashEscapes: boolean): number {
  const quote = text[start];
  let index = start + 1;
  while (index < text.length) {
    const char = text[index];
    if (backslashEscapes && char === '\\') index += 2;
    else if (char !== quote) index += 1;
    else if (text[index + 1] === quote) index += 2;
    else return index + 1;
  }
  return text.length;
}

/** A `$`: a placeholder, a dollar-quoted body (skipped whole), or a lone dollar sign. */
function dollarToken(sql: string, index: number): Token {
  const placeholder = sticky(PLACEHOLDER, sql, index);
  if (placeholder !== null) return { end: PLACEHOLDER.lastIndex, placeholder: Number(placeholder[1]) };
  const tag = sticky(DOLLAR_QUOTE, sql, index)?.[0];
  if (tag === undefined) return { end: index + 1 };
  const close = sql.indexOf(tag, index + tag.length);
  return { end: close === -1 ? sql.length : close + tag.length };
}

/**
 * The token at `index`, as PostgreSQL's lexer splits it (standard_conforming_strings on, the default): a
 * string literal (`E'...'` after the word `E` takes backslash escapes), a quoted identifier, a comment, a
 * dollar-quoted body, a placeholder, a word (a `$` inside a word is part of it), or one other character.
 */
function nextToken(sql: string, index: number, previousWord: string): Token {
  const char = sql[index];
  const next = sql[index + 1];
  if (char === '-' && next === '-') {
    const end = sql.indexOf('\n', index);
    return { end: end === -1 ? sql.length : end + 1 };
  }
  if (char === '/' && next === '*') return { end: endOfBlockComment(sql, index) };
  if (char === "'") return { end: endOfQuoted(sql, index, previousWord.toLowerCase() === 'e') };
  if (char === '"') return { end: endOfQuoted(sql, index, false) };
  if (char === '$') return dollarToken(sql, index);
  const word = sticky(WORD, sql, index)?.[0];
  return word === undefined ? { end: index + 1 } : { end: WORD.lastIndex, word };
}

/**
 * The highest `$n` placeholder of a statement, outside string literals, quoted identifiers, comments and
 * dollar-quoted bodies; 0 when there is none. PostgreSQL expects exactly that many parameters.
 *
 * @example
 * ```ts
 * highestPlaceholder("select $2, '$9' -- $7\n"); // 2
 * ```
 */
export function highestPlaceholder(sql: string): number {
  let highest = 0;
  let index = 0;
  let word = '';
  while (index < sql.length) {
    const token = nextToken(sql, index, word);
    if (token.placeholder !== undefined) highest = Math.max(highest, token.placeholder);
    word = token.word ?? '';
    index = token.end;
  }
  return highest;
}

/** A JSON pointer token (`~` and `/` escaped). */
function pointerToken(key: string): string {
  return key.replaceAll('~', '~0').replaceAll('/', '~1');
}

/**
 * Where in a bound value a text holds U+0000, which PostgreSQL text cannot store. Arrays bind element by
 * element; objects bind as JSON text, where the character is written as an escape and so never sent raw.
 */
function nulCharacterAt(value: unknown, pointer: string): string | undefined {
  if (typeof value === 'string') return value.includes('\u0000') ? pointer : undefined;
  if (!Array.isArray(value)) return undefined;
  for (const [index, item] of value.entries()) {
    const found = nulCharacterAt(item, `${pointer}/${index}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

const NUL_IN_VALUE =
  'contains a NUL character (U+0000), which PostgreSQL text cannot hold (send binary data as bytea: hex or base64 text)';

function values(count: number): string {
  return count === 1 ? '1 value' : `${count} values`;
}

/**
 * What the server would refuse about a statement as the caller wrote it, found before anything is sent:
 * a NUL character in the SQL or in a text parameter (the wire protocol ends strings at NUL), or a number
 * of parameters other than the placeholders need. `at` is the statement's JSON pointer in the input.
 * The issue's message names the field, never a value.
 *
 * @example
 * ```ts
 * statementIssue('select $1::int', [], ''); // { pointer: '/params', message: 'The SQL uses placeholders up to $1, ...' }
 * ```
 */
export function statementIssue(sql: string, params: readonly unknown[], at: string): FieldIssue | undefined {
  if (sql.includes('\u0000')) {
    return {
      pointer: `${at}/sql`,
      message: `The SQL at ${at}/sql contains a NUL character (U+0000), which PostgreSQL does not accept in statement text`,
    };
  }
  for (const [index, value] of params.entries()) {
    const pointer = nulCharacterAt(value, `${at}/params/${index}`);
    if (pointer !== undefined) return { pointer, message: `The parameter at ${pointer} ${NUL_IN_VALUE}` };
    const rounded = roundedIntegerIssue(value, `${at}/params/${index}`);
    if (rounded !== undefined) return rounded;
  }
  const expected = highestPlaceholder(sql);
  if (params.length === expected) return undefined;
  const message =
    expected === 0
      ? `The SQL has no placeholders ($1, $2, ...), so ${at}/params must be empty; it holds ${values(params.length)}`
      : `The SQL uses placeholders up to $${expected}, so ${at}/params must hold ${values(expected)} (one per placeholder, in order); it holds ${values(params.length)}`;
  return { pointer: `${at}/params`, message };
}

const RELATION_KINDS = "('r', 'v', 'm', 'f', 'p')";

/** `pg_class.relkind` -> the interface's table type. */
export const TABLE_TYPES: Record<string, TableType> = {
  r: 'table',
  v: 'view',
  m: 'materialized-view',
  f: 'foreign-table',
  p: 'partitioned-table',
};

/** $1: schema or null for every non-system schema. Partitions are listed through their parent. */
export const LIST_TABLES_SQL = `
select n.nspname as schema, c.relname as name, c.relkind as kind
from pg_catalog.pg_class c
join pg_catalog.pg_namespace n on n.oid = c.relnamespace
where c.relkind in ${RELATION_KINDS}
  and not c.relispartition
  and (
    n.nspname = $1::text
    or ($1::text is null
        and n.nspname not in ('pg_catalog', 'information_schema')
        and n.nspname not like 'pg\\_toast%'
        and n.nspname not like 'pg\\_temp\\_%')
  )
order by n.nspname, c.relname`;

/**
 * $1: schema (null: the first schema of the search path), $2: table. One row per column, each carrying the
 * table's identity and primary key; one row with a null column for a table without columns; none when
 * the table does not exist.
 */
export const DESCRIBE_TABLE_SQL = `
with t as (
  select c.oid, n.nspname, c.relname, c.relkind
  from pg_catalog.pg_class c
  join pg_catalog.pg_namespace n on n.oid = c.relnamespace
  where c.relname = $2::text
    and n.nspname = coalesce($1::text, current_schema())
    and c.relkind in ${RELATION_KINDS}
), pk as (
  select array_agg(a.attname::text order by k.ord) as columns
  from t
  join pg_catalog.pg_index i on i.indrelid = t.oid and i.indisprimary
  cross join lateral unnest(i.indkey::int2[]) with ordinality as k(attnum, ord)
  join pg_catalog.pg_attribute a on a.attrelid = t.oid and a.attnum = k.attnum
)
select t.nspname::text as schema, t.relname::text as name, t.relkind::text as kind,
  coalesce((select columns from pk), '{}'::text[]) as primary_key,
  a.attname::text as column_name, a.attnum::int as position,
  pg_catalog.format_type(a.atttypid, a.atttypmod) as type,
  not a.attnotnull as nullable,
  pg_catalog.pg_get_expr(d.adbin, d.adrelid) as default_value
from t
left join pg_catalog.pg_attribute a on a.attrelid = t.oid and a.attnum > 0 and not a.attisdropped
left join pg_catalog.pg_attrdef d on d.adrelid = a.attrelid and d.adnum = a.attnum
order by a.attnum`;

/** $1: oid[] -> the SQL names of result column types the connector has not seen yet. */
export const TYPE_NAMES_SQL =
  'select oid::text as oid, pg_catalog.format_type(oid, null) as name from pg_catalog.pg_type where oid = any($1::oid[])';

/** Names of the common built-in types, so most results need no catalog lookup. */
export const BUILTIN_TYPE_NAMES: ReadonlyArray<readonly [number, string]> = [
  [16, 'boolean'],
  [17, 'bytea'],
  [18, '"char"'],
  [19, 'name'],
  [20, 'bigint'],
  [21, 'smallint'],
  [23, 'integer'],
  [25, 'text'],
  [26, 'oid'],
  [114, 'json'],
  [700, 'real'],
  [701, 'double precision'],
  [1000, 'boolean[]'],
  [1005, 'smallint[]'],
  [1007, 'integer[]'],
  [1009, 'text[]'],
  [1016, 'bigint[]'],
  [1042, 'character'],
  [1043, 'character varying'],
  [1082, 'date'],
  [1083, 'time without time zone'],
  [1114, 'timestamp without time zone'],
  [1184, 'timestamp with time zone'],
  [1186, 'interval'],
  [1700, 'numeric'],
  [2950, 'uuid'],
  [3802, 'jsonb'],
];
