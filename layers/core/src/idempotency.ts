/**
 * Inbound idempotency for operations that change something (`effect: 'write'`): with
 * `CIRCLE_IDEMPOTENCY_TABLE` set, a write runs at most once per idempotency key, connector and operation,
 * through Powertools idempotency on DynamoDB. A repeated delivery answers the stored result; the same key
 * with another input, or while the first run is still going, is refused; a run that fails is not stored,
 * so it can be tried again. Without the table, writes run unprotected (a warning says so at cold start).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { createAwsClient } from './aws/client.ts';
import { type AwsErrorTable, awsFailure } from './aws/errors.ts';
import { remainingTimeMs } from './context.ts';
import {
  ConfigurationError,
  ConflictError,
  ConnectorError,
  type ConnectorErrorOptions,
  ValidationError,
} from './errors.ts';
import type { Logger } from './observability.ts';

/** The environment variable naming the DynamoDB table (partition key `id`, string; TTL on `expiration`). */
export const IDEMPOTENCY_TABLE_VARIABLE = 'CIRCLE_IDEMPOTENCY_TABLE';
/** The environment variable setting how long a completed write is remembered, in seconds. */
export const IDEMPOTENCY_TTL_VARIABLE = 'CIRCLE_IDEMPOTENCY_TTL_SECONDS';
/** How long a completed write is remembered unless `CIRCLE_IDEMPOTENCY_TTL_SECONDS` says otherwise. */
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 3600;
/** Outside Lambda there is no deadline; a crashed run's claim then lapses after Lambda's longest run. */
const UNBOUNDED_RUN_MS = 900_000;
const KEY_PATTERN = /^[\x21-\x7e]{1,256}$/;
/** The idempotency table's own rows over the kit's DynamoDB ones: which setting and which permissions. */
const STORE_ERRORS: AwsErrorTable = {
  ResourceNotFoundException: {
    kind: 'configuration',
    says: 'does not exist',
    hint: `check ${IDEMPOTENCY_TABLE_VARIABLE}`,
  },
  AccessDeniedException: {
    kind: 'configuration',
    hint: "the function's role needs dynamodb:GetItem, PutItem, UpdateItem and DeleteItem on it",
  },
};

/** What the idempotency store needs from the environment. */
export interface IdempotencySettings {
  /** Undefined: writes run unprotected. */
  table: string | undefined;
  ttlSeconds: number;
}

/**
 * Reads `CIRCLE_IDEMPOTENCY_TABLE` and `CIRCLE_IDEMPOTENCY_TTL_SECONDS` (an integer from 1 to 31 536 000,
 * default 3600). Throws a {@link ConfigurationError} naming the variable when the TTL is not such a number.
 *
 * @example
 * ```ts
 * const { table, ttlSeconds } = idempotencySettings(); // { table: 'circle-core-dev-idempotency', ttlSeconds: 3600 }
 * ```
 */
export function idempotencySettings(
  env: Record<string, string | undefined> = process.env,
): IdempotencySettings {
  const table = env[IDEMPOTENCY_TABLE_VARIABLE]?.trim() || undefined;
  const rawTtl = env[IDEMPOTENCY_TTL_VARIABLE]?.trim() || undefined;
  const ttlSeconds = rawTtl === undefined ? DEFAULT_IDEMPOTENCY_TTL_SECONDS : Number(rawTtl);
  if (!Number.isInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > 31_536_000) {
    throw new ConfigurationError(
      `${IDEMPOTENCY_TTL_VARIABLE} is invalid (expected whole seconds from 1 to 31536000)`,
    );
  }
  return { table, ttlSeconds };
}

/**
 * A write with this idempotency key is still running elsewhere (a concurrent duplicate). Retryable: a
 * queue redelivers it after the visibility timeout, by then the first run's result is stored and answered.
 * Maps like any {@link ConflictError} (HTTP 409, Step Functions `ConflictError`).
 *
 * @example
 * ```ts
 * throw new IdempotencyInProgressError('post-message');
 * ```
 */
export class IdempotencyInProgressError extends ConflictError {
  override readonly retryable = true;
  constructor(operation: string, options?: ConnectorErrorOptions) {
    super(`A ${operation} request with this idempotency key is still being processed; retry later`, options);
    // The taxonomy's stable name: state machines and callers match ConflictError.
    this.name = 'ConflictError';
  }
}

