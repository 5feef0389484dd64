/**
 * The warehouse-query interface: what every analytical query engine (Athena, Snowflake SQL API v2,
 * DuckDB) offers to workflows, whatever its API looks like. Queries are asynchronous: `startQuery` answers
 * a handle at once, `getQuery` tells the state, `getQueryResults` reads the result one page at a time with a
 * cursor, `cancelQuery` stops it. Waiting is never a sleeping Lambda: `waitForQuery` polls within the
 * invocation's time left and answers the state it saw, so a workflow loops with a Wait state. Models live in
 * `shared/models/warehouse-query.ts`.
 */
import type {
  GetQueryResultsInput,
  QueryRef,
  QueryResultsPage,
  QueryStatus,
  StartQueryInput,
} from '../models/warehouse-query.ts';
import type { HasCapabilities } from './capabilities.ts';

/**
 * Optional abilities a warehouse may offer:
 * - `query-timeout`: `startQuery` honours `timeoutSeconds` (Snowflake's `timeout`, DuckDB's interrupt);
 *   without it, a request giving one is refused with `NotSupportedError`;
 * - `file-queries`: SQL reads CSV, NDJSON and Parquet objects of object storage directly, without a table
 *   defined beforehand (DuckDB); Athena and Snowflake need a table or stage.
 */
export type WarehouseQueryCapability = 'query-timeout' | 'file-queries';

/**
 * A warehouse query engine. Values only travel as bound parameters for `?` placeholders, never inside SQL
 * text. Every method maps engine failures onto the core error taxonomy: SQL the engine refuses at submission
 * (syntax, a type error, a parameter count that does not match) is a `ValidationError` naming the problem, a
 * missing table a `NotFoundError`, an unknown or expired handle a `NotFoundError`, results of a query that has
 * not succeeded a `ConflictError` naming its state (a failed one: the `ValidationError` of its failure),
 * refused credentials an `AuthError`, throttling a `RateLimitedError`, an engine that is down an
 * `UnavailableError`. Messages never contain parameter values.
 *
 * @example
 * ```ts
 * const started = await warehouse.startQuery({ sql: 'select count(*) as n from events where day = ?', params: ['2026-01-01'] });
 * const status = await waitForQuery(warehouse, started.queryId, 10_000);
 * if (status.state === 'succeeded') page = await warehouse.getQueryResults({ queryId: status.queryId });
 * ```
 */
export interface WarehouseQuery extends HasCapabilities<WarehouseQueryCapability> {
  /** Submits one parameterised statement and answers its handle and first state without waiting for it. */
  startQuery(input: StartQueryInput): Promise<QueryStatus>;
  /** The state of a started query now; `NotFoundError` for an unknown handle. */
  getQuery(input: QueryRef): Promise<QueryStatus>;
  /** One page of a succeeded query's result and the cursor of the next; rows keep the result's order. */
  getQueryResults(input: GetQueryResultsInput): Promise<QueryResultsPage>;
  /**
   * Asks the engine to stop the query and answers its state. Cancelling a query that is already final is
   * not an error: its final state comes back unchanged.
   */
  cancelQuery(input: QueryRef): Promise<QueryStatus>;
  /** Releases what the client holds (connections, sessions). */
  close(): Promise<void>;
}
