/**
 * The coordination table: one DynamoDB table (`CIRCLE_COORDINATION_TABLE`, string key `pk`, TTL on `ttl`)
 * where the containers of every connector share what one container's memory cannot hold alone: provider
 * tokens ({@link SharedTokenCache}) and rate-limit budgets ({@link SharedRateBudget}). Items are keyed
 * `<kind>#<connector>#...`, so each function's IAM grant can be limited to its own keys
 * (`dynamodb:LeadingKeys`).
 *
 * The table is reached through the aws kit's DynamoDB item calls ({@link lazyDynamoDbItems}): DynamoDB's JSON
 * protocol signed by hand where the environment allows it (Lambda's), so a health call never loads the
 * DynamoDB SDK; the SDK for an injected client and where the direct path cannot serve.
 *
 * Coordination is an optimisation, never a dependency: when the table cannot be reached, each container
 * falls back to working alone (its own token exchange, the provider's own `Retry-After`), with a warning.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type DynamoDbItems, lazyDynamoDbItems } from '../aws/dynamodb.ts';
import { awsErrorName } from '../aws/errors.ts';
import { createLogger } from '../observability.ts';

/** Where a warning goes (a connector's logger). */
export interface CoordinationLog {
  warn(message: string, extra?: Record<string, unknown>): void;
}

export interface CoordinationTableOptions {
  /** The table name (`CIRCLE_COORDINATION_TABLE`). */
  table: string;
  /**
   * A document client, or a function building one on first use: the SDK path. Absent: DynamoDB's JSON
   * protocol signed by hand when the environment holds credentials and a resolvable endpoint, else a
   * document client of the AWS kit built on first use (init never loads the DynamoDB SDK).
   */
  client?: DynamoDBDocumentClient | (() => Promise<DynamoDBDocumentClient>);
  /** The connector, for the default client's user agent and the log. */
  connector: string;
  /** Told when the table cannot be reached and a container falls back to working alone; default a JSON log line. */
  log?: CoordinationLog;
}

/** A DynamoDB item of the table. */
export type CoordinationItem = Record<string, unknown>;

/** The table could not be read or written: coordination falls back to one container's own view. */
export class CoordinationUnavailable extends Error {
  override readonly name = 'CoordinationUnavailable';
}

/** One conditional write: its update, the condition under which it applies, and the names and values. */
export interface ConditionalUpdate {
  update: string;
  /** Absent: the update always applies (a counter's `ADD`). */
  condition?: string;
  names?: Record<string, string>;
  values: Record<string, unknown>;
}

/**
 * Reads and conditionally updates items of the coordination table through the AWS kit (budgets, error
 * mapping). Every failure other than a condition that does not hold is a {@link CoordinationUnavailable}.
 *
 * @example
 * ```ts
 * const table = new CoordinationTable({ table: 'circle-core-dev-coordination', connector: 'github' });
 * const item = await table.get('token#github#installation-42');
 * ```
 */
export class CoordinationTable {
  readonly name: string;
  readonly connector: string;
  readonly #items: () => Promise<DynamoDbItems>;
  #log: CoordinationLog | undefined;
  #warnedAt = Number.NEGATIVE_INFINITY;

  constructor(options: CoordinationTableOptions) {
    this.name = options.table;
    this.connector = options.connector;
    this.#items = lazyDynamoDbItems(options.connector, options.client);
    this.#log = options.log;
  }

  /** The item under `pk` (a strongly consistent read), or undefined. */
  async get(pk: string): Promise<CoordinationItem | undefined> {
    const items = await this.#ready();
    try {
      return await items.getItem(this.name, { pk });
    } catch (error) {
      throw this.#unavailable('GetItem', error);
    }
  }

  /** Applies `change` to the item under `pk`: true when it was made, false when its condition did not hold. */
  async update(pk: string, change: ConditionalUpdate): Promise<boolean> {
    const items = await this.#ready();
    try {
      await items.updateItem(this.name, { pk }, change.update, change);
      return true;
    } catch (error) {
      if (awsErrorName((error as { cause?: unknown }).cause) === 'ConditionalCheckFailedException')
        return false;
      throw this.#unavailable('UpdateItem', error);
    }
  }

  /**
   * Tells the log that a container works alone for now, at most once a minute (a table outage during a
   * burst would otherwise write a line per call).
   */
  fallingBack(what: string, error: unknown): void {
    const now = Date.now();
    if (now - this.#warnedAt < 60_000) return;
    this.#warnedAt = now;
    this.#log ??= jsonLog(this.connector);
    this.#log.warn(`Coordination table unreachable; ${what} without the other containers`, {
      table: this.name,
      error: error instanceof Error ? error.message : String(error),
    });
  }

  /** The item calls, built on first use; a failed build is tried again on the next call. */
  async #ready(): Promise<DynamoDbItems> {
    try {
      return await this.#items();
    } catch (error) {
      throw this.#unavailable('connect', error);
    }
  }

  #unavailable(action: string, error: unknown): CoordinationUnavailable {
    if (error instanceof CoordinationUnavailable) return error;
    const message = error instanceof Error ? error.message : String(error);
    return new CoordinationUnavailable(`DynamoDB ${action} on ${this.name} failed: ${message}`, {
      cause: error,
    });
  }
}

/** The default log: a Powertools JSON line under the connector's name. */
function jsonLog(connector: string): CoordinationLog {
  const logger = createLogger(connector);
  return { warn: (message, extra) => logger.warn(message, extra ?? {}) };
}

/** Epoch seconds for the table's TTL attribute, `afterMs` from `nowMs`. */
export function ttlSeconds(nowMs: number, afterMs: number): number {
  return Math.ceil((nowMs + afterMs) / 1000);
}

/**
 * The coordination table named by `CIRCLE_COORDINATION_TABLE`, or undefined when the setting is absent
 * (then each container works alone, as before sharing existed).
 *
 * @example
 * ```ts
 * const table = coordinationFromEnv('github', logger);
 * const share = table && new SharedTokenCache({ table, key: 'installation-42' });
 * ```
 */
export function coordinationFromEnv(
  connector: string,
  log?: CoordinationLog,
  env: Record<string, string | undefined> = process.env,
): CoordinationTable | undefined {
  const table = env['CIRCLE_COORDINATION_TABLE']?.trim();
  if (table === undefined || table === '') return undefined;
  return new CoordinationTable({ table, connector, ...(log === undefined ? {} : { log }) });
}