/** One write as the guard sees it. */
export interface IdempotentRequest {
  operation: string;
  /** The invocation's key (`Idempotency-Key` header, envelope `idempotencyKey`, SQS message id). */
  key: string | undefined;
  /** The input as received: a repeated key must come with the same input. */
  input: unknown;
}

export interface IdempotencyGuardOptions {
  connector: string;
  logger: Logger;
  /** The connector's write operations, for the cold-start warning when the table is not set. */
  writes: readonly string[];
  env?: Record<string, string | undefined>;
  /** For tests; default a DynamoDB client from the environment, created on the first write. */
  client?: DynamoDBClient;
}

interface Payload {
  operation: string;
  idempotencyKey: string;
  input: unknown;
}

type Work = () => Promise<unknown>;
type Wrapped = (payload: Payload, work: Work) => Promise<unknown>;

/**
 * Runs a connector's write operations through Powertools idempotency when `CIRCLE_IDEMPOTENCY_TABLE` is set.
 * One per connector runtime; the DynamoDB client is created on the first write.
 *
 * @example
 * ```ts
 * const guard = new IdempotencyGuard({ connector: 'slack', logger, writes: ['post-message'] });
 * const output = await guard.run({ operation: 'post-message', key, input }, () => runOperation());
 * ```
 */
export class IdempotencyGuard {
  /** Whether writes are protected (the table is set). */
  readonly enabled: boolean;
  readonly #connector: string;
  readonly #logger: Logger;
  readonly #settings: IdempotencySettings | undefined;
  readonly #settingsError: ConnectorError | undefined;
  readonly #client: DynamoDBClient | undefined;
  #wrapped: Promise<Wrapped> | undefined;

