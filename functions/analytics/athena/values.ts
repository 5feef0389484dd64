/**
 * Athena's result types and values as the warehouse-query interface encodes them. GetQueryResults sends every
 * value as text (`VarCharValue`; a null as an empty datum), and `ResultSetMetadata.ColumnInfo` names each
 * column's Trino type. Each column gets a portable `kind`, each value the JSON form its kind promises. Arrays,
 * rows and maps come as Trino prints them (`[1, 2]`, `{a=1}`), which is not JSON: they are kind `other` and
 * keep Athena's text (select `json_format(cast(x as json))` for JSON).
 */
import { ValidationError } from '@circle-core/core';
import type { ColumnKind, ResultColumn } from '#shared/models/warehouse-query.ts';

/** One column of `ResultSetMetadata.ColumnInfo`. */
export interface AthenaColumn {
  Name?: string | undefined;
  Label?: string | undefined;
  Type?: string | undefined;
  Precision?: number | undefined;
  Scale?: number | undefined;
}

const KINDS: Readonly<Record<string, ColumnKind>> = {
  boolean: 'boolean',
  tinyint: 'integer',
  smallint: 'integer',
  integer: 'integer',
  int: 'integer',
  bigint: 'bigint',
  decimal: 'decimal',
  real: 'float',
  float: 'float',
  double: 'float',
  varchar: 'string',
  char: 'string',
  string: 'string',
  date: 'date',
  time: 'time',
  timestamp: 'timestamp',
  'timestamp with time zone': 'timestamp-tz',
  varbinary: 'binary',
  json: 'json',
  'interval year to month': 'interval',
  'interval day to second': 'interval',
};

/**
 * The interface's column for an Athena ColumnInfo: its name, its type as Athena writes it (decimals with
 * precision and scale) and its kind.
 *
 * @example
 * ```ts
 * resultColumn({ Name: 'amount', Type: 'decimal', Precision: 10, Scale: 2 }); // { name: 'amount', type: 'decimal(10,2)', kind: 'decimal' }
 * ```
 */
export function resultColumn(column: AthenaColumn): ResultColumn {
  const base = (column.Type ?? 'unknown').toLowerCase();
  const bare = base.replace(/\(.*$/, '').trim();
  const type =
    bare === 'decimal' && !base.includes('(')
      ? `decimal(${column.Precision ?? 38},${column.Scale ?? 0})`
      : base;
  return { name: column.Name ?? column.Label ?? '', type, kind: KINDS[bare] ?? 'other' };
}

const HEX_PAIRS = /^([0-9a-f]{2})( [0-9a-f]{2})*$/i;

/** `Date.UTC` for any year (`Date.UTC` reads years 0 to 99 as 1900 to 1999). */
function utcMs(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
): number {
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, 0);
  return date.getTime();
}

/** The offset from UTC of a time zone (`+05:30`, `UTC`, `Europe/Paris`) at an instant, in ms; undefined if unknown. */
function zoneOffsetMs(zone: string, at: number): number | undefined {
  if (zone === 'UTC' || zone === 'Z') return 0;
  const fixed = /^([+-])(\d\d):(\d\d)$/.exec(zone);
  if (fixed !== null) {
    return (fixed[1] === '-' ? -1 : 1) * (Number(fixed[2]) * 60 + Number(fixed[3])) * 60_000;
  }
  try {
    const parts = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    }).formatToParts(new Date(at));
    const part = (type: string): number => Number(parts.find((each) => each.type === type)?.value);
    const wall = utcMs(
      part('year'),
      part('month'),
      part('day'),
      part('hour'),
      part('minute'),
      part('second'),
    );
    return wall - Math.floor(at / 1000) * 1000;
  } catch {
    return undefined;
  }
}

/**
 * Trino's `2026-01-02 03:04:05.000 Europe/Paris` (the wall time in the value's own zone: `UTC`, a region or
 * an offset) as the instant in UTC, `2026-01-02T02:04:05.000Z`, its fraction kept; a zone this runtime does
 * not know keeps Athena's text. (A wall time a DST change repeats is ambiguous in that text: it reads as
 * one of its two instants.)
 */
function utcText(text: string): string {
  const utc = /^(\S+) (\S+) UTC$/.exec(text);
  if (utc !== null) return `${utc[1]}T${utc[2]}Z`;
  const match = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)(\.\d+)? (\S+)$/.exec(text);
  if (match === null) return text;
  const [, year, month, day, hour, minute, second, fraction = '', zone = ''] = match;
  const wall = utcMs(Number(year), Number(month), Number(day), Number(hour), Number(minute), Number(second));
  const guess = zoneOffsetMs(zone, wall);
  if (guess === undefined) return text;
  const offset = zoneOffsetMs(zone, wall - guess) ?? guess;
  const iso = new Date(wall - offset).toISOString();
  // Years 0000 to 9999 only (the pattern's four digits): `toISOString` writes them as they are.
  return `${iso.slice(0, 19)}${fraction}Z`;
}

/**
 * One value of Athena's text in the JSON form of its kind.
 *
 * @example
 * ```ts
 * toJsonValue('2026-01-02 03:04:05.000', 'timestamp'); // '2026-01-02T03:04:05.000'
 * ```
 */
export function toJsonValue(text: string | undefined, kind: ColumnKind): unknown {
  if (text === undefined) return null;
  switch (kind) {
    case 'boolean':
      return text === 'true';
    case 'integer':
      return Number(text);
    case 'float':
      return /^-?(NaN|Infinity)$/.test(text) ? text : Number(text);
    case 'timestamp':
      return text.replace(' ', 'T');
    case 'timestamp-tz':
      return utcText(text);
    case 'binary':
      return HEX_PAIRS.test(text) ? Buffer.from(text.replaceAll(' ', ''), 'hex').toString('base64') : text;
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    default:
      return text;
  }
}

/**
 * A parameter as the literal Athena binds to one `?` (ExecutionParameters are literals, each parsed as
 * exactly one value): text quoted with `'` doubled, integers as they are, other numbers as DOUBLE literals
 * (`2.5e-1`: a plain `0.25` would be a DECIMAL), booleans and null as keywords.
 *
 * @example
 * ```ts
 * literal("O'Brien"); // "'O''Brien'"
 * ```
 */
export function literal(value: string | number | boolean | null): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value)) return String(value);
    if (!Number.isFinite(value)) {
      throw new ValidationError('A parameter is not a finite number', [
        { pointer: '/params', message: 'expected finite numbers (NaN and Infinity have no literal)' },
      ]);
    }
    return value.toExponential();
  }
  return `'${value.replaceAll("'", "''")}'`;
}
