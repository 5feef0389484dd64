/**
 * toJsonValue on zoned timestamps DuckDB can hold but a JS Date cannot, or that fall before 1970 with a
 * sub-millisecond fraction.
 */
import { DuckDBTimestampTZValue } from '@duckdb/node-api';
import { describe, expect, it } from 'vitest';
import { toJsonValue } from './values.ts';

describe('Function: toJsonValue (timestamp-tz)', () => {
  it("answers DuckDB's infinities and its largest timestamp instead of throwing", () => {
    // Act & Assess
    expect(toJsonValue(DuckDBTimestampTZValue.PosInf, 'timestamp-tz')).toBe('infinity');
    expect(toJsonValue(DuckDBTimestampTZValue.NegInf, 'timestamp-tz')).toBe('-infinity');
    expect(() => toJsonValue(DuckDBTimestampTZValue.Max, 'timestamp-tz')).not.toThrow();
  });

  it('keeps the second of a pre-1970 instant whose fraction is below a millisecond from the next second', () => {
    // Act: 1969-12-31 23:59:59.999999 UTC and 23:59:58.9995 UTC.
    const last = toJsonValue(new DuckDBTimestampTZValue(-1n), 'timestamp-tz');
    const before = toJsonValue(new DuckDBTimestampTZValue(-1_000_500n), 'timestamp-tz');
    // Assess
    expect(last).toBe('1969-12-31T23:59:59.999999Z');
    expect(before).toBe('1969-12-31T23:59:58.999500Z');
  });
});
