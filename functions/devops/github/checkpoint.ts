/**
 * The `sync-issues` checkpoint of each repository in DynamoDB (`pk = checkpoint#owner/repo`): the
 * newest `updated_at` handed on, and which issues carried exactly that time, so the next run neither
 * misses an issue updated in the same second nor hands the boundary issues on twice.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsCall, awsErrorName, createAwsClient } from '@circle-core/core';

// The DynamoDB SDK is bundled into this function (build: scripts/lib/bundle.ts) and loaded on the first
// sync, not at init: a health call, an operation or a webhook never reads a checkpoint.
let documentModule: Promise<typeof import('@aws-sdk/lib-dynamodb')> | undefined;
const documents = (): Promise<typeof import('@aws-sdk/lib-dynamodb')> => {
  documentModule ??= import('@aws-sdk/lib-dynamodb');
  return documentModule;
};

/**
 * Builds, on first use, the document client the checkpoints are kept with, from this function's own copy of
 * the AWS SDK: the client and the commands sent through it always come from one copy (the core's ledger uses
 * the runtime's copy for its own client and commands).
 *
 * @example
 * ```ts
 * const store = new DynamoDbCheckpointStore({ table: 'github-state' }, checkpointDocuments());
 * ```
 */
export function checkpointDocuments(): () => Promise<DynamoDBDocumentClient> {
  let client: Promise<DynamoDBDocumentClient> | undefined;
  return () => {
    client ??= Promise.all([import('@aws-sdk/client-dynamodb'), documents()])
      .then(async ([{ DynamoDBClient }, { DynamoDBDocumentClient: DocumentClient }]) =>
        DocumentClient.from(await createAwsClient(DynamoDBClient, 'github')),
      )
      .catch((error: unknown) => {
        client = undefined;
        throw error;
      });
    return client;
  };
}

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
  readonly #client: () => Promise<DynamoDBDocumentClient>;
  readonly #now: () => number;

  /** `client`: a document client, or a function building one on first use ({@link checkpointDocuments}). */
  constructor(
    options: { table: string; now?: () => number },
    client: DynamoDBDocumentClient | (() => Promise<DynamoDBDocumentClient>),
  ) {
    this.#table = options.table;
    this.#now = options.now ?? Date.now;
    this.#client = typeof client === 'function' ? client : () => Promise.resolve(client);
  }

  async read(repository: string): Promise<Checkpoint | undefined> {
    const [{ GetCommand }, client] = await Promise.all([documents(), this.#client()]);
    const get = new GetCommand({
      TableName: this.#table,
      Key: { pk: keyOf(repository) },
      ConsistentRead: true,
    });
    const { Item: item } = await awsCall({ service: 'DynamoDB', action: 'GetItem' }, (abortSignal) =>
      client.send(get, { abortSignal }),
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
    const [{ PutCommand }, client] = await Promise.all([documents(), this.#client()]);
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
        client.send(put, { abortSignal }),
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
