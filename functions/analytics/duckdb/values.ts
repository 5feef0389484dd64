/**
 * DuckDB's result types and values as the warehouse-query interface encodes them: each column gets a
 * portable `kind`, each value the JSON form its kind promises (64-bit integers and decimals as exact text,
 * timestamps ISO 8601, binary base64, nested values recursively).
 */
import {
  DuckDBArrayValue,
  DuckDBBlobValue,
  DuckDBDateValue,
  DuckDBListValue,
  DuckDBMapValue,
  DuckDBStructValue,
  DuckDBTimestampMillisecondsValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
  type DuckDBType,
  DuckDBTypeId,
} from '@duckdb/node-api';
import type { ColumnKind } from '#shared/models/warehouse-query.ts';

const KINDS: Partial<Record<DuckDBTypeId, ColumnKind>> = {
  [DuckDBTypeId.BOOLEAN]: 'boolean',
  [DuckDBTypeId.TINYINT]: 'integer',
  [DuckDBTypeId.SMALLINT]: 'integer',
  [DuckDBTypeId.INTEGER]: 'integer',
  [DuckDBTypeId.UTINYINT]: 'integer',
  [DuckDBTypeId.USMALLINT]: 'integer',
  [DuckDBTypeId.UINTEGER]: 'integer',
  [DuckDBTypeId.BIGINT]: 'bigint',
  [DuckDBTypeId.UBIGINT]: 'bigint',
  [DuckDBTypeId.HUGEINT]: 'bigint',
  [DuckDBTypeId.UHUGEINT]: 'bigint',
  [DuckDBTypeId.BIGNUM]: 'bigint',
  [DuckDBTypeId.DECIMAL]: 'decimal',
  [DuckDBTypeId.FLOAT]: 'float',
  [DuckDBTypeId.DOUBLE]: 'float',
  [DuckDBTypeId.VARCHAR]: 'string',
  [DuckDBTypeId.ENUM]: 'string',
  [DuckDBTypeId.UUID]: 'string',
  [DuckDBTypeId.DATE]: 'date',
  [DuckDBTypeId.TIME]: 'time',
  [DuckDBTypeId.TIME_NS]: 'time',
  [DuckDBTypeId.TIMESTAMP]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_S]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_MS]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_NS]: 'timestamp',
  [DuckDBTypeId.TIMESTAMP_TZ]: 'timestamp-tz',
  [DuckDBTypeId.INTERVAL]: 'interval',
  [DuckDBTypeId.BLOB]: 'binary',
  [DuckDBTypeId.LIST]: 'list',
  [DuckDBTypeId.ARRAY]: 'list',
  [DuckDBTypeId.STRUCT]: 'struct',
  [DuckDBTypeId.MAP]: 'map',
};

/**
 * The interface's kind of a DuckDB type; a `VARCHAR` with the `JSON` alias is `json`.
 *
 * @example
 * ```ts
 * columnKind(result.columnType(0)); // 'bigint'
 * ```
 */
export function columnKind(type: DuckDBType): ColumnKind {
  if (type.alias === 'JSON') return 'json';
  return KINDS[type.typeId] ?? 'other';
}

function timestampText(text: string): string {
  return text.replace(' ', 'T');
}

/** The largest magnitude of a timestamp's count: DuckDB's ±infinity. */
const INFINITE_UNITS = 9_223_372_036_854_775_807n;

/**
 * `infinity`/`-infinity` for DuckDB's infinite dates and timestamps, whose own text (but for TIMESTAMP)
 * prints a far date instead (`5881580-07-11`, `2262-04-11 23:47:16.854775807`); undefined for any other.
 */
function infinityOf(value: unknown): string | undefined {
  if (value instanceof DuckDBDateValue) {
    if (value.days === DuckDBDateValue.PosInf.days) return 'infinity';
    return value.days === DuckDBDateValue.NegInf.days ? '-infinity' : undefined;
  }
  let units: bigint | undefined;
  if (value instanceof DuckDBTimestampValue) units = value.micros;
  else if (value instanceof DuckDBTimestampSecondsValue) units = value.seconds;
  else if (value instanceof DuckDBTimestampMillisecondsValue) units = value.millis;
  else if (value instanceof DuckDBTimestampNanosecondsValue) units = value.nanos;
  if (units === INFINITE_UNITS) return 'infinity';
  if (units === -INFINITE_UNITS) return '-infinity';
  return undefined;
}

