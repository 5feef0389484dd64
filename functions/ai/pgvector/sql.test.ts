/**
 * The SQL builders' own guards: whatever the models let through, no identifier, dimension or metric
 * reaches SQL text unless it is one these builders can write safely; and the filter compiler on the machine's
 * PostgreSQL (jsonb needs no `vector` extension), list fields included.
 */
import { describe, expect, it } from 'vitest';
import type { VectorFilter } from '#shared/models/vector-store.ts';
import { realPostgresUrl, withPostgres } from '../../../test/peers/postgres.ts';
import { createTableSql, filterSql, type Metric, markSql, quoteIdentifier } from './sql.ts';

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

describe('Function: filterSql', () => {
  const ROWS: [string, unknown][] = [
    ['la', { tags: ['a', 'b'], n: 1 }],
    ['lb', { tags: ['b', 'c'], n: 2 }],
    ['lc', { tags: [], n: 3 }],
    ['ld', { tags: 'a', n: 4 }],
    ['le', { n: 5 }],
    ['lf', { tags: ["x'); drop table t; --"], n: 6 }],
  ];

  it('follows Pinecone on list fields over jsonb on the real PostgreSQL, values only as parameters', async () => {
    // Prepare
    const filters: [VectorFilter, string[]][] = [
      [{ tags: 'a' }, ['la', 'ld']],
      [{ tags: { $eq: 'b' } }, ['la', 'lb']],
      [{ tags: { $in: ['c', 'zz'] } }, ['lb']],
      [{ tags: { $in: ['a', 'c'] } }, ['la', 'lb', 'ld']],
      [{ tags: { $in: [1] } }, []],
      [{ tags: { $ne: 'a' } }, ['lb', 'lc', 'le', 'lf']],
      [{ tags: { $nin: ['a', 'c'] } }, ['lc', 'le', 'lf']],
      [{ tags: { $gte: 0 } }, []],
      [{ n: { $gt: 4 } }, ['le', 'lf']],
      [{ tags: "x'); drop table t; --" }, ['lf']],
      [{ $or: [{ tags: { $nin: ['b'] } }, { n: 1 }] }, ['la', 'lc', 'ld', 'le', 'lf']],
    ];
    // Act
    const found = await withPostgres(realPostgresUrl(), async (client) => {
      await client.query('create temporary table t (id text primary key, metadata jsonb not null)');
      for (const [id, metadata] of ROWS)
        await client.query('insert into t values ($1, $2::jsonb)', [id, JSON.stringify(metadata)]);
      const out: string[][] = [];
      for (const [filter] of filters) {
        const { sql, params } = filterSql(filter, 0);
        expect(sql).not.toMatch(/drop table|'a'|'b'/);
        const result = await client.query(`select id from t where ${sql} order by id`, params);
        out.push(result.rows.map((row: { id: string }) => row.id));
      }
      return out;
    });
    // Assess
    expect(found).toEqual(filters.map(([, ids]) => ids));
  });
});
