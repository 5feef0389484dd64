/**
 * The message-publisher interface: what SQS, SNS, EventBridge, RabbitMQ, NATS JetStream and MQTT offer in
 * common, so workflows publish (and, where the provider keeps messages for a reader, pull) without knowing
 * which one is behind it. Optional abilities are capabilities; a method or field whose capability is
 * missing throws `NotSupportedError` (HTTP 501, Step Functions `NotSupportedError`) before any call.
 * The helpers below hold the rules every implementation applies the same way (sizes, batch limits,
 * capability checks, per-entry failures), so the six connectors cannot drift apart on them.
 */
import {
  type ConnectorError,
  PayloadTooLargeError,
  toConnectorError,
  ValidationError,
} from '@circle-core/core';
import type {
  EntryFailure,
  PublishBatchInput,
  PublishBatchOutput,
  PublishEntryResult,
  PublishInput,
  PublishMessage,
  PublishOutput,
  ReceiveInput,
  ReceiveOutput,
  SettleInput,
  SettleOutput,
} from '../models/message-publisher.ts';
import { type HasCapabilities, requireCapability } from './capabilities.ts';

/**
 * Optional abilities of a publisher:
 * - `attributes`: messages carry `attributes` (SQS/SNS message attributes, AMQP headers, NATS headers,
 *   MQTT 5 user properties); EventBridge has none;
 * - `ordering`: `orderingKey` keeps publish order per key (SQS/SNS FIFO message groups);
 * - `deduplication`: `deduplicationId` drops a repeat within the provider's window (SQS/SNS FIFO, NATS
 *   `Nats-Msg-Id`);
 * - `pull`: `receive`, `acknowledge` and `release` (SQS, RabbitMQ, NATS JetStream; not SNS, EventBridge or
 *   MQTT, whose messages go to subscribers instead).
 * An implementation may offer a capability only for some configurations (SQS: `ordering` on FIFO queues).
 */
export type MessagePublisherCapability = 'attributes' | 'ordering' | 'deduplication' | 'pull';

/** The provider's limits, checked before any call: a batch beyond them is refused whole. */
export interface MessagePublisherLimits {
  /** Entries per `publishBatch` (SQS, SNS, EventBridge: 10). */
  readonly maxBatchEntries: number;
  /** Bytes of one message as {@link messageSize} counts them (SQS, SNS, EventBridge: 262 144). */
  readonly maxMessageBytes: number;
  /** Bytes of a whole batch (SQS, SNS, EventBridge: 262 144), by the same count. */
  readonly maxBatchBytes: number;
  /** Messages per `receive` (SQS: 10); 0 without `pull`. */
  readonly maxReceive: number;
  /**
   * Bytes each attribute adds for its data type, as the provider counts it: SQS and SNS count the type
   * (`String`, 6 bytes) beside the name and value. 0 (the default) where a type is not counted.
   */
  readonly attributeTypeBytes?: number;
}

/**
 * One publisher. Every method validates its input (`ValidationError` with JSON pointers) and fails only
 * with the core error taxonomy: `PayloadTooLargeError` for a message or batch over the limits,
 * `NotFoundError` for a destination the provider does not know (or a message nothing would route),
 * `ForbiddenError` for one outside the allowed ones or refused by the provider, `AuthError`,
 * `RateLimitedError`/`UnavailableError`/`TimeoutError` for transient trouble, `NotSupportedError` for a
 * capability it lacks. A batch reports a refusal of one entry in that entry's result, not by throwing.
 *
 * @example
 * ```ts
 * async function announce(publisher: MessagePublisher, event: object): Promise<void> {
 *   const attributes = supports(publisher, 'attributes') ? { kind: 'announcement' } : undefined;
 *   await publisher.publish({ body: JSON.stringify(event), ...(attributes ? { attributes } : {}) });
 * }
 * ```
 */
export interface MessagePublisher extends HasCapabilities<MessagePublisherCapability> {
  readonly limits: MessagePublisherLimits;
  /** Publishes one message and resolves once the provider has it (confirm, ack or PUBACK). */
  publish(input: PublishInput): Promise<PublishOutput>;
  /** Publishes up to `limits.maxBatchEntries` messages to one destination, with a result per entry. */
  publishBatch(input: PublishBatchInput): Promise<PublishBatchOutput>;
  /**
   * Takes up to `maxMessages` within `waitTimeMs` and the invocation's time left (capability `pull`);
   * each message stays held for this receiver until acknowledged, released, or its receipt expires.
   */
  receive(input?: ReceiveInput): Promise<ReceiveOutput>;
  /** Removes received messages for good (capability `pull`); a result per receipt. */
  acknowledge(input: SettleInput): Promise<SettleOutput>;
  /** Hands received messages back for another delivery now (capability `pull`); a result per receipt. */
  release(input: SettleInput): Promise<SettleOutput>;
}

