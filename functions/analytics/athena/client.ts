/**
 * Amazon Athena through the core's AWS kit, and the warehouse-query interface on it: the only file that talks
 * to Athena. One SDK client from `createAwsClient`, every call through `awsCall` (the invocation's time left
 * as an abort signal, failures mapped once with the rows in `errors.ts`). Queries run in the configured
 * workgroup and write their results to the configured output location; values travel as
 * ExecutionParameters bound to `?`, never inside the SQL text. Results are read with GetQueryResults'
 * NextToken, at most 1000 rows a call, the header row of a SELECT dropped.
 */
import { createHash } from 'node:crypto';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  type GetQueryExecutionCommandOutput,
  GetQueryResultsCommand,
  type GetQueryResultsCommandOutput,
  GetWorkGroupCommand,
  StartQueryExecutionCommand,
  StopQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import {
  awsCall,
  awsErrorName,
  ConfigurationError,
  ConflictError,
  ConnectorError,
  createAwsClient,
  NotFoundError,
  NotSupportedError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import type { WarehouseQuery, WarehouseQueryCapability } from '#shared/interfaces/warehouse-query.ts';
import type {
  GetQueryResultsInput,
  QueryRef,
  QueryResultsPage,
  QueryState,
  QueryStatus,
} from '#shared/models/warehouse-query.ts';
import { athenaTarget, failureCode, queryError, reusedKeyError, scrub } from './errors.ts';
import type { AthenaStartQueryInput } from './models.ts';
import { literal, resultColumn, toJsonValue } from './values.ts';

/** What the client needs from the settings. */
export interface AthenaOptions {
  workGroup: string;
  /** `s3://bucket/prefix/` results are written under; undefined: the workgroup's own setting. */
  outputLocation?: string | undefined;
  /** The database of queries that name none. */
  database: string;
  /** One call's budget including the SDK's retries; the invocation's time left may cut it shorter. */
  timeoutMs: number;
  maxAttempts: number;
}

/** Athena has no per-query time limit (the workgroup's applies) and no file queries without a table. */
export const ATHENA_CAPABILITIES: readonly WarehouseQueryCapability[] = [];

/** GetQueryResults answers at most this many rows a call. */
export const ATHENA_MAX_RESULTS = 1_000;

const STATES: Readonly<Record<string, QueryState>> = {
  QUEUED: 'queued',
  RUNNING: 'running',
  SUCCEEDED: 'succeeded',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
};

type Execution = NonNullable<GetQueryExecutionCommandOutput['QueryExecution']>;

function iso(date: Date | undefined): string | null {
  return date === undefined ? null : date.toISOString();
}

/** A cursor: the query it belongs to and Athena's NextToken. */
function writeCursor(queryId: string, token: string): string {
  return Buffer.from(JSON.stringify({ q: queryId, t: token })).toString('base64url');
}

function readCursor(cursor: string, queryId: string): string {
  let value: { q?: unknown; t?: unknown } | undefined;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as typeof value;
  } catch {
    // Not one of ours: refused below.
  }
  if (value?.q !== queryId || typeof value.t !== 'string' || value.t === '') throw badCursor();
  return value.t;
}

type Row = NonNullable<NonNullable<GetQueryResultsCommandOutput['ResultSet']>['Rows']>[number];

/** Athena's text rows in the JSON form of each column's kind. */
function decodeRows(rows: Row[], columns: QueryResultsPage['columns']): unknown[][] {
  return rows.map((row) =>
    (row.Data ?? []).map((datum, i) => toJsonValue(datum.VarCharValue, columns[i]?.kind ?? 'other')),
  );
}

function badCursor(): ValidationError {
  return new ValidationError('The cursor is not one this query answered', [
    { pointer: '/cursor', message: 'expected the nextCursor of a page of this query' },
  ]);
}

/**
 * Amazon Athena as a {@link WarehouseQuery}. The SDK client is a parameter, so a test can hand in one that
 * fails on purpose.
 *
 * @example
 * ```ts
 * const athena = await AthenaWarehouse.create({ workGroup: 'primary', outputLocation: 's3://results/athena/', database: 'analytics', timeoutMs: 10_000, maxAttempts: 3 });
 * const status = await athena.startQuery({ sql: 'select count(*) as n from orders where customer = ?', params: ['acme'] });
 * ```
 */
export class AthenaWarehouse implements WarehouseQuery {
  readonly capabilities: ReadonlySet<WarehouseQueryCapability> = new Set(ATHENA_CAPABILITIES);
  readonly #sdk: AthenaClient;
  readonly #options: AthenaOptions;

  constructor(sdk: AthenaClient, options: AthenaOptions) {
    this.#sdk = sdk;
    this.#options = options;
  }

