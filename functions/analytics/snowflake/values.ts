/**
 * Snowflake's result types and jsonv2 values as the warehouse-query interface encodes them. The SQL API
 * sends every value as text: numbers as exact text, dates as days since the epoch, times and timestamps as
 * `seconds.nanoseconds` (a TIMESTAMP_TZ adds its offset in minutes plus 1440), binary as hex, semi-structured
 * values as JSON text. Each column gets a portable `kind` from its `rowType`, each value the JSON form its
 * kind promises.
 *
 * Checked against the SQL API reference ("Handling responses", `rowType` and `data`): `rowType` types come in
 * lower case (`fixed`, `real`, `text`, `timestamp_ntz`, ...; upper case is accepted too), every non-null value
 * is a JSON string and SQL NULL is JSON null; unquoted column names arrive upper-cased (`ID`), quoted ones as
 * written. Every declared integer type is `fixed` with precision 38 and scale 0, so such columns are `bigint`
 * (exact text); a literal keeps its own precision (`SELECT 7` is NUMBER(1,0)) and comes back an `integer`.
 */
import type { ColumnKind, ResultColumn } from '#shared/models/warehouse-query.ts';

/** One column of `resultSetMetaData.rowType`. */
export interface RowTypeColumn {
  name: string;
  type: string;
  precision?: number | null | undefined;
  scale?: number | null | undefined;
}

/** Integers of up to this many digits are sent as JSON numbers (exact: below 2^53). */
const NUMBER_DIGITS = 10;

/**
 * The interface's kind of a Snowflake column.
 *
 * @example
 * ```ts
 * columnKind({ name: 'N', type: 'fixed', precision: 38, scale: 0 }); // 'bigint'
 * ```
 */
export function columnKind(column: RowTypeColumn): ColumnKind {
  switch (column.type.toLowerCase()) {
    case 'fixed':
      if ((column.scale ?? 0) > 0) return 'decimal';
      return (column.precision ?? 38) <= NUMBER_DIGITS ? 'integer' : 'bigint';
    case 'real':
      return 'float';
    case 'text':
      return 'string';
    case 'boolean':
      return 'boolean';
    case 'date':
      return 'date';
    case 'time':
      return 'time';
    case 'timestamp_ntz':
      return 'timestamp';
    case 'timestamp_ltz':
    case 'timestamp_tz':
      return 'timestamp-tz';
    case 'binary':
      return 'binary';
    case 'variant':
      return 'json';
    case 'array':
      return 'list';
    case 'object':
      return 'struct';
    default:
      return 'other';
  }
}

/** The engine's type as a caller reads it: `NUMBER(38,0)`, `TIMESTAMP_NTZ(9)`, `TEXT`. */
function typeName(column: RowTypeColumn): string {
  const type = column.type.toUpperCase();
  if (type === 'FIXED') return `NUMBER(${column.precision ?? 38},${column.scale ?? 0})`;
  if (/^(TIME|TIMESTAMP_\w+)$/.test(type) && column.scale !== null && column.scale !== undefined) {
    return `${type}(${column.scale})`;
  }
  return type;
}

/**
 * The result column of a `rowType` entry.
 *
 * @example
 * ```ts
 * resultColumn({ name: 'D', type: 'fixed', precision: 10, scale: 2 }); // { name: 'D', type: 'NUMBER(10,2)', kind: 'decimal' }
 * ```
 */
export function resultColumn(column: RowTypeColumn): ResultColumn {
  return { name: column.name, type: typeName(column), kind: columnKind(column) };
}

const DAY_MS = 86_400_000;

/**
 * The ISO 8601 date and time of a JS time value, a year outside 0000 to 9999 signed or in full as DuckDB
 * writes it (`-0043-03-15`, `10000-01-01`) where `toISOString` writes `-000043`/`+010000`.
 */
function isoParts(ms: number): { date: string; time: string } {
  const iso = new Date(ms).toISOString();
  const at = iso.indexOf('T');
  const date = iso
    .slice(0, at)
    .replace(/^([+-])0*(\d{4,})/, (_, sign: string, year: string) => `${sign === '-' ? '-' : ''}${year}`);
  return { date, time: iso.slice(at + 1, at + 9) };
}

/** Division rounded toward minus infinity. */
const floorDiv = (a: bigint, b: bigint): bigint => (a % b === 0n || a >= 0n ? a / b : a / b - 1n);

/**
 * `seconds.fraction` -> the ISO date-time with its fraction kept: six digits, or nine when the value has
 * nanoseconds (a TIME or TIMESTAMP of scale 7 to 9, Snowflake's default being 9), so nothing is lost. The
 * value is floored, not truncated toward 1970: `-1.5` is 1.5 s before the epoch, so its second is -2 and its
 * fraction .5 (Snowflake signs the whole value, fraction included).
 */
function isoOf(text: string): { date: string; time: string } {
  const match = /^(-?)(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (match === null) throw new Error('not seconds');
  const digits = (match[3] ?? '').slice(0, 9);
  const scale = 10n ** BigInt(digits.length);
  const magnitude = BigInt(match[2] as string) * scale + BigInt(digits === '' ? '0' : digits);
  const nanos = floorDiv((match[1] === '-' ? -magnitude : magnitude) * 1_000_000_000n, scale);
  const rest = nanos - floorDiv(nanos, 1_000_000_000n) * 1_000_000_000n;
  const { date, time } = isoParts(Number((nanos - rest) / 1_000_000n));
  const fraction =
    rest === 0n
      ? ''
      : rest % 1000n === 0n
        ? `.${String(rest / 1000n).padStart(6, '0')}`
        : `.${String(rest).padStart(9, '0')}`;
  return { date, time: `${time}${fraction}` };
}

/**
 * One jsonv2 value in the JSON form its kind promises; a value that does not parse as its kind is passed on
 * as text.
 *
 * @example
 * ```ts
 * toJsonValue('20455', 'date'); // '2026-01-02'
 * ```
 */
export function toJsonValue(value: unknown, kind: ColumnKind): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value !== 'string') return value;
  try {
    switch (kind) {
      case 'integer':
        return Number(value);
      case 'float': {
        const number = Number(value.replace(/^(-?)inf$/i, '$1Infinity'));
        return Number.isFinite(number) ? number : String(number);
      }
      case 'boolean':
        return value === 'true' || value === '1' || value === 'TRUE';
      case 'date':
        return /^-?\d+$/.test(value.trim()) ? isoParts(Number(value) * DAY_MS).date : value;
      case 'time':
        return isoOf(value).time;
      case 'timestamp': {
        const { date, time } = isoOf(value);
        return `${date}T${time}`;
      }
      case 'timestamp-tz': {
        const { date, time } = isoOf(value.split(' ')[0] as string);
        return `${date}T${time}Z`;
      }
      case 'binary':
        return Buffer.from(value, 'hex').toString('base64');
      case 'json':
      case 'list':
      case 'struct':
        return JSON.parse(value);
      default:
        return value;
    }
  } catch {
    return value;
  }
}