/**
 * The size of a message as SQS, SNS and EventBridge count it: the UTF-8 bytes of the body plus those of
 * every attribute name and value, and `attributeTypeBytes` per attribute for its data type (SQS and SNS
 * count `String`, 6 bytes).
 *
 * @example
 * ```ts
 * messageSize({ body: 'héllo', attributes: { kind: 'x' } }); // 6 + 4 + 1 = 11
 * messageSize({ body: 'héllo', attributes: { kind: 'x' } }, 6); // 6 + 4 + 6 + 1 = 17
 * ```
 */
export function messageSize(message: PublishMessage, attributeTypeBytes = 0): number {
  let size = Buffer.byteLength(message.body);
  for (const [name, value] of Object.entries(message.attributes ?? {})) {
    size += Buffer.byteLength(name) + attributeTypeBytes + Buffer.byteLength(value);
  }
  return size;
}

/**
 * Checks a message against the implementation's capabilities and limits before any call: an attribute,
 * ordering key or deduplication id it cannot carry is a `NotSupportedError` (never silently dropped), a
 * message over `maxMessageBytes` a `PayloadTooLargeError` naming the limit.
 *
 * @example
 * ```ts
 * checkMessage(this, input, 'RabbitMQ');
 * ```
 */
export function checkMessage(
  publisher: MessagePublisher,
  message: PublishMessage,
  implementationName: string,
  pointer = '',
): number {
  if (message.attributes !== undefined && Object.keys(message.attributes).length > 0) {
    requireCapability(publisher, 'attributes', implementationName);
  }
  if (message.orderingKey !== undefined) requireCapability(publisher, 'ordering', implementationName);
  if (message.deduplicationId !== undefined) {
    requireCapability(publisher, 'deduplication', implementationName);
  }
  const typeBytes = publisher.limits.attributeTypeBytes ?? 0;
  const size = messageSize(message, typeBytes);
  if (size > publisher.limits.maxMessageBytes) {
    const counted = typeBytes > 0 ? 'body and attributes, with their names and types' : 'body and attributes';
    throw new PayloadTooLargeError(publisher.limits.maxMessageBytes, {
      message: `The message${pointer === '' ? '' : ` at ${pointer}`} is ${size} bytes (${counted}); ${implementationName} takes at most ${publisher.limits.maxMessageBytes}`,
    });
  }
  return size;
}

/**
 * Checks a whole batch before any call: entry count, each message ({@link checkMessage}) and the total
 * size. A batch that breaks a limit is refused whole, so nothing of it is published.
 *
 * @example
 * ```ts
 * checkBatch(this, input.entries, 'Amazon SQS');
 * ```
 */
export function checkBatch(
  publisher: MessagePublisher,
  entries: readonly PublishMessage[],
  implementationName: string,
): void {
  const { maxBatchEntries, maxBatchBytes } = publisher.limits;
  if (entries.length > maxBatchEntries) {
    throw new ValidationError(`${implementationName} takes at most ${maxBatchEntries} entries per batch`, [
      { pointer: '/entries', message: `expected at most ${maxBatchEntries} entries, got ${entries.length}` },
    ]);
  }
  let total = 0;
  entries.forEach((entry, index) => {
    total += checkMessage(publisher, entry, implementationName, `/entries/${index}`);
  });
  if (total > maxBatchBytes) {
    throw new PayloadTooLargeError(maxBatchBytes, {
      message: `The batch is ${total} bytes (bodies and attributes); ${implementationName} takes at most ${maxBatchBytes} per batch`,
    });
  }
}

/**
 * What an SQS message cannot carry (SQS API Reference, SendMessage: only `#x9 | #xA | #xD | #x20-#xD7FF |
 * #xE000-#xFFFD | #x10000-#x10FFFF`, in the body and in attribute values): the other control characters,
 * unpaired surrogates, U+FFFE and U+FFFF.
 */
const NOT_SQS_TEXT = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;

