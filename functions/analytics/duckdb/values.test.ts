/**
 * toJsonValue on zoned timestamps DuckDB can hold but a JS Date cannot, or that fall before 1970 with a
 * sub-millisecond fraction.
 */
import {
  DuckDBDateValue,
  DuckDBListValue,
  DuckDBTimestampNanosecondsValue,
  DuckDBTimestampSecondsValue,
  DuckDBTimestampTZValue,
  DuckDBTimestampValue,
} from '@duckdb/node-api';
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

describe('Function: toJsonValue (dates and timestamps outside years 0000 to 9999)', () => {
  it('answers infinity for DuckDB infinite dates and timestamps, not the far date their text prints', () => {
    // Act & Assess
    expect(toJsonValue(DuckDBDateValue.PosInf, 'date')).toBe('infinity');
    expect(toJsonValue(DuckDBDateValue.NegInf, 'date')).toBe('-infinity');
    expect(toJsonValue(DuckDBTimestampNanosecondsValue.PosInf, 'timestamp')).toBe('infinity');
    expect(toJsonValue(DuckDBTimestampSecondsValue.NegInf, 'timestamp')).toBe('-infinity');
    expect(toJsonValue(DuckDBTimestampValue.PosInf, 'timestamp')).toBe('infinity');
  });

  it('writes years before 1 AD as ISO 8601 signed years (1 BC is 0000) and years past 9999 in full', () => {
    // Prepare: 44 BC-03-15 is astronomical year -43; 1 BC-12-31 is the day before 0001-01-01.
    const ides = new DuckDBDateValue(-735_160);
    const lastBc = new DuckDBDateValue(-719_163);
    const far = new DuckDBDateValue(2_932_897);
    const micros = BigInt(-735_160) * 86_400_000_000n + 36_000_000_000n;

    // Act
    const dates = [ides, lastBc, far].map((value) => toJsonValue(value, 'date'));
    const stamp = toJsonValue(new DuckDBTimestampValue(micros), 'timestamp');
    const zoned = toJsonValue(new DuckDBTimestampTZValue(micros + 500_000n), 'timestamp-tz');
    const later = toJsonValue(new DuckDBTimestampTZValue(253_402_300_800_000_001n), 'timestamp-tz');

    // Assess
    expect(dates).toEqual(['-0043-03-15', '0000-12-31', '10000-01-01']);
    expect(toJsonValue(new DuckDBListValue([ides, DuckDBDateValue.PosInf]), 'list')).toEqual([
      '-0043-03-15',
      'infinity',
    ]);
    expect(stamp).toBe('-0043-03-15T10:00:00');
    expect(zoned).toBe('-0043-03-15T10:00:00.500000Z');
    expect(later).toBe('10000-01-01T00:00:00.000001Z');
  });
});
