/**
 * The conformance suite of the SQL database interface. Each implementation runs it from its own test
 * file against a real server, so every SQL database connector behaves the same way for workflows. A test
 * for an optional ability skips where it is not offered, and its NotSupportedError refusal skips where it
 * is: test/conformance runs the suite once against a client without any optional ability.
 */
import {
  ConflictError,
  type ConnectorError,
  NotFoundError,
  NotSupportedError,
  ValidationError,
} from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipIfOffered, skipUnlessOffered } from './capability-tests.ts';
import type { SqlDatabase, SqlDatabaseCapability } from './sql-database.ts';

/** What an implementation hands the suite. */
export interface SqlDatabaseFixture {
  /** The implementation under test, connected to a real server. */
  db: SqlDatabase;
  /** A schema (a database on MySQL) the suite may create tables in, empty and owned by this run. */
  schema: string;
  /** The engine's placeholder for the n-th parameter, 1-based: `$1` on PostgreSQL, `?` on MySQL. */
  placeholder(position: number): string;
  /** Quotes an identifier the engine's way: `"name"` on PostgreSQL, `` `name` `` on MySQL. */
  quote(identifier: string): string;
  /** Drops the schema and closes every connection the fixture opened. */
  cleanup(): Promise<void>;
}

const CAPABILITIES: readonly SqlDatabaseCapability[] = ['transactions', 'bulk-insert', 'read-only'];

/**
 * Registers the SQL database conformance tests for one implementation.
 *
 * @example
 * ```ts
 * describeSqlDatabaseConformance('PostgresClient (real server)', async () => ({
 *   db: new PostgresClient(options), schema, placeholder: (n) => `$${n}`,
 *   quote: (name) => `"${name}"`, cleanup: async () => { await db.close(); },
 * }));
 * ```
 */