  /** Builds the SDK client the kit's way (traced when tracing is on). */
  static async create(options: AthenaOptions): Promise<AthenaWarehouse> {
    const sdk = await createAwsClient(AthenaClient, 'athena', {
      connectionTimeoutMs: Math.min(options.timeoutMs, 3_000),
      requestTimeoutMs: options.timeoutMs,
      maxAttempts: options.maxAttempts,
    });
    return new AthenaWarehouse(sdk, options);
  }

  async startQuery(input: AthenaStartQueryInput): Promise<QueryStatus> {
    if (input.timeoutSeconds !== undefined) {
      throw new NotSupportedError(
        "Athena has no per-query timeout: the workgroup's query time limit applies (leave out timeoutSeconds)",
      );
    }
    const { workGroup, outputLocation } = this.#options;
    const params = (input.params ?? []).map(literal);
    const command = new StartQueryExecutionCommand({
      QueryString: input.sql,
      WorkGroup: workGroup,
      QueryExecutionContext: { Database: input.database ?? this.#options.database },
      ...(outputLocation === undefined ? {} : { ResultConfiguration: { OutputLocation: outputLocation } }),
      ...(params.length === 0 ? {} : { ExecutionParameters: params }),
      // Athena takes 32-128 characters: the key's hash, scoped to the workgroup, makes one of any key.
      ...(input.idempotencyKey === undefined
        ? {}
        : {
            ClientRequestToken: createHash('sha256')
              .update(`${workGroup}:${input.idempotencyKey}`)
              .digest('hex'),
          }),
    });
    const out = await this.#call('StartQueryExecution', (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    );
    if (out.QueryExecutionId === undefined) {
      throw new UnexpectedResponseError('Athena answered StartQueryExecution without a QueryExecutionId', {
        details: { provider: 'Athena' },
      });
    }
    // Athena answers the id only: the query is queued until a poll says otherwise.
    return {
      queryId: out.QueryExecutionId,
      state: 'queued',
      failure: null,
      submittedAt: new Date().toISOString(),
      completedAt: null,
      rowCount: null,
    };
  }

  async getQuery(input: QueryRef): Promise<QueryStatus> {
    return this.#status(await this.#execution(input.queryId));
  }

  async getQueryResults(input: GetQueryResultsInput): Promise<QueryResultsPage> {
    const size = input.pageSize ?? 1_000;
    let token = input.cursor === undefined ? undefined : readCursor(input.cursor, input.queryId);
    // The first page: the state first (a query that has not succeeded is refused by it), and whether
    // the first row is a SELECT's header row.
    let header = token === undefined ? await this.#hasHeader(input.queryId) : false;
    const rows: unknown[][] = [];
    let columns: QueryResultsPage['columns'] = [];
    let first = true;
    do {
      const want = Math.min(ATHENA_MAX_RESULTS, size - rows.length + (header ? 1 : 0));
      const out = await this.#page(input.queryId, token, want, input.cursor !== undefined && first);
      if (first) columns = (out.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map(resultColumn);
      const got = out.ResultSet?.Rows ?? [];
      rows.push(...decodeRows(header ? got.slice(1) : got, columns));
      header = false;
      first = false;
      token = out.NextToken;
    } while (token !== undefined && rows.length < size);
    return {
      queryId: input.queryId,
      columns,
      rows,
      nextCursor: token === undefined ? null : writeCursor(input.queryId, token),
    };
  }

  async cancelQuery(input: QueryRef): Promise<QueryStatus> {
    const command = new StopQueryExecutionCommand({ QueryExecutionId: input.queryId });
    await this.#call(
      'StopQueryExecution',
      (abortSignal) => this.#sdk.send(command, { abortSignal }),
      input.queryId,
    );
    return this.getQuery(input);
  }

  /** Reads the workgroup: proves the credentials, the endpoint and ATHENA_WORKGROUP for `health`. */
  async ping(): Promise<void> {
    const command = new GetWorkGroupCommand({ WorkGroup: this.#options.workGroup });
    await this.#call('GetWorkGroup', (abortSignal) => this.#sdk.send(command, { abortSignal }));
  }

  async close(): Promise<void> {
    this.#sdk.destroy();
  }

  /** Refuses a query that has not succeeded; answers whether its first result row is a header row. */
  async #hasHeader(queryId: string): Promise<boolean> {
    const execution = await this.#execution(queryId);
    if (execution.Status?.State !== 'SUCCEEDED') throw this.#notReady(queryId, execution);
    return execution.StatementType === 'DML' && (execution.SubstatementType ?? 'SELECT') === 'SELECT';
  }

  async #execution(queryId: string): Promise<Execution> {
    const command = new GetQueryExecutionCommand({ QueryExecutionId: queryId });
    const out = await this.#call(
      'GetQueryExecution',
      (abortSignal) => this.#sdk.send(command, { abortSignal }),
      queryId,
    );
    if (out.QueryExecution?.Status?.State === undefined) {
      throw new UnexpectedResponseError('Athena answered GetQueryExecution without a state', {
        details: { provider: 'Athena', queryId },
      });
    }
    return out.QueryExecution;
  }

