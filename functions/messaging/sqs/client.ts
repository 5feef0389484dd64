/**
 * Amazon SQS as a {@link MessagePublisher}, through the core's AWS kit: one SDK client from
 * `createAwsClient`, every call through `awsCall` (the invocation's time left as an abort signal, failures
 * mapped once with the rows in `errors.ts`), the interface's shared checks before any call. The only file
 * that talks to SQS.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  ANSWER_RESERVE_MS,
  awsCall,
  awsEntryFailure,
  createAwsClient,
  ForbiddenError,
  parseInput,
  remainingTimeMs,
  SQS_BATCH_LIMIT_BYTES,
  SQS_MESSAGE_LIMIT_BYTES,
  UnexpectedResponseError,
} from '@circle-core/core';
import {
  batchOutput,
  checkBatch,
  checkMessage,
  checkReceive,
  checkSqsCharacters,
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
  type SettleResult,
} from '#shared/models/message-publisher.ts';
import { sqsTarget } from './errors.ts';
import { ChangeVisibilityInput, QueueAttributesInput, type QueueAttributesOutput } from './models.ts';

const NAME = 'Amazon SQS';
/** SQS's own limits (in UTF-8 bytes of body and attribute names, types and values): 10 entries per batch, 1 MiB per message and per batch (since January 2026), 10 messages per receive. */
export const SQS_LIMITS: MessagePublisherLimits = {
  maxBatchEntries: 10,
  maxMessageBytes: SQS_MESSAGE_LIMIT_BYTES,
  maxBatchBytes: SQS_BATCH_LIMIT_BYTES,
  maxReceive: 10,
  // Each attribute's data type counts too: `String`, 6 bytes.
  attributeTypeBytes: Buffer.byteLength('String'),
};
/** Said after a body or attribute value with a character outside SQS's set (checked before any call). */
const SQS_TEXT = 'an SQS message cannot carry it';
/** Long polling stops at 20 s. */
const MAX_WAIT_SECONDS = 20;
/** Kept back from a receive's wait for the answer to travel back within the time left. */
const ANSWER_MARGIN_MS = 1_000;

/** What the client needs from the settings. */
export interface SqsOptions {
  queueUrl: string;
  /** One call's budget including the SDK's retries; the invocation's time left may cut it shorter. */
  timeoutMs: number;
  maxAttempts: number;
}

/**
 * The capabilities of a queue: attributes and pull always, ordering and deduplication on a FIFO queue.
 *
 * @example
 * ```ts
 * sqsCapabilities('https://sqs.us-east-1.amazonaws.com/1/jobs.fifo'); // ['attributes', 'pull', 'ordering', 'deduplication']
 * ```
 */
export function sqsCapabilities(queueUrl: string): MessagePublisherCapability[] {
  return queueUrl.endsWith('.fifo')
    ? ['attributes', 'pull', 'ordering', 'deduplication']
    : ['attributes', 'pull'];
}

function sqsAttributes(message: PublishMessage): Record<string, MessageAttributeValue> | undefined {
  const entries = Object.entries(message.attributes ?? {});
  if (entries.length === 0) return undefined;
  return Object.fromEntries(
    entries.map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
}

function sendFields(message: PublishMessage) {
  return {
    MessageBody: message.body,
    MessageAttributes: sqsAttributes(message),
    MessageGroupId: message.orderingKey,
    MessageDeduplicationId: message.deduplicationId,
  };
}

function received(message: {
  ReceiptHandle?: string | undefined;
  MessageId?: string | undefined;
  Body?: string | undefined;
  Attributes?: Partial<Record<string, string>> | undefined;
  MessageAttributes?: Record<string, MessageAttributeValue> | undefined;
}): ReceivedMessage {
  if (message.ReceiptHandle === undefined || message.Body === undefined) {
    throw new UnexpectedResponseError('SQS answered a message without a receipt handle or body');
  }
  const count = Number(message.Attributes?.['ApproximateReceiveCount'] ?? '1');
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    if (value.StringValue !== undefined) attributes[name] = value.StringValue;
  }
  const group = message.Attributes?.['MessageGroupId'];
  const deduplication = message.Attributes?.['MessageDeduplicationId'];
  return {
    receipt: message.ReceiptHandle,
    ...(message.MessageId === undefined ? {} : { messageId: message.MessageId }),
    body: message.Body,
    attributes,
    ...(group === undefined ? {} : { orderingKey: group }),
    ...(deduplication === undefined ? {} : { deduplicationId: deduplication }),
    redelivered: count > 1,
    deliveryCount: Number.isInteger(count) && count >= 1 ? count : 1,
  };
}

