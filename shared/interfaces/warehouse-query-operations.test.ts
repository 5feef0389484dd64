/**
 * How waiting for a query spends time, on a fake clock: polls back off, stop at the wait asked or before
 * the invocation's time left runs out, and answer the state seen rather than an error.
 */
import { ValidationError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import type { QueryStatus } from '../models/warehouse-query.ts';
import type { WarehouseQuery } from './warehouse-query.ts';
import { MAX_POLL_MS, type PollClock, runQuery, waitForQuery } from './warehouse-query-operations.ts';

function fakeClock(remainingMs: number): PollClock & { sleeps: number[]; at: number } {
  const clock = {
    at: 0,
    sleeps: [] as number[],
    now: () => clock.at,
    remaining: () => remainingMs - clock.at,
    sleep: async (ms: number) => {
      clock.sleeps.push(ms);
      clock.at += ms;
    },
  };
  return clock;
}

function fakeWarehouse(states: QueryStatus['state'][]): WarehouseQuery & { polls: number } {
  const status = (state: QueryStatus['state']): QueryStatus => ({
    queryId: 'q1',
    state,
    failure: state === 'failed' ? { code: 'Parser', message: 'syntax error at or near "selec"' } : null,
    submittedAt: '2026-01-01T00:00:00.000Z',
    completedAt: null,
    rowCount: null,
  });
  const warehouse = {
    polls: 0,
    capabilities: new Set<never>(),
    startQuery: async () => status('queued'),
    getQuery: async () => {
      const state = states[Math.min(warehouse.polls, states.length - 1)] ?? 'running';
      warehouse.polls += 1;
      return status(state);
    },
    getQueryResults: async () => {
      throw new ValidationError('DuckDB query failed, the SQL does not parse');
    },
    cancelQuery: async () => status('cancelled'),
    close: async () => undefined,
  };
  return warehouse;
}

describe('waitForQuery', () => {
  it('polls with growing pauses until the query is final', async () => {
    // Prepare
    const clock = fakeClock(60_000);
    const warehouse = fakeWarehouse(['queued', 'running', 'running', 'running', 'succeeded']);

    // Act
    const status = await waitForQuery(warehouse, 'q1', 30_000, clock);

    // Assess
    expect(status.state).toBe('succeeded');
    expect(clock.sleeps).toEqual([50, 75, 113, 170]);
  });

  it('answers the running state when the wait asked for is over, never an error', async () => {
    // Prepare
    const clock = fakeClock(600_000);
    const warehouse = fakeWarehouse(['running']);

    // Act
    const status = await waitForQuery(warehouse, 'q1', 10_000, clock);

    // Assess
    expect(status.state).toBe('running');
    expect(clock.at).toBe(10_000);
    expect(Math.max(...clock.sleeps)).toBeLessThanOrEqual(MAX_POLL_MS);
  });

  it('stops early enough to answer within the invocation time left', async () => {
    // Prepare
    const clock = fakeClock(5_000);
    const warehouse = fakeWarehouse(['running']);

    // Act
    const status = await waitForQuery(warehouse, 'q1', 60_000, clock);

    // Assess
    expect(status.state).toBe('running');
    expect(clock.at).toBeLessThanOrEqual(5_000 - MAX_POLL_MS);
  });
});

describe('runQuery', () => {
  it('throws the error of a failed query', async () => {
    // Prepare
    const warehouse = fakeWarehouse(['failed']);

    // Act
    const attempt = runQuery(warehouse, { sql: 'selec 1' }, 1_000, 10, fakeClock(60_000));

    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
  });

  it('answers the handle without results when the query is still running', async () => {
    // Act
    const out = await runQuery(fakeWarehouse(['running']), { sql: 'select 1' }, 500, 10, fakeClock(60_000));

    // Assess
    expect(out).toMatchObject({ status: { queryId: 'q1', state: 'running' }, results: null });
  });

  it('reads the results without polling when the start answers a final state (a repeated idempotency key)', async () => {
    // Prepare
    const base = fakeWarehouse(['running']);
    const done: QueryStatus = {
      queryId: 'q1',
      state: 'succeeded',
      failure: null,
      submittedAt: '2026-01-01T00:00:00.000Z',
      completedAt: '2026-01-01T00:00:01.000Z',
      rowCount: 1,
    };
    const page = {
      queryId: 'q1',
      columns: [{ name: 'one', type: 'INTEGER', kind: 'integer' as const }],
      rows: [[1]],
      nextCursor: null,
    };
    const warehouse: WarehouseQuery = {
      ...base,
      startQuery: async () => done,
      getQueryResults: async () => page,
    };

    // Act
    const out = await runQuery(
      warehouse,
      { sql: 'select 1 as one', idempotencyKey: 'k-1' },
      1_000,
      10,
      fakeClock(60_000),
    );

    // Assess
    expect(out).toEqual({ status: done, results: page });
    expect(base.polls).toBe(0);
  });
});