  async #page(
    queryId: string,
    token: string | undefined,
    max: number,
    fromCursor: boolean,
  ): Promise<GetQueryResultsCommandOutput> {
    const command = new GetQueryResultsCommand({
      QueryExecutionId: queryId,
      NextToken: token,
      MaxResults: max,
    });
    try {
      return await this.#call(
        'GetQueryResults',
        (abortSignal) => this.#sdk.send(command, { abortSignal }),
        queryId,
      );
    } catch (error) {
      // A NextToken Athena does not know (expired, or from another query) is the caller's cursor.
      if (fromCursor && error instanceof ValidationError) throw badCursor();
      throw error;
    }
  }

  #status(execution: Execution): QueryStatus {
    const status = execution.Status ?? {};
    const state = STATES[status.State ?? ''];
    const queryId = execution.QueryExecutionId ?? '';
    if (state === undefined) {
      throw new UnexpectedResponseError(`Athena answered an unknown query state for ${queryId}`, {
        details: { provider: 'Athena', queryId },
      });
    }
    const said = status.StateChangeReason ?? status.AthenaError?.ErrorMessage;
    const reason = said === undefined ? undefined : scrub(said, execution.ExecutionParameters);
    return {
      queryId,
      state,
      failure:
        state === 'failed'
          ? {
              code: failureCode(reason ?? '', status.AthenaError?.ErrorCategory),
              message: reason ?? 'Athena gave no reason',
            }
          : null,
      submittedAt: iso(status.SubmissionDateTime) ?? new Date(0).toISOString(),
      completedAt: iso(status.CompletionDateTime),
      rowCount: null,
    };
  }

  /** Why results of a query that has not succeeded cannot be read. */
  #notReady(queryId: string, execution: Execution): ConnectorError {
    const status = execution.Status ?? {};
    const state = status.State ?? 'UNKNOWN';
    if (state === 'QUEUED' || state === 'RUNNING') {
      return new ConflictError(`Query ${queryId} is ${STATES[state]}: results exist once it has succeeded`, {
        details: { provider: 'Athena', queryId, state },
      });
    }
    const said = status.StateChangeReason ?? status.AthenaError?.ErrorMessage;
    const reason = said === undefined ? undefined : scrub(said, execution.ExecutionParameters);
    const { ErrorCategory, ErrorType } = status.AthenaError ?? {};
    return queryError(queryId, state, reason, ErrorCategory, ErrorType);
  }

  async #call<T>(
    action: string,
    send: (abortSignal: AbortSignal) => Promise<T>,
    queryId?: string,
  ): Promise<T> {
    const target = athenaTarget(action, this.#options.workGroup);
    try {
      return await awsCall({ ...target, timeoutMs: this.#options.timeoutMs }, send);
    } catch (error) {
      // Athena answers an unknown id with InvalidRequestException "QueryExecution <id> was not found".
      const cause = error instanceof ConnectorError ? (error as { cause?: unknown }).cause : undefined;
      if (
        queryId !== undefined &&
        awsErrorName(cause) === 'InvalidRequestException' &&
        /was not found|does not exist/i.test((cause as Error).message)
      ) {
        throw new NotFoundError(`Athena query ${queryId} was not found`, {
          details: { provider: 'Athena', queryId },
        });
      }
      const refused =
        awsErrorName(cause) === 'InvalidRequestException'
          ? refusal(action, (cause as Error).message)
          : undefined;
      throw refused ?? error;
    }
  }
}

/**
 * What an InvalidRequestException means beyond the caller's input: a reused idempotencyKey with other SQL or
 * values (never the first query's results), or a workgroup or output location the settings name wrongly.
 */
function refusal(action: string, message: string): ConnectorError | undefined {
  const reused = action === 'StartQueryExecution' ? reusedKeyError(message) : undefined;
  if (reused !== undefined) return reused;
  const setting = /WorkGroup .*not found/i.test(message)
    ? 'ATHENA_WORKGROUP'
    : /output location/i.test(message)
      ? 'ATHENA_OUTPUT_LOCATION'
      : undefined;
  if (setting === undefined) return undefined;
  return new ConfigurationError(`Athena ${action} refused ${setting}: ${message}`, {
    details: { provider: 'Athena', setting },
  });
}
