import { ValidationError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import {
  isTransactionControl,
  MAX_PARAMETERS,
  MAX_ROWS_PER_BATCH,
  planInsert,
  quoteIdentifier,
} from './sql.ts';

describe('Function: quoteIdentifier', () => {
  it('quotes a name and doubles the quotes inside it', () => {
    // Assess
    expect(quoteIdentifier('order items')).toBe('"order items"');
    expect(quoteIdentifier('a"; drop table x; --')).toBe('"a""; drop table x; --"');
  });

  it('throws ValidationError for an empty name, a control character or more than 63 bytes', () => {
    // Assess
    expect(() => quoteIdentifier('')).toThrow(ValidationError);
    expect(() => quoteIdentifier('a\u0000b', 'column')).toThrow(/Invalid column/);
    expect(() => quoteIdentifier('é'.repeat(32), 'table')).toThrow(/at most 63 bytes/);
    expect(quoteIdentifier('é'.repeat(31))).toBe(`"${'é'.repeat(31)}"`);
  });
});

describe('Function: planInsert', () => {
  it('writes multi-row statements with one placeholder per value and DEFAULT for a missing key', () => {
    // Act
    const batches = planInsert({
      schema: 'sales',
      table: 'orders',
      columns: ['id', 'note'],
      rows: [{ id: 1, note: 'a' }, { id: 2 }],
      onConflict: 'ignore',
    });
    // Assess
    expect(batches).toEqual([
      {
        sql: 'insert into "sales"."orders" ("id", "note") values ($1, $2), ($3, default) on conflict do nothing',
        params: [1, 'a', 2],
      },
    ]);
  });

  it('splits rows into batches of at most MAX_ROWS_PER_BATCH rows', () => {
    // Prepare
    const rows = Array.from({ length: 2 * MAX_ROWS_PER_BATCH + 1 }, (_, i) => ({ id: i, label: 'x' }));
    // Act
    const batches = planInsert({ table: 'events', rows });
    // Assess
    expect(batches.map((batch) => batch.params.length)).toEqual([
      2 * MAX_ROWS_PER_BATCH,
      2 * MAX_ROWS_PER_BATCH,
      2,
    ]);
    expect(batches[2]?.sql).toBe('insert into "events" ("id", "label") values ($1, $2)');
  });

  it('keeps every batch under the protocol parameter limit for wide rows', () => {
    // Prepare
    const columns = Array.from({ length: 200 }, (_, i) => `c${i}`);
    const row = Object.fromEntries(columns.map((column) => [column, 1]));
    const rows = Array.from({ length: 700 }, () => row);
    // Act
    const batches = planInsert({ table: 'wide', rows });
    // Assess
    expect(batches.length).toBe(3);
    for (const batch of batches) expect(batch.params.length).toBeLessThanOrEqual(MAX_PARAMETERS);
    expect(batches[0]?.params.length).toBe(Math.floor(MAX_PARAMETERS / 200) * 200);
  });

  it('throws ValidationError for repeated columns, no columns, no rows or a key outside columns', () => {
    // Assess
    expect(() => planInsert({ table: 't', columns: ['a', 'a'], rows: [{ a: 1 }] })).toThrow(
      /must not repeat/,
    );
    expect(() => planInsert({ table: 't', rows: [{}] })).toThrow(/at least one column/);
    expect(() => planInsert({ table: 't', rows: [] })).toThrow(/at least one row/);
    expect(() => planInsert({ table: 't', rows: [{ a: 1 }, { a: 2, b: 3 }] })).toThrow(
      'Row 1 has a column that is not in columns: "b"',
    );
  });
});

describe('Function: isTransactionControl', () => {
  it.each([
    'COMMIT',
    '  begin;',
    'start transaction isolation level serializable',
    'END',
    'rollback to savepoint a',
    'abort',
    '/* outer /* nested */ still comment */ Commit',
    '-- note\n-- more\nROLLBACK PREPARED $1',
  ])('is true for %j', (sql) => {
    // Assess
    expect(isTransactionControl(sql)).toBe(true);
  });

  it.each([
    'select 1',
    'commitments',
    'savepoint a',
    'with x as (select 1) select * from x',
    '-- only a comment',
    '/* unterminated',
    '',
  ])('is false for %j', (sql) => {
    // Assess
    expect(isTransactionControl(sql)).toBe(false);
  });
});
