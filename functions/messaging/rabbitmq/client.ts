/**
 * The RabbitMQ connector's calls, as a {@link MessagePublisher}: publishes with publisher confirms to the
 * configured exchange (mandatory, so a message no queue would take comes back as that entry's
 * NotFoundError), a bounded pull by basic.get with manual acknowledgement, and queue declare/inspect. Each
 * call is one unit of work on the reused connection, bounded by the invocation's time left, its failure
 * mapped once (`errors.ts`). Pulled messages are held by a channel that only gets, acks and nacks;
 * whatever the server may refuse by closing a channel runs on the confirm channel (`connection.ts`). The
 * only file the operations call.
 */
import { randomUUID } from 'node:crypto';
import {
  type BrokerTlsMode,
  ConflictError,
  callBudget,
  defineSecret,
  NotFoundError,
  parseInput,
  remainingTimeMs,
  UnavailableError,
  ValidationError,
  withDeadline,
} from '@circle-core/core';
import type { GetMessage, Message } from 'amqplib';
import {
  batchOutput,
  checkBatch,
  checkMessage,
  checkReceive,
  entryFailure,
  type MessagePublisher,
  type MessagePublisherCapability,
  type MessagePublisherLimits,
} from '#shared/interfaces/message-publisher.ts';
import {
  PublishBatchInput,
  type PublishBatchOutput,
  type PublishEntryResult,
  PublishInput,
  type PublishMessage,
  type PublishOutput,
  type ReceivedMessage,
  ReceiveInput,
  type ReceiveOutput,
  SettleInput,
  type SettleOutput,
} from '#shared/models/message-publisher.ts';
import { type Live, RabbitmqConnection } from './connection.ts';
import { isConnectionLost, toRabbitmqError } from './errors.ts';
import { AMQP_SHORT_STRING_BYTES, DeclareQueueInput, InspectQueueInput, type QueueInfo } from './models.ts';

export interface RabbitmqClientOptions {
  host: string;
  port: number;
  tls: BrokerTlsMode;
  vhost: string;
  /** Name or ARN of the secret holding `{ username, password, vhost? }`. */
  secretName: string;
  secretMaxAgeSeconds: number;
  /** Exchange of every publish (`''`: the default exchange). */
  exchange: string;
  /** Routing key of a publish without a destination. */
  routingKey: string;
  /** Queue of a pull without a source. */
  queue: string;
  persistent: boolean;
  connectTimeoutMs: number;
  /** One call's own bound; the invocation's time left may cut it shorter. */
  timeoutMs: number;
  /** Milliseconds left in the invocation (tests inject a clock). */
  remainingTimeMs?: () => number;
}

/**
 * An AMQP 0-9-1 short string (queue and exchange names, routing keys) is at most 255 bytes of UTF-8, while
 * the shared `destination` and `source` fields count 1024 characters: a longer one is refused here, before
 * anything is sent (amqplib would fail the encoding and the broker never answer).
 */
function checkShortString(value: string, pointer: string, what: string): string {
  const bytes = Buffer.byteLength(value);
  if (bytes > AMQP_SHORT_STRING_BYTES) {
    throw new ValidationError(`Invalid input: ${pointer}: the ${what} is too long`, [
      {
        pointer,
        message: `expected a ${what} of at most ${AMQP_SHORT_STRING_BYTES} bytes of UTF-8 (AMQP short string), got ${bytes}`,
      },
    ]);
  }
  return value;
}
/** RabbitMQ offers headers and a pull; no ordering keys (one queue is one order) and no deduplication. */
export const CAPABILITIES: readonly MessagePublisherCapability[] = ['attributes', 'pull'];

/**
 * RabbitMQ takes messages up to 128 MiB; the connector keeps to what a Lambda answer and a Step Functions
 * state can carry, and to batches it can confirm within one call.
 */
export const LIMITS: MessagePublisherLimits = {
  maxBatchEntries: 100,
  maxMessageBytes: 1_048_576,
  maxBatchBytes: 5_242_880,
  maxReceive: 100,
};

const NAME = 'RabbitMQ';
/** First and longest pause between two empty basic.get answers of one pull. */
const POLL_FIRST_MS = 20;
const POLL_MAX_MS = 250;
/** The header RabbitMQ's quorum queues count earlier deliveries in. */
const DELIVERY_COUNT = 'x-delivery-count';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * A header value as text: AMQP tables carry numbers, booleans, bytes and nested tables too. amqplib
 * decodes 64-bit integers as numbers (never bigint), and every other value it decodes is a table, array,
 * decimal or timestamp object: JSON text.
 */
