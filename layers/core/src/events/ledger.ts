/**
 * Durable memory of accepted deliveries in DynamoDB (`pk = delivery#<id>`, TTL on `expiresAt`), so a
 * provider's redelivery of an event already handed on is recognised and not handed on again. One ledger
 * for every receiving connector; each keeps it in its own state table. Its conditional writes go through
 * the aws kit's DynamoDB item calls ({@link lazyDynamoDbItems}): hand-signed JSON requests where the
 * environment allows it, the SDK for an injected client and elsewhere.
 */
import { randomUUID } from 'node:crypto';
import {
  createDocumentClient,
  type DocumentClientSource,
  type DynamoDbItems,
  lazyDynamoDbItems,
} from '../aws/dynamodb.ts';
import { awsErrorName } from '../aws/errors.ts';
import type { DeliveryClaim, DeliveryLedger } from './types.ts';

/** Kept here too, where receiving connectors have imported it from. */
export { createDocumentClient };

export interface DeliveryLedgerOptions {
  table: string;
  /** How long an accepted delivery id is remembered (the provider's redelivery window, with room). */
  ttlDays: number;
  /** How long a claim holds before another invocation may take the delivery over; default 120 s. */
  leaseSeconds?: number;
  now?: () => number;
  /** The connector, for the user agent and tracing of an SDK client the ledger builds; default `core`. */
  connector?: string;
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
 * const ledger = new DynamoDbDeliveryLedger({ table: 'github-state', ttlDays: 7, connector: 'github' });
 * const claim = await ledger.claim('72d3162e-cc78-11e3-81ab-4c9367dc0958');
 * ```
 */
export class DynamoDbDeliveryLedger implements DeliveryLedger {
  readonly #options: Required<Omit<DeliveryLedgerOptions, 'connector'>>;
  readonly #items: () => Promise<DynamoDbItems>;

  /**
   * `client` is a document client, or a function building one on the first delivery: the SDK path.
   * Without it the ledger speaks DynamoDB's JSON protocol itself when the environment holds credentials and
   * an endpoint it can resolve, else builds a document client of the AWS kit; either on the first delivery,
   * so init, and every invocation that receives nothing, never loads the DynamoDB SDK.
   */
  constructor(options: DeliveryLedgerOptions, client?: DocumentClientSource) {
    const { connector = 'core', ...rest } = options;
    this.#options = { leaseSeconds: 120, now: Date.now, ...rest };
    this.#items = lazyDynamoDbItems(connector, client);
  }

  async claim(deliveryId: string): Promise<DeliveryClaim> {
    const { table, leaseSeconds, ttlDays } = this.#options;
    const items = await this.#items();
    const now = this.#seconds();
    const token = randomUUID();
    const put = items.putItem(
      table,
      {
        pk: keyOf(deliveryId),
        status: 'pending',
        claimToken: token,
        leaseUntil: now + leaseSeconds,
        // A claim that is never accepted or released still disappears eventually.
        expiresAt: now + ttlDays * 86_400,
        claimedAt: new Date(now * 1000).toISOString(),
      },
      {
        condition:
          'attribute_not_exists(pk) OR #expiresAt < :now OR (#status <> :accepted AND #leaseUntil < :now)',
        names: { '#status': 'status', '#leaseUntil': 'leaseUntil', '#expiresAt': 'expiresAt' },
        values: { ':now': now, ':accepted': 'accepted' },
      },
    );
    const claimed = await this.#conditional(put);
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
  async #conditional(write: Promise<void>): Promise<boolean> {
    try {
      await write;
      return true;
    } catch (error) {
      if (awsErrorName((error as { cause?: unknown }).cause) === CONDITION_FAILED) return false;
      throw error;
    }
  }

  async #read(deliveryId: string): Promise<Record<string, unknown> | undefined> {
    const items = await this.#items();
    return items.getItem(this.#options.table, { pk: keyOf(deliveryId) });
  }

  /** Only the holder of the claim may change it; a lost claim (taken over after its lease) is left alone. */
  async #update(
    deliveryId: string,
    token: string,
    expression: string,
    values: Record<string, unknown>,
  ): Promise<void> {
    const items = await this.#items();
    await this.#conditional(
      items.updateItem(this.#options.table, { pk: keyOf(deliveryId) }, expression, {
        condition: 'claimToken = :token',
        names: { '#status': 'status' },
        values: { ...values, ':token': token },
      }),
    );
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
