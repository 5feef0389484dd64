/**
 * The SQL builders' own guards: whatever the models let through, no identifier, dimension or metric
 * reaches SQL text unless it is one these builders can write safely.
 */
import { describe, expect, it } from 'vitest';
import { createTableSql, type Metric, markSql, quoteIdentifier } from './sql.ts';

describe('Function: quoteIdentifier', () => {
  it('quotes a name, doubling its quotes, and throws for an empty, overlong or NUL-holding one', () => {
    // Act
    const quoted = quoteIdentifier('docs"v2');

    // Assess
    expect(quoted).toBe('"docs""v2"');
    expect(() => quoteIdentifier('')).toThrow('bad identifier');
    expect(() => quoteIdentifier('x'.repeat(64))).toThrow('bad identifier');
    expect(() => quoteIdentifier('a\u0000b')).toThrow('bad identifier');
  });
});

describe('Function: createTableSql', () => {
  it('throws for a dimension pgvector cannot hold', () => {
    // Act
    const sql = createTableSql('"s"."t"', 16_000);

    // Assess
    expect(sql).toContain('embedding vector(16000) not null');
    for (const dimension of [0, 16_001, 1.5]) {
      expect(() => createTableSql('"s"."t"', dimension)).toThrow('bad dimension');
    }
  });
});

describe('Function: markSql', () => {
  it('writes only a metric of its table into the comment', () => {
    // Act
    const sql = markSql('"s"."t"', 'cosine');

    // Assess
    expect(sql).toMatch(/^comment on column "s"."t".embedding is '.*cosine'$/);
    expect(() => markSql('"s"."t"', "cosine'; drop table x; --" as Metric)).toThrow('bad metric');
  });
});