/**
 * One SQS queue as a message publisher with pull. The SDK client is a parameter, so a test can hand in
 * one that fails on purpose.
 *
 * @example
 * ```ts
 * const sqs = await SqsPublisher.create({ queueUrl, timeoutMs: 5_000, maxAttempts: 3 });
 * await sqs.publish({ body: '{"id":1}', attributes: { kind: 'order' } });
 * const { messages } = await sqs.receive({ maxMessages: 10, waitTimeMs: 2_000 });
 * ```
 */
export class SqsPublisher implements MessagePublisher {
  readonly capabilities: ReadonlySet<MessagePublisherCapability>;
  readonly limits = SQS_LIMITS;
  readonly #sdk: SQSClient;
  readonly #options: SqsOptions;

  constructor(sdk: SQSClient, options: SqsOptions) {
    this.#sdk = sdk;
    this.#options = options;
    this.capabilities = new Set(sqsCapabilities(options.queueUrl));
  }

  /** Builds the SDK client the kit's way (traced when tracing is on); a long poll fits its socket timeout. */
  static async create(options: SqsOptions): Promise<SqsPublisher> {
    const sdk = await createAwsClient(SQSClient, 'sqs', {
      connectionTimeoutMs: Math.min(options.timeoutMs, 3_000),
      requestTimeoutMs: options.timeoutMs + MAX_WAIT_SECONDS * 1000,
      maxAttempts: options.maxAttempts,
    });
    return new SqsPublisher(sdk, options);
  }

  /** Sends one message. */
  async publish(raw: PublishInput): Promise<PublishOutput> {
    const { destination, ...message } = parseInput(PublishInput, raw);
    checkMessage(this, message, NAME);
    checkSqsCharacters(message, SQS_TEXT);
    const queueUrl = this.#queue(destination);
    const command = new SendMessageCommand({ QueueUrl: queueUrl, ...sendFields(message) });
    const out = await this.#call('SendMessage', queueUrl, (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    );
    return {
      ...(out.MessageId === undefined ? {} : { messageId: out.MessageId }),
      ...(out.SequenceNumber === undefined ? {} : { sequence: out.SequenceNumber }),
    };
  }

