/**
 * Snowflake's SQL API v2 as data for the core's REST kit, and the warehouse-query interface on it: statements
 * submitted asynchronously with their values as typed bindings, polled by handle, read one result partition at
 * a time and cancelled. The only file that talks to Snowflake; failures are mapped once (`errors.ts`).
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  ConflictError,
  defineRestProvider,
  type RestClient,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import type * as z from 'zod';
import type { WarehouseQuery, WarehouseQueryCapability } from '#shared/interfaces/warehouse-query.ts';
import type {
  GetQueryResultsInput,
  QueryRef,
  QueryResultsPage,
  QueryStatus,
  ResultColumn,
  WarehouseParam,
} from '#shared/models/warehouse-query.ts';
import {
  CANCELLED_CODE,
  inspectStatement,
  NO_SUCH_STATEMENT_CODE,
  SNOWFLAKE_API_ERRORS,
  StatementFailedError,
  statementError,
} from './errors.ts';
import {
  PartitionAnswer,
  ResultSetAnswer,
  type SnowflakeStartQueryInput,
  StatementRunning,
} from './models.ts';
import { resultColumn, toJsonValue } from './values.ts';

/** Snowflake as data; its settings are `SNOWFLAKE_API_URL`, `SNOWFLAKE_TIMEOUT_MS`, ... */
export const snowflakeApi = defineRestProvider({
  name: 'Snowflake',
  settingsPrefix: 'SNOWFLAKE',
  // Every account has its own host; `function.yml` derives it from the account identifier.
  baseUrl: 'https://account-identifier.snowflakecomputing.com',
  baseUrlNote: 'https://<account_identifier>.snowflakecomputing.com',
  // The key-pair JWT comes from `auth.ts`; this header tells Snowflake which kind of token it is.
  headers: { 'x-snowflake-authorization-token-type': 'KEYPAIR_JWT' },
  errors: SNOWFLAKE_API_ERRORS,
  // A 422 carries a failed statement (a 408 one stopped by its timeout), read by the polls below rather
  // than mapped by status.
  inspect: inspectStatement,
});

/** What Snowflake offers beyond the interface's core: a per-statement `timeout`. */
export const SNOWFLAKE_CAPABILITIES: readonly WarehouseQueryCapability[] = ['query-timeout'];

export interface SnowflakeWarehouseOptions {
  /** Used to derive a stable requestId from an idempotency key (per account and user). */
  account: string;
  user: string;
  /** Context of every statement unless its input names another. */
  warehouse?: string | undefined;
  database?: string | undefined;
  schema?: string | undefined;
  role?: string | undefined;
  /** `timeout` of a statement whose input gives none; 0 leaves Snowflake's (STATEMENT_TIMEOUT_IN_SECONDS). */
  defaultTimeoutSeconds: number;
}

interface KnownResult {
  columns: ResultColumn[];
  /** Rows per partition. */
  partitions: number[];
}

/** Results whose metadata a container remembers, so paging does not fetch it again. */
const MAX_KNOWN = 256;

const STATEMENTS = '/api/v2/statements';

/**
 * The path of a statement. `.` and `..` match the query handle pattern, but a URL drops or climbs them
 * (`/api/v2/statements/..` would reach `/api/v2`): refused with a ValidationError naming `/queryId`.
 */
function statementPath(queryId: string): string {
  if (queryId === '.' || queryId === '..') {
    const message = '"." and ".." cannot name a statement in a URL';
    throw new ValidationError(`Invalid input: /queryId: ${message}`, [{ pointer: '/queryId', message }]);
  }
  return `${STATEMENTS}/${encodeURIComponent(queryId)}`;
}

/**
 * A value as a SQL API binding `{ type, value }`: integers FIXED, other numbers REAL, booleans BOOLEAN,
 * strings TEXT (a CAST in the SQL makes a date of one), null a TEXT null.
 *
 * @example
 * ```ts
 * binding(42); // { type: 'FIXED', value: '42' }
 * ```
 */
export function binding(value: WarehouseParam): { type: string; value: string | null } {
  if (value === null) return { type: 'TEXT', value: null };
  if (typeof value === 'boolean') return { type: 'BOOLEAN', value: String(value) };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value)
      ? { type: 'FIXED', value: String(value) }
      : { type: 'REAL', value: String(value) };
  }
  return { type: 'TEXT', value };
}

