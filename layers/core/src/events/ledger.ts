/**
 * Durable memory of accepted deliveries in DynamoDB (`pk = delivery#<id>`, TTL on `expiresAt`), so a
 * provider's redelivery of an event already handed on is recognised and not handed on again. One ledger
 * for every receiving connector; each keeps it in its own state table.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { awsCall } from '../aws/call.ts';
import { type AwsClientSettings, createAwsClient } from '../aws/client.ts';
import { awsErrorName } from '../aws/errors.ts';
import type { DeliveryClaim, DeliveryLedger } from './types.ts';

// Loaded on first use: a connector that receives no events never pays for the DynamoDB SDK at cold start.
let documents: Promise<typeof import('@aws-sdk/lib-dynamodb')> | undefined;
const documentModule = () => {
  documents ??= import('@aws-sdk/lib-dynamodb');
  return documents;
};

/**
 * A DynamoDB document client built by the AWS kit (timeouts, attempts, tracing).
 *
 * @example
 * ```ts
 * const dynamo = await createDocumentClient('github');
 * ```
 */
export async function createDocumentClient(
  connector: string,
  settings: AwsClientSettings = {},
): Promise<DynamoDBDocumentClient> {
  const [{ DynamoDBClient }, { DynamoDBDocumentClient: DocumentClient }] = await Promise.all([
    import('@aws-sdk/client-dynamodb'),
    documentModule(),
  ]);
  return DocumentClient.from(await createAwsClient(DynamoDBClient, connector, settings));
}

export interface DeliveryLedgerOptions {
  table: string;
  /** How long an accepted delivery id is remembered (the provider's redelivery window, with room). */
  ttlDays: number;
  /** How long a claim holds before another invocation may take the delivery over; default 120 s. */
  leaseSeconds?: number;
  now?: () => number;
}

const CONDITION_FAILED = 'ConditionalCheckFailedException';

/**
 * A {@link DeliveryLedger} on DynamoDB conditional writes: `claim` puts a pending item unless one that is
 * accepted (or still leased) exists, `accept` marks it accepted for `ttlDays`, `release` frees it after a
 * failed hand-on. Items expire through the table's TTL on `expiresAt`; until DynamoDB deletes them (which
 * can lag by a day or two), an expired item counts as absent.
 *
 * @example
 * ```ts
 * const ledger = new DynamoDbDeliveryLedger({ table: 'github-state', ttlDays: 7 }, await createDocumentClient('github'));
 * const claim = await ledger.claim('72d3162e-cc78-11e3-81ab-4c9367dc0958');
 * ```
 */
export class DynamoDbDeliveryLedger implements DeliveryLedger {
  readonly #options: Required<DeliveryLedgerOptions>;
  readonly #source: DynamoDBDocumentClient | (() => Promise<DynamoDBDocumentClient>);
  #client: Promise<DynamoDBDocumentClient> | undefined;

  /**
   * `client` is a document client, or a function building one on the first delivery (so init, and every
   * invocation that receives nothing, never loads the DynamoDB SDK).
   */
  constructor(
    options: DeliveryLedgerOptions,
    client: DynamoDBDocumentClient | (() => Promise<DynamoDBDocumentClient>),
  ) {
    this.#options = { leaseSeconds: 120, now: Date.now, ...options };
    this.#source = client;
  }

