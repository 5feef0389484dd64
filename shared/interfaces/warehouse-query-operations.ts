/**
 * The warehouse-query interface's operations, declared once for every warehouse connector (Athena,
 * Snowflake, DuckDB): a connector whose client implements {@link WarehouseQuery} gets `start-query`,
 * `get-query`, `get-query-results`, `cancel-query` and `run-query`, giving only its own start input (the
 * interface's fields extended with its engine's context). Waiting polls within the invocation's time left
 * ({@link waitForQuery}); it never sleeps past it.
 */
import { ANSWER_RESERVE_MS, type OperationBuilder, remainingTimeMs } from '@circle-core/core';
import type * as z from 'zod';
import {
  FINAL_QUERY_STATES,
  GetQueryInput,
  GetQueryResultsInput,
  QueryRef,
  QueryResultsPage,
  QueryStatus,
  RunQueryOutput,
  type StartQueryInput,
} from '../models/warehouse-query.ts';
import type { WarehouseQuery } from './warehouse-query.ts';

/** First pause between two polls; each next one is half as long again, up to {@link MAX_POLL_MS}. */
export const FIRST_POLL_MS = 50;
/** Longest pause between two polls. */
export const MAX_POLL_MS = 2_000;

/** How {@link waitForQuery} tells time; tests inject a fake clock. */
export interface PollClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** Milliseconds left in the invocation. */
  remaining(): number;
}

const realClock: PollClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  remaining: () => remainingTimeMs(),
};

/**
 * Polls `getQuery` until the query is final, `waitMs` has passed, or the invocation has only its answer
 * reserve left (plus one poll's pause), and answers the last state seen: a query still running comes back
 * as `queued` or `running`, never as an error, so the caller polls again later (a Step Functions Wait state).
 *
 * @example
 * ```ts
 * const status = await waitForQuery(warehouse, queryId, 20_000);
 * ```
 */
export async function waitForQuery(
  warehouse: WarehouseQuery,
  queryId: string,
  waitMs: number,
  clock: PollClock = realClock,
): Promise<QueryStatus> {
  const until = clock.now() + waitMs;
  let pause = FIRST_POLL_MS;
  for (;;) {
    const status = await warehouse.getQuery({ queryId });
    if (FINAL_QUERY_STATES.has(status.state)) return status;
    const left = Math.min(until - clock.now(), clock.remaining() - ANSWER_RESERVE_MS - MAX_POLL_MS);
    if (left <= 0) return status;
    await clock.sleep(Math.min(pause, left));
    pause = Math.min(Math.ceil(pause * 1.5), MAX_POLL_MS);
  }
}

/**
 * Starts a query, waits for it within `waitMs` and the time left, and reads its first page when it
 * succeeded. A failed query throws its mapped error (a `ValidationError` naming the problem for bad SQL).
 *
 * @example
 * ```ts
 * const { status, results } = await runQuery(warehouse, { sql: 'select 1 as one' }, 10_000, 100);
 * ```
 */
export async function runQuery(
  warehouse: WarehouseQuery,
  input: StartQueryInput,
  waitMs: number,
  pageSize: number,
  clock: PollClock = realClock,
): Promise<RunQueryOutput> {
  const started = await warehouse.startQuery(input);
  const status = FINAL_QUERY_STATES.has(started.state)
    ? started
    : await waitForQuery(warehouse, started.queryId, waitMs, clock);
  if (status.state === 'queued' || status.state === 'running') return { status, results: null };
  // A failed or cancelled query: getQueryResults throws the error its state means.
  const results = await warehouse.getQueryResults({ queryId: status.queryId, pageSize });
  return { status, results };
}

/**
 * The operation table of a warehouse connector.
 *
 * @example
 * ```ts
 * defineConnector({ ..., operations: (op) => warehouseQueryOperations(op, { startInput: DuckDbStartQueryInput }) });
 * ```
 */
export function warehouseQueryOperations<
  Config,
  Client extends WarehouseQuery,
  S extends z.ZodObject & z.ZodType<StartQueryInput>,
>(op: OperationBuilder<Config, Client>, wording: { startInput: S }) {
  const runInput = wording.startInput.extend({
    waitSeconds: GetQueryInput.shape.waitSeconds
      .unwrap()
      .default(30)
      .describe(
        "How long to wait for the result within the invocation's time left before answering the handle",
      ),
    pageSize: GetQueryResultsInput.shape.pageSize,
  });
  return {
    'start-query': op({
      description: 'Starts one parameterised SQL statement and answers its handle without waiting for it',
      input: wording.startInput,
      output: QueryStatus,
      run: (input, { client }) => client.startQuery(input as StartQueryInput),
    }),
    'get-query': op({
      description: "Answers a query's state, optionally polling until it is final within the time left",
      input: GetQueryInput,
      output: QueryStatus,
      run: (input, { client }) => waitForQuery(client, input.queryId, input.waitSeconds * 1000),
    }),
    'get-query-results': op({
      description:
        "Reads one page of a succeeded query's result with typed columns and the next page's cursor",
      input: GetQueryResultsInput,
      output: QueryResultsPage,
      run: (input, { client }) => client.getQueryResults(input),
    }),
    'cancel-query': op({
      effect: 'write',
      description: 'Stops a query; a query already final keeps its state',
      input: QueryRef,
      output: QueryStatus,
      run: (input, { client }) => client.cancelQuery(input),
    }),
    'run-query': op({
      description:
        'Starts a query, waits for it within the time left and answers its first page when it succeeded',
      input: runInput,
      output: RunQueryOutput,
      run: (input, { client }) => {
        const { waitSeconds, pageSize, ...start } = input as StartQueryInput & {
          waitSeconds: number;
          pageSize: number;
        };
        return runQuery(client, start, waitSeconds * 1000, pageSize);
      },
    }),
  };
}