/** A UUID derived from an idempotency key, so a repeated start resubmits the same request. */
function requestIdOf(key: string, scope: string): string {
  const hex = createHash('sha256').update(`${scope}:${key}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))].slice(
    0,
    10,
  );
  throw new UnexpectedResponseError(
    `Snowflake answered ${what} without the expected fields (${fields.join(', ')})`,
    {
      details: { provider: 'Snowflake', fields },
    },
  );
}

function writeCursor(queryId: string, partition: number, offset: number): string {
  return Buffer.from(JSON.stringify({ q: queryId, p: partition, o: offset })).toString('base64url');
}

function readCursor(cursor: string, queryId: string, known: KnownResult): { p: number; o: number } {
  let value: { q?: unknown; p?: unknown; o?: unknown } = {};
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof value;
  } catch {
    // Not one of ours: refused below.
  }
  const { q, p, o } = value ?? {};
  const rows = typeof p === 'number' ? known.partitions[p] : undefined;
  if (
    q !== queryId ||
    !Number.isSafeInteger(o) ||
    (o as number) < 0 ||
    rows === undefined ||
    (o as number) >= rows
  ) {
    throw new ValidationError('The cursor is not one this query answered', [
      { pointer: '/cursor', message: 'expected the nextCursor of a page of this query' },
    ]);
  }
  return { p: p as number, o: o as number };
}

/**
 * @example
 * ```ts
 * const warehouse = new SnowflakeWarehouse(snowflakeApi.client({ auth }), { account: 'myorg-analytics', user: 'LOADER', defaultTimeoutSeconds: 0 });
 * const status = await warehouse.startQuery({ sql: 'select count(*) as n from orders where customer = ?', params: ['acme'] });
 * ```
 */
export class SnowflakeWarehouse implements WarehouseQuery {
  readonly capabilities: ReadonlySet<WarehouseQueryCapability> = new Set(SNOWFLAKE_CAPABILITIES);
  readonly #rest: RestClient;
  readonly #options: SnowflakeWarehouseOptions;
  readonly #known = new Map<string, KnownResult>();
  /** When this container saw a statement submitted, and reach a final state (the API gives no end time). */
  readonly #times = new Map<string, { submittedAt: string; completedAt?: string }>();

  constructor(rest: RestClient, options: SnowflakeWarehouseOptions) {
    this.#rest = rest;
    this.#options = options;
  }

  async startQuery(input: SnowflakeStartQueryInput): Promise<QueryStatus> {
    const options = this.#options;
    const scope = `${options.account}.${options.user}`.toUpperCase();
    const requestId =
      input.idempotencyKey === undefined ? randomUUID() : requestIdOf(input.idempotencyKey, scope);
    const bindings = Object.fromEntries(
      (input.params ?? []).map((value, i) => [String(i + 1), binding(value)]),
    );
    const timeout = input.timeoutSeconds ?? options.defaultTimeoutSeconds;
    const context = {
      warehouse: input.warehouse ?? options.warehouse,
      database: input.database ?? options.database,
      schema: input.schema ?? options.schema,
      role: input.role ?? options.role,
    };
    const body = {
      statement: input.sql,
      ...(timeout > 0 ? { timeout } : {}),
      ...Object.fromEntries(Object.entries(context).filter(([, value]) => value !== undefined)),
      ...(Object.keys(bindings).length > 0 ? { bindings } : {}),
    };
    try {
      const answer = await this.#rest.send('POST', STATEMENTS, undefined, {
        query: { requestId, retry: true, async: true, nullable: true },
        json: body,
        // The requestId makes a resubmission safe (retry=true answers the first statement): so may the core.
        idempotencyKey: requestId,
        what: 'a statement submission',
      });
      return this.#status(answer.status, answer.body, 'a statement submission');
    } catch (error) {
      throw error instanceof StatementFailedError ? statementError(error.failure, 'start-query') : error;
    }
  }

  async getQuery(input: QueryRef): Promise<QueryStatus> {
    const path = statementPath(input.queryId);
    try {
      const answer = await this.#rest.send('GET', path, undefined, { what: 'a statement status' });
      return this.#status(answer.status, answer.body, 'a statement status');
    } catch (error) {
      if (!(error instanceof StatementFailedError)) throw error;
      const { failure } = error;
      if (failure.code === NO_SUCH_STATEMENT_CODE) throw statementError(failure, 'get-query');
      const cancelled = failure.code === CANCELLED_CODE;
      return {
        ...this.#final(input.queryId),
        state: cancelled ? 'cancelled' : 'failed',
        failure: cancelled ? null : { code: failure.code, message: statementError(failure, 'query').message },
        rowCount: null,
      };
    }
  }

  async getQueryResults(input: GetQueryResultsInput): Promise<QueryResultsPage> {
    const known = this.#known.get(input.queryId) ?? (await this.#fetchResult(input.queryId));
    let { p, o } =
      input.cursor === undefined ? { p: 0, o: 0 } : readCursor(input.cursor, input.queryId, known);
    const size = input.pageSize ?? 1_000;
    const kinds = known.columns.map((column) => column.kind);
    const rows: unknown[][] = [];
    while (rows.length < size && p < known.partitions.length) {
      const data = await this.#partition(input.queryId, p);
      const taken = data.slice(o, o + size - rows.length);
      for (const row of taken) rows.push(row.map((value, i) => toJsonValue(value, kinds[i] ?? 'other')));
      o += taken.length;
      if (o >= data.length) {
        p += 1;
        o = 0;
      }
    }
    return {
      queryId: input.queryId,
      columns: known.columns,
      rows,
      nextCursor: p < known.partitions.length ? writeCursor(input.queryId, p, o) : null,
    };
  }

  async cancelQuery(input: QueryRef): Promise<QueryStatus> {
    const path = `${statementPath(input.queryId)}/cancel`;
    try {
      // Cancelling twice is harmless: the key lets the core retry it after a 429 or a 5xx.
      await this.#rest.send('POST', path, undefined, {
        idempotencyKey: `cancel-${input.queryId}`,
        what: 'a cancel',
      });
    } catch (error) {
      throw error instanceof StatementFailedError ? statementError(error.failure, 'cancel-query') : error;
    }
    return this.getQuery(input);
  }

  /** Runs `select 1` synchronously: proves the URL, the key and the warehouse for `health`. */
  async ping(): Promise<void> {
    const status = await this.startQuery({ sql: 'select 1 as ok' });
    if (status.state === 'failed') throw new UnexpectedResponseError('Snowflake could not run select 1');
  }

  async close(): Promise<void> {
    this.#known.clear();
    this.#times.clear();
    this.#rest.close();
  }

  /** The status a 200 (a result) or 202 (running) answer means. */
  #status(status: number, body: unknown, what: string): QueryStatus {
    if (status === 202) {
      const { statementHandle } = parse(StatementRunning, body, what);
      return {
        queryId: statementHandle,
        state: 'running',
        failure: null,
        submittedAt: this.#submitted(statementHandle),
        completedAt: null,
        rowCount: null,
      };
    }
    if (status !== 200) {
      throw new UnexpectedResponseError(`Snowflake answered ${what} with HTTP ${status}`, {
        details: { provider: 'Snowflake', status },
      });
    }
    const answer = parse(ResultSetAnswer, body, what);
    this.#remember(answer);
    return {
      ...this.#final(answer.statementHandle, answer.createdOn),
      state: 'succeeded',
      failure: null,
      rowCount: answer.resultSetMetaData.numRows,
    };
  }

  #submitted(queryId: string, createdOn?: number): string {
    let times = this.#times.get(queryId);
    if (times === undefined) {
      times = { submittedAt: new Date(createdOn ?? Date.now()).toISOString() };
      this.#times.set(queryId, times);
      for (const old of [...this.#times.keys()].slice(0, Math.max(0, this.#times.size - MAX_KNOWN))) {
        this.#times.delete(old);
      }
    }
    return times.submittedAt;
  }

  #final(queryId: string, createdOn?: number): Pick<QueryStatus, 'queryId' | 'submittedAt' | 'completedAt'> {
    const submittedAt = this.#submitted(queryId, createdOn);
    const times = this.#times.get(queryId) ?? { submittedAt };
    times.completedAt ??= new Date().toISOString();
    return { queryId, submittedAt, completedAt: times.completedAt };
  }

  #remember(answer: ResultSetAnswer): KnownResult {
    const known = {
      columns: answer.resultSetMetaData.rowType.map((column) => resultColumn(column)),
      partitions: answer.resultSetMetaData.partitionInfo.map((partition) => partition.rowCount),
    };
    this.#known.set(answer.statementHandle, known);
    for (const old of [...this.#known.keys()].slice(0, Math.max(0, this.#known.size - MAX_KNOWN))) {
      this.#known.delete(old);
    }
    return known;
  }

  /** The result's metadata from Snowflake: a query that has not succeeded is refused by its state. */
  async #fetchResult(queryId: string): Promise<KnownResult> {
    const path = statementPath(queryId);
    try {
      const answer = await this.#rest.send('GET', path, undefined, { what: 'a statement status' });
      const status = this.#status(answer.status, answer.body, 'a statement status');
      const known = this.#known.get(queryId);
      if (status.state === 'succeeded' && known !== undefined) return known;
      throw new ConflictError(`Query ${queryId} is ${status.state}: results exist once it has succeeded`);
    } catch (error) {
      // A failed statement's own error: a syntax error stays a ValidationError, a timeout a TimeoutError,
      // a cancelled one a ConflictError.
      throw error instanceof StatementFailedError
        ? statementError(error.failure, 'get-query-results')
        : error;
    }
  }

  async #partition(queryId: string, partition: number): Promise<unknown[][]> {
    const path = statementPath(queryId);
    try {
      const answer = await this.#rest.send('GET', path, undefined, {
        query: { partition },
        what: 'a result partition',
      });
      return parse(PartitionAnswer, answer.body, 'a result partition').data;
    } catch (error) {
      throw error instanceof StatementFailedError
        ? statementError(error.failure, 'get-query-results')
        : error;
    }
  }
}