  /**
   * Sends up to 10 messages in one SendMessageBatch; an entry SQS refuses fails alone, and so does one with
   * a character SQS cannot carry, refused before the call (its result names `/entries/<i>/...`).
   */
  async publishBatch(raw: PublishBatchInput): Promise<PublishBatchOutput> {
    const input = parseInput(PublishBatchInput, raw);
    checkBatch(this, input.entries, NAME);
    const queueUrl = this.#queue(input.destination);
    const results: PublishEntryResult[] = [];
    const sendable: { Id: string; entry: PublishMessage }[] = [];
    input.entries.forEach((entry, index) => {
      try {
        checkSqsCharacters(entry, SQS_TEXT, `/entries/${index}`);
        sendable.push({ Id: String(index), entry });
      } catch (error) {
        results.push({ index, ok: false, error: entryFailure(error) });
      }
    });
    const out: Partial<SendMessageBatchCommandOutput> =
      sendable.length === 0
        ? {}
        : await this.#call('SendMessageBatch', queueUrl, (abortSignal) =>
            this.#sdk.send(
              new SendMessageBatchCommand({
                QueueUrl: queueUrl,
                Entries: sendable.map(({ Id, entry }) => ({ Id, ...sendFields(entry) })),
              }),
              { abortSignal },
            ),
          );
    for (const entry of out.Successful ?? []) {
      results.push({
        index: Number(entry.Id),
        ok: true,
        ...(entry.MessageId === undefined ? {} : { messageId: entry.MessageId }),
        ...(entry.SequenceNumber === undefined ? {} : { sequence: entry.SequenceNumber }),
      });
    }
    for (const entry of out.Failed ?? []) {
      const error = awsEntryFailure(sqsTarget('SendMessageBatch', queueUrl), entry.Code, entry.SenderFault);
      results.push({ index: Number(entry.Id), ok: false, error: entryFailure(error) });
    }
    if (results.length !== input.entries.length) {
      throw new UnexpectedResponseError(
        `SQS answered ${results.length} results for ${input.entries.length} entries`,
      );
    }
    return batchOutput(results.sort((a, b) => a.index - b.index));
  }

  /**
   * Long-polls for up to `maxMessages` (at most 10), waiting at most `waitTimeMs` and never past the
   * invocation's time left (rounded down to SQS's whole seconds).
   */
  async receive(raw: ReceiveInput = {}): Promise<ReceiveOutput> {
    const input = parseInput(ReceiveInput, raw);
    checkReceive(this, input.maxMessages, NAME);
    const queueUrl = this.#queue(input.source);
    const available = remainingTimeMs() - ANSWER_RESERVE_MS - ANSWER_MARGIN_MS - this.#options.timeoutMs;
    const waitSeconds = Math.max(
      0,
      Math.min(MAX_WAIT_SECONDS, Math.floor(Math.min(input.waitTimeMs, available) / 1000)),
    );
    const command = new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: input.maxMessages,
      WaitTimeSeconds: waitSeconds,
      MessageAttributeNames: ['All'],
      MessageSystemAttributeNames: ['ApproximateReceiveCount', 'MessageGroupId', 'MessageDeduplicationId'],
    });
    const out = await this.#call(
      'ReceiveMessage',
      queueUrl,
      (abortSignal) => this.#sdk.send(command, { abortSignal }),
      waitSeconds * 1000,
    );
    return { messages: (out.Messages ?? []).map(received) };
  }

  /** Deletes received messages (DeleteMessageBatch, 10 at a time); a result per receipt. */
  async acknowledge(raw: SettleInput): Promise<SettleOutput> {
    const input = parseInput(SettleInput, raw);
    checkReceive(this, undefined, NAME);
    const queueUrl = this.#queue(input.source);
    return this.#settle('DeleteMessageBatch', queueUrl, input.receipts, (entries, abortSignal) =>
      this.#sdk.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }), {
        abortSignal,
      }),
    );
  }

  /** Makes received messages visible again at once (visibility timeout 0); a result per receipt. */
  async release(raw: SettleInput): Promise<SettleOutput> {
    const input = parseInput(SettleInput, raw);
    checkReceive(this, undefined, NAME);
    return this.#changeVisibility(this.#queue(input.source), input.receipts, 0);
  }

  /** Sets how long received messages stay hidden, from now; a result per receipt. */
  async changeVisibility(raw: ChangeVisibilityInput): Promise<SettleOutput> {
    const input = parseInput(ChangeVisibilityInput, raw);
    return this.#changeVisibility(this.#queue(input.source), input.receipts, input.visibilityTimeoutSeconds);
  }

  /** The queue's settings and approximate counts. */
  async queueAttributes(raw: QueueAttributesInput = {}): Promise<QueueAttributesOutput> {
    const input = parseInput(QueueAttributesInput, raw);
    const queueUrl = this.#queue(input.source);
    const command = new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['All'] });
    const out = await this.#call('GetQueueAttributes', queueUrl, (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    );
    const attributes = out.Attributes ?? {};
    const count = (name: string): number => {
      const value = Number(attributes[name as keyof typeof attributes] ?? 0);
      return Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0;
    };
    const redrive = parseRedrive(attributes.RedrivePolicy);
    return {
      queueUrl,
      queueArn: attributes.QueueArn ?? '',
      fifo: attributes.FifoQueue === 'true',
      contentBasedDeduplication: attributes.ContentBasedDeduplication === 'true',
      approximateMessages: count('ApproximateNumberOfMessages'),
      approximateInFlight: count('ApproximateNumberOfMessagesNotVisible'),
      approximateDelayed: count('ApproximateNumberOfMessagesDelayed'),
      visibilityTimeoutSeconds: count('VisibilityTimeout'),
      retentionSeconds: count('MessageRetentionPeriod'),
      maximumMessageBytes: count('MaximumMessageSize'),
      ...redrive,
    };
  }

  /** Proves the credentials, the endpoint and the queue for `health` (GetQueueAttributes QueueArn). */
  async ping(): Promise<void> {
    const queueUrl = this.#options.queueUrl;
    const command = new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] });
    await this.#call('GetQueueAttributes', queueUrl, (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    );
  }

  #changeVisibility(queueUrl: string, receipts: string[], seconds: number): Promise<SettleOutput> {
    return this.#settle('ChangeMessageVisibilityBatch', queueUrl, receipts, (entries, abortSignal) =>
      this.#sdk.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: entries.map((entry) => ({ ...entry, VisibilityTimeout: seconds })),
        }),
        { abortSignal },
      ),
    );
  }

  /** Runs a receipt batch action 10 receipts at a time, with a result per receipt in input order. */
  async #settle(
    action: string,
    queueUrl: string,
    receipts: string[],
    send: (
      entries: { Id: string; ReceiptHandle: string }[],
      abortSignal: AbortSignal,
    ) => Promise<{
      Successful?: { Id?: string | undefined }[] | undefined;
      Failed?:
        | { Id?: string | undefined; Code?: string | undefined; SenderFault?: boolean | undefined }[]
        | undefined;
    }>,
  ): Promise<SettleOutput> {
    const results: SettleResult[] = receipts.map((receipt) => ({ receipt, ok: true }));
    for (let start = 0; start < receipts.length; start += SQS_LIMITS.maxBatchEntries) {
      const entries = receipts
        .slice(start, start + SQS_LIMITS.maxBatchEntries)
        .map((receipt, offset) => ({ Id: String(start + offset), ReceiptHandle: receipt }));
      const out = await this.#call(action, queueUrl, (abortSignal) => send(entries, abortSignal));
      for (const failed of out.Failed ?? []) {
        const index = Number(failed.Id);
        const error = awsEntryFailure(sqsTarget(action, queueUrl), failed.Code, failed.SenderFault);
        results[index] = { receipt: receipts[index] ?? '', ok: false, error: entryFailure(error) };
      }
    }
    return { results };
  }

  /** The configured queue, named by its URL or name; any other is refused (the role names it alone). */
  #queue(requested: string | undefined): string {
    const queueUrl = this.#options.queueUrl;
    if (requested === undefined || requested === queueUrl) return queueUrl;
    if (requested === queueUrl.slice(queueUrl.lastIndexOf('/') + 1)) return queueUrl;
    throw new ForbiddenError(`Queue "${requested}" is not this connector's queue (SQS_QUEUE_URL)`);
  }

  #call<T>(
    action: string,
    queueUrl: string,
    send: (abortSignal: AbortSignal) => Promise<T>,
    extraMs = 0,
  ): Promise<T> {
    return awsCall({ ...sqsTarget(action, queueUrl), timeoutMs: this.#options.timeoutMs + extraMs }, send);
  }
}

function parseRedrive(policy: string | undefined): {
  deadLetterTargetArn?: string;
  maxReceiveCount?: number;
} {
  if (policy === undefined || policy === '') return {};
  try {
    const parsed = JSON.parse(policy) as { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown };
    const count = Number(parsed.maxReceiveCount);
    return {
      ...(typeof parsed.deadLetterTargetArn === 'string'
        ? { deadLetterTargetArn: parsed.deadLetterTargetArn }
        : {}),
      ...(Number.isInteger(count) && count >= 1 ? { maxReceiveCount: count } : {}),
    };
  } catch {
    return {};
  }
}
