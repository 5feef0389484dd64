/**
 * The conformance suite of the warehouse-query interface. Each implementation runs it from its own test
 * file against a real engine or a contract fake that runs the SQL (Athena's and Snowflake's run it on
 * DuckDB), so every warehouse connector behaves the same way for workflows. The SQL it sends is portable
 * (CAST, VALUES, `?` placeholders: Trino, Snowflake and DuckDB all take it); what differs per engine (a
 * number series, a slow query) comes from the fixture. A test of an optional ability skips where it is not
 * offered, and its NotSupportedError refusal skips where it is.
 *
 * What it holds every engine to is what the interface promises, not one engine's habits: column names are
 * compared without case (Athena and DuckDB answer `id`, Snowflake upper-cases unquoted names to `ID`), and an
 * integer column may be kind `integer` (a JSON number) or `bigint` (exact text) as the engine types it
 * (`CAST(? AS INTEGER)` is INTEGER in DuckDB and Athena, NUMBER(38,0) in Snowflake), its value then the
 * number or its text. Every other kind is exact.
 */
import {
  ConflictError,
  NotFoundError,
  NotSupportedError,
  TimeoutError,
  ValidationError,
} from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryStatus } from '../models/warehouse-query.ts';
import { skipIfOffered, skipUnlessOffered } from './capability-tests.ts';
import type { WarehouseQuery, WarehouseQueryCapability } from './warehouse-query.ts';
import { runQuery, waitForQuery } from './warehouse-query-operations.ts';

/** What an implementation hands the suite. */
export interface WarehouseQueryFixture {
  /** The implementation under test. */
  warehouse: WarehouseQuery;
  /** SQL answering one column `n` with the integers 0 .. count-1 in ascending order. */
  series(count: number): string;
  /** SQL that runs for at least 30 seconds unless stopped, answering one row. */
  slowSql: string;
  /** SQL reading a table that does not exist. */
  missingTableSql: string;
  /** How long the suite waits for a quick query to finish; default 20 s. */
  waitMs?: number;
  /** Releases everything the fixture opened. */
  cleanup(): Promise<void>;
}

const CAPABILITIES: readonly WarehouseQueryCapability[] = ['query-timeout', 'file-queries'];

/** Column names as the suite compares them: engines differ in case only. */
const names = (columns: readonly { name: string }[]): string[] => columns.map((c) => c.name.toLowerCase());

/** An integer value as either integer kind encodes it: a JSON number (`integer`) or its text (`bigint`). */
const integerValue = (value: unknown): number | undefined =>
  typeof value === 'number' || (typeof value === 'string' && /^-?\d+$/.test(value))
    ? Number(value)
    : undefined;

/**
 * Registers the warehouse-query conformance tests for one implementation.
 *
 * @example
 * ```ts
 * describeWarehouseQueryConformance('DuckDbClient (embedded)', async () => ({
 *   warehouse: new DuckDbClient(options), series: (n) => `select range::integer as n from range(${n})`,
 *   slowSql: 'select count(*) from range(10000000000000)', missingTableSql: 'select * from nowhere',
 *   cleanup: () => warehouse.close(),
 * }));
 * ```
 */
