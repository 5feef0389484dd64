import { ValidationError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import {
  highestPlaceholder,
  isTransactionControl,
  MAX_PARAMETERS,
  MAX_ROWS_PER_BATCH,
  planInsert,
  quoteIdentifier,
  statementIssue,
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

  it('throws ValidationError naming the cell, not its value, for a NUL character in a text value', () => {
    // Act
    const attempt = (): unknown =>
      planInsert({
        table: 't',
        columns: ['id', 'a/b'],
        rows: [{ id: 1 }, { id: 2, 'a/b': ['ok', 'secret\u0000value'] }],
      });
    // Assess
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow(/^The value at \/rows\/1\/a~1b\/1 contains a NUL character \(U\+0000\)/);
    expect(attempt).not.toThrow(/secret/);
  });
});

describe('Function: highestPlaceholder', () => {
  it.each([
    ['select 1', 0],
    ['select $1::int + $2', 2],
    ['select $2', 2],
    ['select $10, $9', 10],
    ["select '$3', 'it''s $4', $1", 1],
    ["select E'it\\'s $5', e'\\\\', $1", 1],
    ["select x'1f', U&'d\\0061t $6', $1", 1],
    ['select "col$7", "a""$8", $1', 1],
    ['select 1 -- $9\n + $1', 1],
    ['select /* $9 /* nested $9 */ still $9 */ $1', 1],
    ['select $$ $9 $$, $body$ $9 $$ $9 $body$, $1', 1],
    ['select price$1 from t where a = $2', 2],
    ['select $', 0],
    ["select 'unterminated $9", 0],
    ['select $tag$ unterminated $9', 0],
    ['select 1 --$9', 0],
  ])('finds the highest placeholder of %j: %d', (sql, expected) => {
    // Assess
    expect(highestPlaceholder(sql)).toBe(expected);
  });
});

describe('Function: statementIssue', () => {
  it('accepts a statement with one value per placeholder', () => {
    // Assess
    expect(statementIssue('select $1::int, $2::text', [1, 'a'], '')).toBeUndefined();
    expect(statementIssue('select 1', [], '')).toBeUndefined();
  });

  it('names the params when their number does not match the placeholders', () => {
    // Act
    const missing = statementIssue('select $1::int', [], '');
    const extra = statementIssue('select 1', [1, 2], '/statements/3');
    // Assess
    expect(missing).toEqual({
      pointer: '/params',
      message:
        'The SQL uses placeholders up to $1, so /params must hold 1 value (one per placeholder, in order); it holds 0 values',
    });
    expect(extra).toEqual({
      pointer: '/statements/3/params',
      message:
        'The SQL has no placeholders ($1, $2, ...), so /statements/3/params must be empty; it holds 2 values',
    });
  });

  it('names the SQL or the parameter holding a NUL character, never the value', () => {
    // Act
    const inSql = statementIssue('select 1\u0000; select 2', [], '');
    const inParam = statementIssue('select $1, $2', ['ok', ['fine', 'secret\u0000value']], '/statements/0');
    const inJson = statementIssue('select $1::jsonb', [{ text: 'a\u0000b' }], '');
    // Assess
    expect(inSql?.pointer).toBe('/sql');
    expect(inSql?.message).toMatch(/NUL character \(U\+0000\)/);
    expect(inParam?.pointer).toBe('/statements/0/params/1/1');
    expect(inParam?.message).not.toContain('secret');
    expect(inJson).toBeUndefined();
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