/**
 * DuckDB's `0044-03-15 (BC) 10:00:00` with ISO 8601's signed year, `-0043-03-15 10:00:00` (1 BC is year
 * 0000, as DuckDB's `year()` counts); any other text as it is.
 */
function signedYear(text: string): string {
  const bc = /^(\d+)(-\d\d-\d\d) \(BC\)/.exec(text);
  if (bc === null) return text;
  const year = Number(bc[1]) - 1;
  return `${year === 0 ? '' : '-'}${String(year).padStart(4, '0')}${bc[2]}${text.slice(bc[0].length)}`;
}

function utcText(value: DuckDBTimestampTZValue): string {
  const { micros } = value;
  if (micros === DuckDBTimestampTZValue.PosInf.micros) return 'infinity';
  if (micros === DuckDBTimestampTZValue.NegInf.micros) return '-infinity';
  const rest = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n;
  // Whole seconds floored (not truncated toward 1970), so a pre-1970 fraction stays in its own second.
  const date = new Date(Number((micros - rest) / 1000n));
  // Beyond a JS Date's range (DuckDB reaches year 294247): DuckDB's own text.
  if (Number.isNaN(date.getTime())) return String(value);
  // `+010000-01-01T...` and `-000043-03-15T...` beyond years 0000 to 9999: `10000-01-01T...`, `-0043-03-15T...`.
  const iso = date
    .toISOString()
    .replace(/^([+-])0*(\d{4,})/, (_, sign: string, year: string) => `${sign === '-' ? '-' : ''}${year}`)
    .replace(/\.\d{3}Z$/, '');
  return rest === 0n ? `${iso}Z` : `${iso}.${String(rest).padStart(6, '0')}Z`;
}

/**
 * One DuckDB value in the JSON form its kind promises.
 *
 * @example
 * ```ts
 * toJsonValue(9007199254740993n, 'bigint'); // '9007199254740993'
 * ```
 */
export function toJsonValue(value: unknown, kind: ColumnKind): unknown {
  if (value === null || value === undefined) return null;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  // DuckDB answers the integer types up to 32 bits as numbers: a bigint is a 64-bit or wider one.
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'string') return kind === 'json' ? JSON.parse(value) : value;
  if (typeof value === 'boolean') return value;
  if (value instanceof DuckDBBlobValue) return Buffer.from(value.bytes).toString('base64');
  if (value instanceof DuckDBTimestampTZValue) return utcText(value);
  if (value instanceof DuckDBListValue || value instanceof DuckDBArrayValue) {
    return value.items.map((item) => nestedValue(item));
  }
  if (value instanceof DuckDBStructValue) {
    return Object.fromEntries(Object.entries(value.entries).map(([key, item]) => [key, nestedValue(item)]));
  }
  if (value instanceof DuckDBMapValue) {
    return value.entries.map((entry) => ({ key: nestedValue(entry.key), value: nestedValue(entry.value) }));
  }
  const infinity = infinityOf(value);
  if (infinity !== undefined) return infinity;
  const text = String(value);
  if (kind === 'date') return signedYear(text);
  return kind === 'timestamp' ? timestampText(signedYear(text)) : text;
}

/** A member of a nested value: its kind follows from its JS form (DuckDB gives no per-member type here). */
function nestedValue(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return Number.isSafeInteger(Number(value)) && value <= 2_147_483_647n && value >= -2_147_483_648n
      ? Number(value)
      : value.toString();
  }
  // By class, not by constructor.name: the minified bundle renames DuckDB's classes.
  const timestamp =
    value instanceof DuckDBTimestampValue ||
    value instanceof DuckDBTimestampSecondsValue ||
    value instanceof DuckDBTimestampMillisecondsValue ||
    value instanceof DuckDBTimestampNanosecondsValue;
  return toJsonValue(value, timestamp ? 'timestamp' : value instanceof DuckDBDateValue ? 'date' : 'other');
}