export function describeWarehouseQueryConformance(
  name: string,
  factory: () => Promise<WarehouseQueryFixture>,
): void {
  describe(`Warehouse query conformance: ${name}`, () => {
    let fixture: WarehouseQueryFixture;
    let warehouse: WarehouseQuery;
    const wait = (): number => fixture.waitMs ?? 20_000;
    const finished = async (status: QueryStatus): Promise<QueryStatus> =>
      waitForQuery(warehouse, status.queryId, wait());

    beforeAll(async () => {
      fixture = await factory();
      warehouse = fixture.warehouse;
    });

    afterAll(async () => {
      await fixture?.cleanup();
    });

    describe('Property: capabilities', () => {
      it('declares only abilities the interface defines', () => {
        // Assess
        for (const capability of warehouse.capabilities) expect(CAPABILITIES).toContain(capability);
      });
    });

    describe('Method: startQuery, getQuery, getQueryResults', () => {
      it('starts a query, reaches succeeded and answers typed columns and positional rows', async () => {
        // Act
        const started = await warehouse.startQuery({
          sql: 'select id, name from (values (1, ?), (2, ?)) as t(id, name) order by id',
          params: ['Ada', 'Grace'],
        });
        const status = await finished(started);
        const page = await warehouse.getQueryResults({ queryId: started.queryId });

        // Assess
        expect(['queued', 'running', 'succeeded']).toContain(started.state);
        expect(status).toMatchObject({ queryId: started.queryId, state: 'succeeded', failure: null });
        expect(status.completedAt).not.toBeNull();
        expect(names(page.columns)).toEqual(['id', 'name']);
        expect(page.columns[1]?.kind).toBe('string');
        expect(['integer', 'bigint']).toContain(page.columns[0]?.kind);
        expect(page.rows.map((row) => row[1])).toEqual(['Ada', 'Grace']);
        expect(page.nextCursor).toBeNull();
      });

      it('encodes each column kind as the interface says', async () => {
        // Act
        const { results } = await runQuery(
          warehouse,
          {
            sql:
              'select cast(? as integer) as i, cast(? as bigint) as b, cast(? as decimal(10,2)) as d, ' +
              'cast(? as double) as f, cast(? as boolean) as t, cast(? as date) as dt, ' +
              'cast(? as timestamp) as ts, cast(null as varchar) as nothing',
            params: [7, '9007199254740993', '1.50', 0.25, true, '2026-01-02', '2026-01-02 03:04:05'],
          },
          wait(),
          10,
        );

        // Assess
        expect(['integer', 'bigint']).toContain(results?.columns[0]?.kind);
        expect(results?.columns.slice(1).map((column) => column.kind)).toEqual([
          'bigint',
          'decimal',
          'float',
          'boolean',
          'date',
          'timestamp',
          'string',
        ]);
        expect(integerValue(results?.rows[0]?.[0])).toBe(7);
        expect(results?.rows.map((row) => row.slice(1))).toEqual([
          [
            '9007199254740993',
            '1.50',
            0.25,
            true,
            '2026-01-02',
            expect.stringMatching(/^2026-01-02T03:04:05/),
            null,
          ],
        ]);
      });

      it('keeps 38-digit decimals exact, -0 and NaN answerable, and instants before 1970 on their day and second', async () => {
        // Act
        const { results } = await runQuery(
          warehouse,
          {
            sql:
              'select cast(? as decimal(38,0)) as wide, cast(? as decimal(38,10)) as fine, ' +
              "cast(? as double) as z, cast('NaN' as double) as n, cast(? as date) as dt, cast(? as timestamp) as ts",
            params: [
              '-12345678901234567890123456789012345678',
              '1234567890123456789012345678.0123456789',
              -0,
              '1969-12-31',
              '1969-12-31 23:59:59.5',
            ],
          },
          wait(),
          10,
        );

        // Assess
        expect(results?.rows).toEqual([
          [
            '-12345678901234567890123456789012345678',
            '1234567890123456789012345678.0123456789',
            0,
            'NaN',
            '1969-12-31',
            expect.stringMatching(/^1969-12-31T23:59:59\.5/),
          ],
        ]);
      });

      it('binds values as data and never as SQL', async () => {
        // Prepare
        const hostile = "x' as v; drop table t; --";

        // Act
        const { results } = await runQuery(
          warehouse,
          { sql: 'select ? as v, ? as n', params: [hostile, null] },
          wait(),
          10,
        );

        // Assess
        expect(results?.rows).toEqual([[hostile, null]]);
      });

      it('pages a result with a cursor, in order, without losing or repeating a row', async () => {
        // Prepare
        const started = await warehouse.startQuery({ sql: fixture.series(2_500) });
        await finished(started);
        const seen: number[] = [];
        const sizes: number[] = [];

        // Act
        let cursor: string | undefined;
        do {
          const page = await warehouse.getQueryResults({ queryId: started.queryId, pageSize: 1_000, cursor });
          sizes.push(page.rows.length);
          for (const row of page.rows) seen.push(Number(row[0]));
          cursor = page.nextCursor ?? undefined;
        } while (cursor !== undefined);

        // Assess
        expect(sizes).toEqual([1_000, 1_000, 500]);
        expect(seen).toEqual(Array.from({ length: 2_500 }, (_, i) => i));
      });

      it('throws ValidationError naming the problem on a syntax error', async () => {
        // Act
        const attempt = runQuery(warehouse, { sql: 'selec 1' }, wait(), 10);

        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
        await expect(attempt).rejects.toThrow(/selec|syntax|parse/i);
      });

      it('throws ValidationError when the params do not match the placeholders', async () => {
        // Act
        const attempt = runQuery(warehouse, { sql: 'select ? as a, ? as b', params: [1] }, wait(), 10);

        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('throws NotFoundError when the table does not exist', async () => {
        // Act
        const attempt = runQuery(warehouse, { sql: fixture.missingTableSql }, wait(), 10);

        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      });

      it('throws NotFoundError for a handle it never gave', async () => {
        // Prepare
        const queryId = 'no-such-query-0000';

        // Act
        const results = await Promise.allSettled([
          warehouse.getQuery({ queryId }),
          warehouse.getQueryResults({ queryId }),
          warehouse.cancelQuery({ queryId }),
        ]);

        // Assess
        for (const result of results) {
          expect(result.status).toBe('rejected');
          expect((result as PromiseRejectedResult).reason).toBeInstanceOf(NotFoundError);
        }
      });

      it('throws ValidationError for a cursor the query did not answer', async () => {
        // Prepare
        const started = await warehouse.startQuery({ sql: fixture.series(3) });
        await finished(started);

        // Act
        const attempt = warehouse.getQueryResults({ queryId: started.queryId, cursor: 'bm90LWEtY3Vyc29y' });

        // Assess
        await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      });

      it('answers the first query again when started twice with one idempotency key', async () => {
        // Prepare
        const key = `conformance-${Date.now()}`;

        // Act
        const first = await warehouse.startQuery({ sql: 'select 1 as one', idempotencyKey: key });
        const second = await warehouse.startQuery({ sql: 'select 1 as one', idempotencyKey: key });

        // Assess
        expect(second.queryId).toBe(first.queryId);
      });
    });

    describe('Method: cancelQuery', () => {
      it('refuses results of a running query with ConflictError, then cancels it', async () => {
        // Prepare
        const started = await warehouse.startQuery({ sql: fixture.slowSql });

        // Act
        const early = warehouse.getQueryResults({ queryId: started.queryId });
        await expect(early).rejects.toBeInstanceOf(ConflictError);
        await warehouse.cancelQuery({ queryId: started.queryId });
        const status = await finished(started);
        const again = await warehouse.cancelQuery({ queryId: started.queryId });
        const late = warehouse.getQueryResults({ queryId: started.queryId });

        // Assess
        expect(status.state).toBe('cancelled');
        expect(again.state).toBe('cancelled');
        await expect(late).rejects.toBeInstanceOf(ConflictError);
      });

      it('cancels a query at once, even before the engine has begun running it', async () => {
        // Act
        const statuses: QueryStatus[] = [];
        for (let round = 0; round < 5; round += 1) {
          const started = await warehouse.startQuery({ sql: fixture.slowSql });
          statuses.push(await warehouse.cancelQuery({ queryId: started.queryId }));
        }
        const settled = await Promise.all(statuses.map((status) => finished(status)));

        // Assess
        expect(settled.map((status) => status.state)).toEqual(Array(5).fill('cancelled'));
      });

      it('leaves a succeeded query as it was', async () => {
        // Prepare
        const started = await warehouse.startQuery({ sql: 'select 1 as one' });
        await finished(started);

        // Act
        const status = await warehouse.cancelQuery({ queryId: started.queryId });
        const page = await warehouse.getQueryResults({ queryId: started.queryId });

        // Assess
        expect(status.state).toBe('succeeded');
        expect(page.rows.map((row) => integerValue(row[0]))).toEqual([1]);
      });
    });

    describe('Capability: query-timeout', () => {
      it('stops a query that runs past timeoutSeconds and reports a TimeoutError', async (context) => {
        skipUnlessOffered(context, warehouse, 'query-timeout');
        // Act
        const started = await warehouse.startQuery({ sql: fixture.slowSql, timeoutSeconds: 1 });
        const status = await finished(started);
        const results = warehouse.getQueryResults({ queryId: started.queryId });

        // Assess
        expect(status.state).toBe('failed');
        expect(status.failure?.message).toMatch(/time|stopped/i);
        await expect(results).rejects.toBeInstanceOf(TimeoutError);
      });

      it('refuses timeoutSeconds with NotSupportedError', async (context) => {
        skipIfOffered(context, warehouse, 'query-timeout');
        // Act
        const attempt = warehouse.startQuery({ sql: 'select 1 as one', timeoutSeconds: 5 });

        // Assess
        await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
      });
    });
  });
}