function headerText(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

/**
 * @example
 * ```ts
 * const rabbit = RabbitmqClient.create({ host: '127.0.0.1', port: 5672, tls: 'disable', vhost: '/',
 *   secretName: 'circle-core/dev/rabbitmq/credentials', secretMaxAgeSeconds: 300, exchange: '',
 *   routingKey: 'orders', queue: 'orders', persistent: true, connectTimeoutMs: 5_000, timeoutMs: 5_000 });
 * await rabbit.publish({ body: '{"id":1}', attributes: { kind: 'order' } });
 * ```
 */
export class RabbitmqClient implements MessagePublisher {
  readonly capabilities: ReadonlySet<MessagePublisherCapability> = new Set(CAPABILITIES);
  readonly limits = LIMITS;
  readonly #connection: RabbitmqConnection;
  readonly #options: RabbitmqClientOptions;

  constructor(connection: RabbitmqConnection, options: RabbitmqClientOptions) {
    this.#connection = connection;
    this.#options = options;
  }

  /** Builds the client; nothing connects until the first call. */
  static create(options: RabbitmqClientOptions): RabbitmqClient {
    const credentials = defineSecret(options.secretName, { maxAgeSeconds: options.secretMaxAgeSeconds });
    const connection = new RabbitmqConnection({
      host: options.host,
      port: options.port,
      tls: options.tls,
      vhost: options.vhost,
      credentials,
      connectTimeoutMs: options.connectTimeoutMs,
      ...(options.remainingTimeMs === undefined ? {} : { remainingTimeMs: options.remainingTimeMs }),
    });
    return new RabbitmqClient(connection, options);
  }

  /** Publishes one message and resolves once the broker confirmed it. */
  async publish(raw: PublishInput): Promise<PublishOutput> {
    const { destination, ...message } = parseInput(PublishInput, raw);
    checkMessage(this, message, NAME);
    const [result] = await this.#publishAll(this.#routingKey(destination), [message]);
    if (result === undefined || !result.ok) {
      throw toRabbitmqError(result?.cause ?? new UnavailableError('RabbitMQ did not confirm'), 'publish');
    }
    return { messageId: result.messageId };
  }

  /** Publishes the entries with one wait for all their confirms; a result per entry. */
  async publishBatch(raw: PublishBatchInput): Promise<PublishBatchOutput> {
    const input = parseInput(PublishBatchInput, raw);
    checkBatch(this, input.entries, NAME);
    const outcomes = await this.#publishAll(this.#routingKey(input.destination), input.entries);
    return batchOutput(
      outcomes.map(
        (outcome, index): PublishEntryResult =>
          outcome.ok
            ? { index, ok: true, messageId: outcome.messageId }
            : { index, ok: false, error: entryFailure(toRabbitmqError(outcome.cause, 'publish')) },
      ),
    );
  }

  /**
   * Takes up to `maxMessages` with basic.get within the wait and the time left; each held until settled.
   * The queue is checked first on the confirm channel (queue.declare passive): a basic.get of a missing
   * queue would make the server close the holding channel, handing back every message it holds.
   */
  async receive(raw: ReceiveInput = {}): Promise<ReceiveOutput> {
    const input = parseInput(ReceiveInput, raw);
    checkReceive(this, input.maxMessages, NAME);
    const queue = this.#queue(input.source);
    const budget = callBudget(
      input.waitTimeMs + this.#options.timeoutMs,
      `${NAME} receive`,
      this.#remaining(),
    );
    const deadline = Date.now() + Math.min(input.waitTimeMs, budget);
    let messages: ReceivedMessage[] = [];
    let polledOn: string | undefined;
    let pause = POLL_FIRST_MS;
    // Each poll is its own unit of work and the pause between two polls is outside it: the connection
    // is shared by every invocation in flight (Lambda Managed Instances run many at once in one process,
    // https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html), and a
    // pull holding it for its whole wait would hold up every other invocation's publish until then.
    while (messages.length < input.maxMessages) {
      const taken = await this.#run('receive', 'read', async (live) => {
        if (live.id !== polledOn) {
          // A new connection: the messages the closed one held went back to the queue (their receipts
          // expired), so this pull starts over.
          messages = [];
          await withDeadline(live.channel.checkQueue(queue), budget, `${NAME} queue.declare`);
          polledOn = live.id;
        }
        const got: ReceivedMessage[] = [];
        while (messages.length + got.length < input.maxMessages) {
          const next = await withDeadline(
            live.holding.get(queue, { noAck: false }),
            budget,
            `${NAME} basic.get`,
            () => this.#connection.discard(live),
          );
          if (next === false) break;
          got.push(this.#received(live, next));
        }
        return got;
      });
      messages.push(...taken);
      if (taken.length > 0) continue;
      const left = deadline - Date.now();
      if (left <= 0) break;
      await sleep(Math.min(pause, left));
      pause = Math.min(pause * 2, POLL_MAX_MS);
    }
    return { messages };
  }

  /** Acknowledges received messages: the broker removes them. */
  acknowledge(raw: SettleInput): Promise<SettleOutput> {
    return this.#settle(raw, 'acknowledge', (live, message) => live.holding.ack(message));
  }

  /** Hands received messages back to their queue (basic.nack with requeue) for another delivery. */
  release(raw: SettleInput): Promise<SettleOutput> {
    return this.#settle(raw, 'release', (live, message) => live.holding.nack(message, false, true));
  }

  /** Declares a queue (idempotent with the same arguments; a ConflictError with others) and binds it. */
  async declareQueue(raw: DeclareQueueInput): Promise<QueueInfo> {
    const input = parseInput(DeclareQueueInput, raw);
    if (input.type === 'quorum' && !input.durable) {
      throw new ValidationError('Quorum queues are always durable', [
        { pointer: '/durable', message: 'expected true for a quorum queue' },
      ]);
    }
    const args: Record<string, unknown> = { 'x-queue-type': input.type };
    if (input.messageTtlMs !== undefined) args['x-message-ttl'] = input.messageTtlMs;
    if (input.maxLength !== undefined) args['x-max-length'] = input.maxLength;
    if (input.overflow !== undefined) args['x-overflow'] = input.overflow;
    if (input.deadLetterExchange !== undefined) args['x-dead-letter-exchange'] = input.deadLetterExchange;
    return this.#run('declare-queue', 'read', async (live) => {
      const timeoutMs = callBudget(this.#options.timeoutMs, `${NAME} declare-queue`, this.#remaining());
      const declared = await withDeadline(
        live.channel.assertQueue(input.queue, { durable: input.durable, arguments: args }),
        timeoutMs,
        `${NAME} queue.declare`,
      );
      for (const binding of input.bindings) {
        await withDeadline(
          live.channel.bindQueue(input.queue, binding.exchange, binding.routingKey),
          timeoutMs,
          `${NAME} queue.bind`,
        );
      }
      return {
        queue: declared.queue,
        messageCount: declared.messageCount,
        consumerCount: declared.consumerCount,
      };
    });
  }

  /** Messages ready and consumers of a queue (queue.declare passive); a missing queue is a NotFoundError. */
  async inspectQueue(raw: InspectQueueInput): Promise<QueueInfo> {
    const input = parseInput(InspectQueueInput, raw);
    return this.#run('inspect-queue', 'read', async (live) => {
      const timeoutMs = callBudget(this.#options.timeoutMs, `${NAME} inspect-queue`, this.#remaining());
      const info = await withDeadline(
        live.channel.checkQueue(input.queue),
        timeoutMs,
        `${NAME} queue.declare`,
      );
      return { queue: info.queue, messageCount: info.messageCount, consumerCount: info.consumerCount };
    });
  }

  /** Opens the connection if needed, for `health`. */
  async ping(): Promise<void> {
    await this.#run('ping', 'read', async () => undefined);
  }

  /** Opens the connection during init, so the first call finds it ready. */
  async warmUp(): Promise<void> {
    await this.ping().catch(() => undefined);
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  #remaining(): number {
    return (this.#options.remainingTimeMs ?? remainingTimeMs)();
  }

  #routingKey(destination: string | undefined): string {
    const key = destination ?? this.#options.routingKey;
    if (key === '' && this.#options.exchange === '') {
      throw new ValidationError('Name a destination: no RABBITMQ_ROUTING_KEY is set', [
        { pointer: '/destination', message: 'required when RABBITMQ_ROUTING_KEY is not set' },
      ]);
    }
    return checkShortString(key, '/destination', 'routing key');
  }

  #queue(source: string | undefined): string {
    const queue = source ?? this.#options.queue;
    if (queue === '') {
      throw new ValidationError('Name a source queue: no RABBITMQ_QUEUE is set', [
        { pointer: '/source', message: 'required when RABBITMQ_QUEUE is not set' },
      ]);
    }
    return checkShortString(queue, '/source', 'queue name');
  }

  /**
   * Publishes every message on the confirm channel, then waits for all confirms at once. Sent once: a
   * publish is never replayed on a new connection (the broker may have it already).
   */
  #publishAll(
    routingKey: string,
    messages: readonly PublishMessage[],
  ): Promise<({ ok: true; messageId: string } | { ok: false; cause: unknown })[]> {
    return this.#run('publish', 'write', async (live) => {
      const timeoutMs = callBudget(this.#options.timeoutMs, `${NAME} publish`, this.#remaining());
      const confirms = messages.map((message) => {
        const messageId = randomUUID();
        return new Promise<{ ok: true; messageId: string } | { ok: false; cause: unknown }>((resolve) => {
          live.channel.publish(
            this.#options.exchange,
            routingKey,
            Buffer.from(message.body),
            {
              messageId,
              persistent: this.#options.persistent,
              mandatory: true,
              timestamp: Math.floor(Date.now() / 1000),
              headers: message.attributes ?? {},
            },
            (error: unknown) => {
              // The broker sends basic.return before the confirm of an unroutable message.
              const returned = live.returned.delete(messageId);
              if (error !== null && error !== undefined) {
                resolve({
                  ok: false,
                  cause:
                    live.closedBy ??
                    // amqplib answers every unconfirmed publish of a channel that closed (the connection broke
                    // under it) with "channel closed": the message may have reached the broker, unconfirmed.
                    (isConnectionLost(error)
                      ? error
                      : new UnavailableError(
                          'RabbitMQ refused the message (basic.nack): a full queue with reject-publish, or a broker fault',
                          { cause: error },
                        )),
                });
              } else if (returned) {
                resolve({
                  ok: false,
                  cause: new NotFoundError(
                    `RabbitMQ returned the message: no queue is bound to exchange "${this.#options.exchange || '(default)'}" with routing key "${routingKey}"`,
                  ),
                });
              } else resolve({ ok: true, messageId });
            },
          );
        });
      });
      const outcomes = await withDeadline(
        Promise.all(confirms),
        timeoutMs,
        `${NAME} publisher confirms`,
        () =>
          // A late confirm must not be read as the answer to the next publish.
          this.#connection.discard(live),
      );
      // The server closed the channel (no such exchange, no permission): the whole batch failed.
      if (live.closedBy !== undefined) throw live.closedBy;
      return outcomes;
    });
  }

  #received(live: Live, got: GetMessage): ReceivedMessage {
    live.held.add(got.fields.deliveryTag);
    const headers = (got.properties.headers ?? {}) as Record<string, unknown>;
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers)) {
      if (name !== DELIVERY_COUNT && value !== undefined && value !== null)
        attributes[name] = headerText(value);
    }
    const earlier = Number(headers[DELIVERY_COUNT] ?? Number.NaN);
    const messageId = got.properties.messageId as unknown;
    return {
      receipt: `${live.id}.${got.fields.deliveryTag}`,
      ...(typeof messageId === 'string' ? { messageId } : {}),
      body: got.content.toString('utf8'),
      attributes,
      redelivered: got.fields.redelivered || earlier > 0,
      ...(Number.isInteger(earlier) ? { deliveryCount: earlier + 1 } : {}),
    };
  }

  /**
   * Settles each receipt on the channel that received it. A receipt of a channel that has since closed
   * (its message went back to the queue) or one this channel never issued is reported in its result and
   * never sent: an unknown delivery tag would make the server close the channel, handing back every
   * message it holds.
   */
  async #settle(
    raw: SettleInput,
    operation: string,
    settle: (live: Live, message: Message) => void,
  ): Promise<SettleOutput> {
    const input = parseInput(SettleInput, raw);
    checkReceive(this, undefined, NAME);
    return this.#run(operation, 'write', async (live) => ({
      results: input.receipts.map((receipt) => {
        const [channel, tag] = receipt.split('.');
        const deliveryTag = Number(tag);
        if (channel !== live.id || !live.held.has(deliveryTag)) {
          return {
            receipt,
            ok: false as const,
            error: entryFailure(
              new ConflictError(
                'The receipt is unknown or expired: the channel that received the message closed (it went back to the queue), or it was settled already',
              ),
            ),
          };
        }
        live.held.delete(deliveryTag);
        settle(live, { fields: { deliveryTag } } as Message);
        return { receipt, ok: true as const };
      }),
    }));
  }

  async #run<T>(operation: string, replay: 'read' | 'write', work: (live: Live) => Promise<T>): Promise<T> {
    try {
      return await this.#connection.use(work, replay);
    } catch (error) {
      throw toRabbitmqError(error, operation);
    }
  }
}