/**
 * Refuses before any call a body or attribute value holding a character SQS cannot carry ({@link
 * NOT_SQS_TEXT}), with a `ValidationError` naming each such field (`/body`, `/attributes/<name>`, under
 * `pointer` for a batch entry) and the first such character by code point, never the text itself. SQS
 * would refuse the message (`InvalidMessageContents`), and SNS would accept it and then fail its delivery
 * to every SQS subscription: `carrier` says which, at the end of each message.
 *
 * @example
 * ```ts
 * checkSqsCharacters(message, 'an SQS message cannot carry it');
 * input.entries.forEach((entry, index) => checkSqsCharacters(entry, why, `/entries/${index}`));
 * ```
 */
export function checkSqsCharacters(message: PublishMessage, carrier: string, pointer = ''): void {
  const fields: [string, string][] = [[`${pointer}/body`, message.body]];
  for (const [name, value] of Object.entries(message.attributes ?? {})) {
    fields.push([`${pointer}/attributes/${name}`, value]);
  }
  const issues: { pointer: string; message: string }[] = [];
  for (const [field, text] of fields) {
    const found = NOT_SQS_TEXT.exec(text);
    if (found === null) continue;
    const code = (found[0].codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
    issues.push({
      pointer: field,
      message: `expected only tab, line feed, carriage return and characters from U+0020 up, without unpaired surrogates, U+FFFE or U+FFFF; found U+${code} at character ${[...text.slice(0, found.index)].length + 1} (${carrier})`,
    });
  }
  const first = issues[0];
  if (first !== undefined) {
    throw new ValidationError(`Invalid input: ${first.pointer}: ${first.message}`, issues);
  }
}

/**
 * Checks a pull against the limits: more than `maxReceive` messages is a `ValidationError` naming
 * `/maxMessages`, and without `pull` every pull or settle is a `NotSupportedError`.
 *
 * @example
 * ```ts
 * checkReceive(this, input.maxMessages, 'RabbitMQ');
 * ```
 */
export function checkReceive(
  publisher: MessagePublisher,
  maxMessages: number | undefined,
  implementationName: string,
): void {
  requireCapability(publisher, 'pull', implementationName);
  const limit = publisher.limits.maxReceive;
  if (maxMessages !== undefined && maxMessages > limit) {
    throw new ValidationError(`${implementationName} takes at most ${limit} messages per receive`, [
      { pointer: '/maxMessages', message: `expected at most ${limit}` },
    ]);
  }
}

/**
 * A failure as one entry's (or one receipt's) result: the core error it maps to, its message only when
 * that is safe to show.
 *
 * @example
 * ```ts
 * results.push({ index, ok: false, error: entryFailure(error) });
 * ```
 */
export function entryFailure(error: unknown): EntryFailure {
  const mapped: ConnectorError = toConnectorError(error);
  return {
    name: mapped.name,
    code: mapped.code,
    message: mapped.expose ? mapped.message : 'The provider refused the entry',
    retryable: mapped.retryable,
  };
}

/**
 * Publishes entries one by one with `publishOne`, for providers without a batch call (RabbitMQ, NATS,
 * MQTT): each entry's failure goes into its result, and a failure that would fail every following entry
 * too (the connection is gone, the credentials are refused, the time is up) is thrown instead.
 *
 * @example
 * ```ts
 * return publishEach(input.entries, (entry) => this.#publishOne(destination, entry), isFatal);
 * ```
 */
export async function publishEach(
  entries: readonly PublishMessage[],
  publishOne: (entry: PublishMessage, index: number) => Promise<PublishOutput>,
  isEntryFailure: (error: unknown) => boolean,
): Promise<PublishBatchOutput> {
  const results: PublishEntryResult[] = [];
  for (const [index, entry] of entries.entries()) {
    try {
      results.push({ index, ok: true, ...(await publishOne(entry, index)) });
    } catch (error) {
      if (!isEntryFailure(error)) throw error;
      results.push({ index, ok: false, error: entryFailure(error) });
    }
  }
  return batchOutput(results);
}

/**
 * Counts a batch's results.
 *
 * @example
 * ```ts
 * return batchOutput(results); // { results, succeeded: 9, failed: 1 }
 * ```
 */
export function batchOutput(results: PublishEntryResult[]): PublishBatchOutput {
  const failed = results.filter((result) => !result.ok).length;
  return { results, succeeded: results.length - failed, failed };
}
