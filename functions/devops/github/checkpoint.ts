/**
 * The `sync-issues` checkpoint of each repository in DynamoDB (`pk = checkpoint#owner/repo`): the
 * newest `updated_at` handed on, and which issues carried exactly that time, so the next run neither
 * misses an issue updated in the same second nor hands the boundary issues on twice.
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { awsCall, awsErrorName } from '@circle-core/core';

/** Where a repository's sync got to. */
export interface Checkpoint {
  /** The newest `updated_at` handed on, ISO 8601 as GitHub wrote it. */
  since: string;
  /** Numbers of the issues whose `updated_at` equals `since` (already handed on). */
  boundary: number[];
}

/** What `advance` did. */
export type AdvanceOutcome = 'advanced' | 'unchanged' | 'superseded';

/** Reads and moves checkpoints; the sync logic depends on this, not on DynamoDB. */
export interface CheckpointStore {
  read(repository: string): Promise<Checkpoint | undefined>;
  /**
   * Moves the checkpoint from `previous` (what this run read) to `next`, never backwards: when another
   * run moved it meanwhile, the later of the two wins.
   */
  advance(repository: string, previous: Checkpoint | undefined, next: Checkpoint): Promise<AdvanceOutcome>;
}

const MAX_CONFLICT_RETRIES = 3;

/**
 * {@link CheckpointStore} on DynamoDB: a consistent read, and a conditional write on the value read, so two
 * overlapping runs cannot move a checkpoint backwards.
 *
 * @example
 * ```ts
 * const store = new DynamoDbCheckpointStore({ table: 'github-state' }, documentClient);
 * const previous = await store.read('octo/hello');
 * await store.advance('octo/hello', previous, { since: '2024-05-01T10:00:00Z', boundary: [42] });
 * ```
 */
export class DynamoDbCheckpointStore implements CheckpointStore {
  readonly #table: string;
  readonly #client: DynamoDBDocumentClient;
  readonly #now: () => number;

  constructor(options: { table: string; now?: () => number }, client: DynamoDBDocumentClient) {
    this.#table = options.table;
    this.#now = options.now ?? Date.now;
    this.#client = client;
  }

  async read(repository: string): Promise<Checkpoint | undefined> {
    const get = new GetCommand({
      TableName: this.#table,
      Key: { pk: keyOf(repository) },
      ConsistentRead: true,
    });
    const { Item: item } = await awsCall({ service: 'DynamoDB', action: 'GetItem' }, (abortSignal) =>
      this.#client.send(get, { abortSignal }),
    );
    if (item === undefined || typeof item['since'] !== 'string') return undefined;
    const boundary = Array.isArray(item['boundary'])
      ? item['boundary'].filter((value): value is number => typeof value === 'number')
      : [];
    return { since: item['since'], boundary };
  }

  async advance(
    repository: string,
    previous: Checkpoint | undefined,
    next: Checkpoint,
  ): Promise<AdvanceOutcome> {
    let expected = previous;
    for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt += 1) {
      if (expected !== undefined && !isLater(next, expected))
        return attempt === 0 ? 'unchanged' : 'superseded';
      if (await this.#write(repository, expected, merge(next, expected))) return 'advanced';
      // Another run moved it since this one read it: compare with what is there now.
      expected = await this.read(repository);
    }
    return 'superseded';
  }

  async #write(repository: string, expected: Checkpoint | undefined, next: Checkpoint): Promise<boolean> {
    const condition =
      expected === undefined
        ? {
            ConditionExpression: 'attribute_not_exists(#since)',
            ExpressionAttributeNames: { '#since': 'since' },
          }
        : {
            ConditionExpression: '#since = :previous',
            ExpressionAttributeNames: { '#since': 'since' },
            ExpressionAttributeValues: { ':previous': expected.since },
          };
    const put = new PutCommand({
      TableName: this.#table,
      Item: {
        pk: keyOf(repository),
        since: next.since,
        boundary: next.boundary,
        updatedAt: new Date(this.#now()).toISOString(),
      },
      ...condition,
    });
    try {
      await awsCall({ service: 'DynamoDB', action: 'PutItem' }, (abortSignal) =>
        this.#client.send(put, { abortSignal }),
      );
      return true;
    } catch (error) {
      if (awsErrorName((error as { cause?: unknown }).cause) === 'ConditionalCheckFailedException')
        return false;
      throw error;
    }
  }
}

/** True when `next` covers more than `current`: a later time, or more boundary issues at the same time. */
function isLater(next: Checkpoint, current: Checkpoint): boolean {
  const a = Date.parse(next.since);
  const b = Date.parse(current.since);
  if (a !== b) return a > b;
  return next.boundary.some((number) => !current.boundary.includes(number));
}

/** At the same time, both runs' boundary issues were handed on: keep them all. */
function merge(next: Checkpoint, current: Checkpoint | undefined): Checkpoint {
  if (current === undefined || Date.parse(next.since) !== Date.parse(current.since)) return next;
  return { since: next.since, boundary: [...new Set([...current.boundary, ...next.boundary])] };
}

function keyOf(repository: string): string {
  return `checkpoint#${repository.toLowerCase()}`;
}