export function describeSqlDatabaseConformance(
  name: string,
  factory: () => Promise<SqlDatabaseFixture>,
): void {
  describe(`SQL database conformance: ${name}`, () => {
    let fixture: SqlDatabaseFixture;
    let db: SqlDatabase;
    const table = (tableName: string): string =>
      `${fixture.quote(fixture.schema)}.${fixture.quote(tableName)}`;
    const p = (position: number): string => fixture.placeholder(position);

    beforeAll(async () => {
      fixture = await factory();
      db = fixture.db;
      await db.query({
        sql:
          `create table ${table('people')} (id integer primary key, name varchar(100) not null, ` +
          `score integer, note varchar(100) default 'none')`,
      });
    });

    afterAll(async () => {
      await fixture?.cleanup();
    });

    describe('Property: capabilities', () => {
      it('declares only abilities the interface defines', () => {
        // Assess
        for (const capability of db.capabilities) expect(CAPABILITIES).toContain(capability);
      });
    });

    describe('Method: query', () => {
      it('returns rows, row count and named fields for a parameterised select', async () => {
        // Prepare
        await db.query({
          sql: `insert into ${table('people')} (id, name, score) values (${p(1)}, ${p(2)}, ${p(3)})`,
          params: [1, 'Ada', 36],
        });
        // Act
        const result = await db.query({
          sql: `select id, name, score from ${table('people')} where id = ${p(1)}`,
          params: [1],
        });
        // Assess
        expect(result.rows).toEqual([{ id: 1, name: 'Ada', score: 36 }]);
        expect(result.rowCount).toBe(1);
        expect(result.fields.map((field) => field.name)).toEqual(['id', 'name', 'score']);
        expect(result.fields[0]?.type).toMatch(/int/i);
        expect(result.truncated).toBe(false);
      });

      it('binds values as data and never as SQL', async () => {
        // Prepare
        const hostile = `x'); drop table people; --`;
        // Act
        await db.query({
          sql: `insert into ${table('people')} (id, name) values (${p(1)}, ${p(2)})`,
          params: [2, hostile],
        });
        const result = await db.query({
          sql: `select name from ${table('people')} where name = ${p(1)}`,
          params: [hostile],
        });
        // Assess
        expect(result.rows).toEqual([{ name: hostile }]);
        const tables = await db.listTables({ schema: fixture.schema });
        expect(tables.tables.map((t) => t.name)).toContain('people');
      });

      it('throws ValidationError when the SQL holds more than one statement', async () => {
        // Act
        const attempt = db.query({
          sql: `select 1; delete from ${table('people')} where id = ${p(1)}`,
          params: [1],
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
        const still = await db.query({ sql: `select id from ${table('people')} where id = 1` });
        expect(still.rowCount).toBe(1);
      });

      it('throws ValidationError on a syntax error', async () => {
        // Act
        const attempt = db.query({ sql: 'selec 1' });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('throws NotFoundError when the table does not exist', async () => {
        // Act
        const attempt = db.query({ sql: `select * from ${table('no_such_table')}` });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });

      it('throws ConflictError on a unique violation without echoing the values', async () => {
        // Act
        const attempt = db.query({
          sql: `insert into ${table('people')} (id, name) values (${p(1)}, ${p(2)})`,
          params: [1, 'value-that-must-not-leak'],
        });
        // Assess
        const error = await attempt.catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(ConflictError);
        expect(
          JSON.stringify({ message: (error as Error).message, details: (error as ConflictError).details }),
        ).not.toContain('value-that-must-not-leak');
      });

      it('keeps the connection usable after a failed statement', async () => {
        // Prepare
        await db.query({ sql: 'selec 1' }).catch(() => undefined);
        // Act
        const result = await db.query({ sql: `select ${p(1)} as answer`, params: ['42'] });
        // Assess
        expect(result.rows).toEqual([{ answer: '42' }]);
      });
    });

    describe('Method: execute', () => {
      it('commits every statement and returns one result per statement, with "transactions"', async (context) => {
        // Prepare
        skipUnlessOffered(context, db, 'transactions');
        // Act
        const result = await db.execute({
          statements: [
            {
              sql: `insert into ${table('people')} (id, name) values (${p(1)}, ${p(2)})`,
              params: [10, 'Grace'],
            },
            { sql: `update ${table('people')} set score = ${p(1)} where id = ${p(2)}`, params: [85, 10] },
            { sql: `select score from ${table('people')} where id = ${p(1)}`, params: [10] },
          ],
        });
        // Assess
        expect(result.results.map((r) => r.rowCount)).toEqual([1, 1, 1]);
        expect(result.results[2]?.rows).toEqual([{ score: 85 }]);
      });

      it('rolls back every statement when a later one fails and names the failing index', async (context) => {
        // Prepare
        skipUnlessOffered(context, db, 'transactions');
        const insert = `insert into ${table('people')} (id, name) values (${p(1)}, ${p(2)})`;
        // Act
        const error = await db
          .execute({
            statements: [
              { sql: insert, params: [20, 'first'] },
              { sql: insert, params: [21, 'second'] },
              { sql: insert, params: [20, 'duplicate of the first'] },
            ],
          })
          .catch((caught: unknown) => caught);
        // Assess
        expect(error).toBeInstanceOf(ConflictError);
        expect((error as ConnectorError).details).toMatchObject({ statementIndex: 2 });
        expect((error as Error).message).toMatch(/statement 2/i);
        const left = await db.query({
          sql: `select id from ${table('people')} where id in (${p(1)}, ${p(2)})`,
          params: [20, 21],
        });
        expect(left.rows).toEqual([]);
      });

      it('refuses with NotSupportedError without "transactions", running nothing', async (context) => {
        // Prepare
        skipIfOffered(context, db, 'transactions');
        // Act
        const attempt = db.execute({
          statements: [
            { sql: `insert into ${table('people')} (id, name) values (${p(1)}, ${p(2)})`, params: [50, 'x'] },
          ],
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
        const none = await db.query({ sql: `select id from ${table('people')} where id = 50` });
        expect(none.rows).toEqual([]);
      });
    });

    describe('Method: insertRows', () => {
      it('inserts many rows and returns how many', async () => {
        // Prepare
        await db.query({
          sql: `create table ${table('events')} (id integer primary key, kind varchar(20) not null, weight integer)`,
        });
        const rows = Array.from({ length: 2500 }, (_, i) => ({
          id: i + 1,
          kind: i % 2 === 0 ? 'even' : 'odd',
          weight: i,
        }));
        // Act
        const result = await db.insertRows({ schema: fixture.schema, table: 'events', rows });
        // Assess
        expect(result.inserted).toBe(2500);
        const count = await db.query({
          sql: `select count(*) as n, sum(weight) as total from ${table('events')} where kind = ${p(1)}`,
          params: ['odd'],
        });
        expect(Number(count.rows[0]?.['n'])).toBe(1250);
        expect(Number(count.rows[0]?.['total'])).toBe(1250 * 1250);
      });

      it('skips duplicates with onConflict ignore and counts only new rows', async () => {
        // Act
        const result = await db.insertRows({
          schema: fixture.schema,
          table: 'events',
          rows: [
            { id: 1, kind: 'dup', weight: 0 },
            { id: 5001, kind: 'new', weight: 0 },
          ],
          onConflict: 'ignore',
        });
        // Assess
        expect(result.inserted).toBe(1);
        const kept = await db.query({ sql: `select kind from ${table('events')} where id = 1` });
        expect(kept.rows).toEqual([{ kind: 'even' }]);
      });

      it('throws ConflictError and inserts nothing when one row is a duplicate', async () => {
        // Act
        const attempt = db.insertRows({
          schema: fixture.schema,
          table: 'events',
          rows: [
            { id: 6001, kind: 'new', weight: 0 },
            { id: 2, kind: 'dup', weight: 0 },
          ],
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ConflictError);
        const none = await db.query({ sql: `select id from ${table('events')} where id = 6001` });
        expect(none.rows).toEqual([]);
      });

      it('gives a column a row leaves out its default', async () => {
        // Act
        await db.insertRows({
          schema: fixture.schema,
          table: 'people',
          columns: ['id', 'name', 'note'],
          rows: [
            { id: 30, name: 'with note', note: 'kept' },
            { id: 31, name: 'without note' },
          ],
        });
        // Assess
        const result = await db.query({
          sql: `select id, note from ${table('people')} where id >= 30 order by id`,
        });
        expect(result.rows).toEqual([
          { id: 30, note: 'kept' },
          { id: 31, note: 'none' },
        ]);
      });

      it('throws ValidationError for a column the table does not have', async () => {
        // Act
        const attempt = db.insertRows({
          schema: fixture.schema,
          table: 'people',
          rows: [{ id: 40, name: 'x', no_such_column: 1 }],
        });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('throws NotFoundError when the table does not exist', async () => {
        // Act
        const attempt = db.insertRows({ schema: fixture.schema, table: 'no_such_table', rows: [{ id: 1 }] });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('Method: listTables', () => {
      it('lists the tables of the schema it is asked about', async () => {
        // Act
        const result = await db.listTables({ schema: fixture.schema });
        // Assess
        expect(result.tables).toEqual([
          { schema: fixture.schema, name: 'events', type: 'table' },
          { schema: fixture.schema, name: 'people', type: 'table' },
        ]);
      });

      it('returns an empty list for a schema that does not exist', async () => {
        // Act
        const result = await db.listTables({ schema: `${fixture.schema}_absent` });
        // Assess
        expect(result.tables).toEqual([]);
      });
    });

    describe('Method: describeTable', () => {
      it('returns columns with types, nullability, defaults and the primary key', async () => {
        // Act
        const result = await db.describeTable({ schema: fixture.schema, table: 'people' });
        // Assess
        expect(result).toMatchObject({
          schema: fixture.schema,
          name: 'people',
          type: 'table',
          primaryKey: ['id'],
        });
        expect(result.columns.map((c) => [c.name, c.position, c.nullable, c.primaryKey])).toEqual([
          ['id', 1, false, true],
          ['name', 2, false, false],
          ['score', 3, true, false],
          ['note', 4, true, false],
        ]);
        expect(result.columns[0]?.type).toMatch(/int/i);
        expect(result.columns[1]?.type).toMatch(/char.*100/i);
        expect(result.columns[3]?.default).toMatch(/none/);
        expect(result.columns[0]?.default).toBeNull();
      });

      it('throws NotFoundError when the table does not exist', async () => {
        // Act
        const attempt = db.describeTable({ schema: fixture.schema, table: 'no_such_table' });
        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });
    });
  });
}