  constructor(options: IdempotencyGuardOptions) {
    this.#connector = options.connector;
    this.#logger = options.logger;
    this.#client = options.client;
    try {
      this.#settings = idempotencySettings(options.env);
    } catch (error) {
      this.#settingsError = error as ConnectorError;
      this.#logger.error('Idempotency configuration is invalid', { error: this.#settingsError.message });
    }
    this.enabled = this.#settings?.table !== undefined || this.#settingsError !== undefined;
    if (!this.enabled && options.writes.length > 0) {
      this.#logger.warn(
        `Write operations run without idempotency protection: set ${IDEMPOTENCY_TABLE_VARIABLE} to run each at most once per idempotency key`,
        { unprotectedOperations: [...options.writes] },
      );
    }
  }

  /**
   * Runs `work` at most once per (connector, operation, key) while the record lives. Without the table it
   * just runs `work`. Throws ValidationError when the key is missing or malformed, ConflictError when the
   * key was used with another input, {@link IdempotencyInProgressError} while a duplicate is running, and
   * UnavailableError, RateLimitedError (throttled) or ConfigurationError when the store fails.
   *
   * @example
   * ```ts
   * await guard.run({ operation: 'insert-rows', key: meta.idempotencyKey, input: rawInput }, run);
   * ```
   */
  async run(request: IdempotentRequest, work: Work): Promise<unknown> {
    if (!this.enabled) return work();
    if (this.#settingsError !== undefined) throw this.#settingsError;
    const key = requireKey(request);
    let completed: { value: unknown } | undefined;
    const once: Work = async () => {
      // Stored and answered as JSON: the first caller gets exactly what a repeated delivery will get.
      const value = toJson(await work());
      completed = { value };
      return value;
    };
    try {
      const idempotent = await this.#idempotent();
      return await idempotent(
        { operation: request.operation, idempotencyKey: key, input: request.input ?? null },
        once,
      );
    } catch (error) {
      if (completed !== undefined) {
        // The write happened; only recording it failed. Failing now would invite the caller to repeat it.
        this.#logger.error('The result of a write could not be stored; a repeat may run it again', {
          operation: request.operation,
          error: describe(error),
        });
        return completed.value;
      }
      throw this.#mapError(error, request.operation);
    }
  }

  #idempotent(): Promise<Wrapped> {
    this.#wrapped ??= this.#load();
    return this.#wrapped;
  }

  /** Loaded on the first protected write: connectors that never write pay nothing for it at cold start. */
  async #load(): Promise<Wrapped> {
    const [{ IdempotencyConfig, makeIdempotent }, { DynamoDBPersistenceLayer }, { DynamoDBClient: Client }] =
      await Promise.all([
        import('@aws-lambda-powertools/idempotency'),
        import('@aws-lambda-powertools/idempotency/dynamodb'),
        import('@aws-sdk/client-dynamodb'),
      ]);
    const settings = this.#settings as IdempotencySettings & { table: string };
    const persistenceStore = new DynamoDBPersistenceLayer({
      tableName: settings.table,
      awsSdkV3Client: this.#client ?? (await createAwsClient(Client, this.#connector)),
    });
    const config = new IdempotencyConfig({
      eventKeyJmesPath: '[operation, idempotencyKey]',
      payloadValidationJmesPath: 'input',
      expiresAfterSeconds: settings.ttlSeconds,
      responseHook: (response, record) => {
        this.#logger.info('Repeated delivery answered from the idempotency store', {
          record: record.idempotencyKey,
        });
        return response;
      },
    });
    // A claim lapses at the invocation's deadline, so a run killed by a timeout can be repeated after it.
    // Read per call from the invocation scope: concurrent records and requests each see their own.
    config.registerLambdaContext({
      getRemainingTimeInMillis: () => {
        const left = remainingTimeMs();
        return Number.isFinite(left) ? Math.max(1, Math.floor(left)) : UNBOUNDED_RUN_MS;
      },
    } as unknown as Context);
    return makeIdempotent((_payload: Payload, work: Work) => work(), {
      persistenceStore,
      config,
      keyPrefix: this.#connector,
      dataIndexArgument: 0,
    }) as Wrapped;
  }

  #mapError(error: unknown, operation: string): unknown {
    const name = (error as { name?: unknown } | undefined)?.name;
    const details = { operation };
    switch (name) {
      case 'IdempotencyValidationError':
        return new ConflictError(
          `This idempotency key was already used for a different ${operation} input; use a new key for a new request`,
          { details },
        );
      case 'IdempotencyAlreadyInProgressError':
      case 'IdempotencyItemNotFoundError':
      case 'IdempotencyInconsistentStateError':
        // The record changed under us (a duplicate running, or just finished or failed): try again later.
        return new IdempotencyInProgressError(operation, { details });
      case 'IdempotencyPersistenceLayerError':
        return this.#storeError((error as Error).cause ?? error, details);
      default:
        if (error instanceof ConnectorError) return error;
        if (typeof name === 'string' && name.startsWith('Idempotency')) {
          return new ConnectorError('The idempotency check failed', { cause: error, details });
        }
        // Raw AWS SDK errors escape Powertools on some paths (reading an existing record).
        if (isAwsError(error)) return this.#storeError(error, details);
        return error;
    }
  }

  /** Powertools makes the calls, so the action is unknown; the table and the AWS error are named. */
  #storeError(cause: unknown, details: Record<string, unknown>): ConnectorError {
    const table = this.#settings?.table ?? '';
    const target = { service: 'DynamoDB', action: 'request', resource: `idempotency table ${table}` };
    return awsFailure({ ...target, table: STORE_ERRORS, details }, cause);
  }
}

function requireKey(request: IdempotentRequest): string {
  const { key, operation } = request;
  if (key === undefined || key === '') {
    throw new ValidationError(
      `${operation} changes data and needs an idempotency key: send an Idempotency-Key header (HTTP) or an idempotencyKey field in the request envelope (queue, task)`,
      [{ pointer: '', message: 'Idempotency-Key header or idempotencyKey field is required' }],
    );
  }
  if (!KEY_PATTERN.test(key)) {
    throw new ValidationError('The idempotency key must be 1 to 256 visible ASCII characters', [
      { pointer: '', message: 'Idempotency-Key is malformed' },
    ]);
  }
  return key;
}

function toJson(value: unknown): unknown {
  if (value === undefined) return null;
  return JSON.parse(JSON.stringify(value)) as unknown;
}

function isAwsError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && '$metadata' in error;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}`.slice(0, 300) : 'unknown error';
}
