/**
 * Durable memory of accepted webhook deliveries in DynamoDB (`pk = delivery#<id>`, TTL on `expiresAt`),
 * so GitHub's redelivery of an event already handed on is recognised and not handed on again.
 */
import { randomUUID } from 'node:crypto';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeliveryClaim, DeliveryLedger } from '../../../shared/interfaces/webhook-events.ts';
import { awsErrorName, awsFailure } from './aws-errors.ts';

export interface DeliveryLedgerOptions {
  table: string;
  /** How long an accepted delivery id is remembered; GitHub redelivers for a few days at most. */
  ttlDays: number;
  /** How long a claim holds before another invocation may take the delivery over; default 120 s. */
  leaseSeconds?: number;
  now?: () => number;
}

/**
 * A {@link DeliveryLedger} on DynamoDB conditional writes: `claim` puts a pending item unless one that is
 * accepted (or still leased) exists, `accept` marks it accepted for `ttlDays`, `release` frees it after a
 * failed hand-on. Items expire through the table's TTL on `expiresAt`; until DynamoDB deletes them (which
 * can lag by a day or two), an expired item counts as absent.
 *
 * @example
 * ```ts
 * const ledger = new DynamoDbDeliveryLedger({ table: 'github-state', ttlDays: 7 }, documentClient);
 * const claim = await ledger.claim('72d3162e-cc78-11e3-81ab-4c9367dc0958');
 * ```
 */
export class DynamoDbDeliveryLedger implements DeliveryLedger {
  readonly #options: Required<DeliveryLedgerOptions>;
  readonly #client: DynamoDBDocumentClient;

  constructor(options: DeliveryLedgerOptions, client: DynamoDBDocumentClient) {
    this.#options = { leaseSeconds: 120, now: Date.now, ...options };
    this.#client = client;
  }

  async claim(deliveryId: string): Promise<DeliveryClaim> {
    const { table, leaseSeconds, ttlDays } = this.#options;
    const now = this.#seconds();
    const token = randomUUID();
    try {
      await this.#client.send(
        new PutCommand({
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
        }),
      );
      return { status: 'claimed', token };
    } catch (error) {
      if (awsErrorName(error) !== 'ConditionalCheckFailedException') {
        throw awsFailure('DynamoDB', 'PutItem', error);
      }
    }
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

  async #read(deliveryId: string): Promise<Record<string, unknown> | undefined> {
    try {
      const { Item } = await this.#client.send(
        new GetCommand({
          TableName: this.#options.table,
          Key: { pk: keyOf(deliveryId) },
          ConsistentRead: true,
        }),
      );
      return Item;
    } catch (error) {
      throw awsFailure('DynamoDB', 'GetItem', error);
    }
  }

  /** Only the holder of the claim may change it; a lost claim (taken over after its lease) is left alone. */
  async #update(
    deliveryId: string,
    token: string,
    expression: string,
    values: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.#client.send(
        new UpdateCommand({
          TableName: this.#options.table,
          Key: { pk: keyOf(deliveryId) },
          UpdateExpression: expression,
          ConditionExpression: 'claimToken = :token',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ...values, ':token': token },
        }),
      );
    } catch (error) {
      if (awsErrorName(error) === 'ConditionalCheckFailedException') return;
      throw awsFailure('DynamoDB', 'UpdateItem', error);
    }
  }
}

function keyOf(deliveryId: string): string {
  return `delivery#${deliveryId}`;
}