  /** The client, built once; a failed build is tried again on the next delivery. */
  #documents(): Promise<DynamoDBDocumentClient> {
    const source = this.#source;
    this.#client ??= (typeof source === 'function' ? source() : Promise.resolve(source)).catch(
      (error: unknown) => {
        this.#client = undefined;
        throw error;
      },
    );
    return this.#client;
  }

  async claim(deliveryId: string): Promise<DeliveryClaim> {
    const { table, leaseSeconds, ttlDays } = this.#options;
    const [{ PutCommand }, client] = await Promise.all([documentModule(), this.#documents()]);
    const now = this.#seconds();
    const token = randomUUID();
    const put = new PutCommand({
      TableName: table,
      Item: {
        pk: keyOf(deliveryId),
        status: 'pending',
        claimToken: token,
        leaseUntil: now + leaseSeconds,
        // A claim that is never accepted or released still disappears eventually.
        expiresAt: now + ttlDays * 86_400,
        claimedAt: new Date(now * 1000).toISOString(),
      },
      ConditionExpression:
        'attribute_not_exists(pk) OR #expiresAt < :now OR (#status <> :accepted AND #leaseUntil < :now)',
      ExpressionAttributeNames: {
        '#status': 'status',
        '#leaseUntil': 'leaseUntil',
        '#expiresAt': 'expiresAt',
      },
      ExpressionAttributeValues: { ':now': now, ':accepted': 'accepted' },
    });
    const claimed = await this.#conditional('PutItem', (abortSignal) => client.send(put, { abortSignal }));
    if (claimed) return { status: 'claimed', token };
    const existing = await this.#read(deliveryId);
    return existing?.['status'] === 'accepted' ? { status: 'duplicate' } : { status: 'in-progress' };
  }

  async accept(deliveryId: string, token: string): Promise<void> {
    const now = this.#seconds();
    await this.#update(
      deliveryId,
      token,
      'SET #status = :accepted, acceptedAt = :at, expiresAt = :expiresAt REMOVE leaseUntil',
      {
        ':accepted': 'accepted',
        ':at': new Date(now * 1000).toISOString(),
        ':expiresAt': now + this.#options.ttlDays * 86_400,
      },
    );
  }

  async release(deliveryId: string, token: string): Promise<void> {
    await this.#update(deliveryId, token, 'SET #status = :released, leaseUntil = :zero', {
      ':released': 'released',
      ':zero': 0,
    });
  }

  #seconds(): number {
    return Math.floor(this.#options.now() / 1000);
  }

  /** Runs a conditional write: true when it was made, false when its condition did not hold. */
  async #conditional(action: string, send: (abortSignal: AbortSignal) => Promise<unknown>): Promise<boolean> {
    try {
      await awsCall({ service: 'DynamoDB', action }, send);
      return true;
    } catch (error) {
      if (awsErrorName((error as { cause?: unknown }).cause) === CONDITION_FAILED) return false;
      throw error;
    }
  }

  async #read(deliveryId: string): Promise<Record<string, unknown> | undefined> {
    const [{ GetCommand }, client] = await Promise.all([documentModule(), this.#documents()]);
    const get = new GetCommand({
      TableName: this.#options.table,
      Key: { pk: keyOf(deliveryId) },
      ConsistentRead: true,
    });
    const { Item } = await awsCall({ service: 'DynamoDB', action: 'GetItem' }, (abortSignal) =>
      client.send(get, { abortSignal }),
    );
    return Item;
  }

  /** Only the holder of the claim may change it; a lost claim (taken over after its lease) is left alone. */
  async #update(
    deliveryId: string,
    token: string,
    expression: string,
    values: Record<string, unknown>,
  ): Promise<void> {
    const [{ UpdateCommand }, client] = await Promise.all([documentModule(), this.#documents()]);
    const update = new UpdateCommand({
      TableName: this.#options.table,
      Key: { pk: keyOf(deliveryId) },
      UpdateExpression: expression,
      ConditionExpression: 'claimToken = :token',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ...values, ':token': token },
    });
    await this.#conditional('UpdateItem', (abortSignal) => client.send(update, { abortSignal }));
  }
}

function keyOf(deliveryId: string): string {
  return `delivery#${deliveryId}`;
}

/**
 * A {@link DeliveryLedger} in this process's memory: for tests and library use outside Lambda, where one
 * process sees every delivery. Claims never expire.
 *
 * @example
 * ```ts
 * const ledger = new MemoryDeliveryLedger();
 * ```
 */
export class MemoryDeliveryLedger implements DeliveryLedger {
  readonly #entries = new Map<string, { status: 'pending' | 'accepted'; token: string }>();

  async claim(deliveryId: string): Promise<DeliveryClaim> {
    const existing = this.#entries.get(deliveryId);
    if (existing?.status === 'accepted') return { status: 'duplicate' };
    if (existing?.status === 'pending') return { status: 'in-progress' };
    const token = randomUUID();
    this.#entries.set(deliveryId, { status: 'pending', token });
    return { status: 'claimed', token };
  }

  async accept(deliveryId: string, token: string): Promise<void> {
    if (this.#entries.get(deliveryId)?.token === token)
      this.#entries.set(deliveryId, { status: 'accepted', token });
  }

  async release(deliveryId: string, token: string): Promise<void> {
    if (this.#entries.get(deliveryId)?.token === token) this.#entries.delete(deliveryId);
  }
}
