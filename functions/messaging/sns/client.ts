/**
 * Amazon SNS as a {@link MessagePublisher}, through the core's AWS kit: one SDK client from
 * `createAwsClient`, every call through `awsCall` (the invocation's time left as an abort signal, failures
 * mapped once with the rows in `errors.ts`), the interface's shared checks before any call. SNS pushes to
 * its subscribers, so there is no pull: receive, acknowledge and release answer NotSupportedError. The only
 * file that talks to SNS.
 */
import {
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  type MessageAttributeValue,
  PublishBatchCommand,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import {
  awsCall,
  awsEntryFailure,
  createAwsClient,
  ForbiddenError,
  parseInput,
  SNS_MESSAGE_LIMIT_BYTES,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { refuseCapability } from '#shared/interfaces/capabilities.ts';
import {
  batchOutput,
  checkBatch,
  checkMessage,
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
  type ReceiveInput,
  type ReceiveOutput,
  type SettleInput,
  type SettleOutput,
} from '#shared/models/message-publisher.ts';
import { snsTarget } from './errors.ts';
import {
  ListSubscriptionsInput,
  type ListSubscriptionsOutput,
  TopicAttributesInput,
  type TopicAttributesOutput,
} from './models.ts';

const NAME = 'Amazon SNS';
/** SNS's own limits (in UTF-8 bytes of body and attribute names, types and values): 10 entries per PublishBatch, 256 KiB per message and per batch (unchanged by the 2026 raise for SQS and EventBridge); no pull. */
export const SNS_LIMITS: MessagePublisherLimits = {
  maxBatchEntries: 10,
  maxMessageBytes: SNS_MESSAGE_LIMIT_BYTES,
  maxBatchBytes: SNS_MESSAGE_LIMIT_BYTES,
  maxReceive: 0,
  // Each attribute's data type counts too: `String`, 6 bytes.
  attributeTypeBytes: Buffer.byteLength('String'),
};
/**
 * Why a body or attribute value must be text SQS can carry: SNS takes it, then fails the delivery to every
 * SQS subscription (the message is lost there while the publisher was told it was published).
 */
const SQS_SUBSCRIBERS =
  "the topic's SQS subscriptions cannot carry it: SNS would accept the message and drop it on the way to them";

/** What the client needs from the settings. */
export interface SnsOptions {
  topicArn: string;
  /** One call's budget including the SDK's retries; the invocation's time left may cut it shorter. */
  timeoutMs: number;
  maxAttempts: number;
}

/**
 * The capabilities of a topic: attributes always, ordering and deduplication on a FIFO topic.
 *
 * @example
 * ```ts
 * snsCapabilities('arn:aws:sns:us-east-1:123456789012:ledger.fifo'); // ['attributes', 'ordering', 'deduplication']
 * ```
 */
export function snsCapabilities(topicArn: string): MessagePublisherCapability[] {
  return topicArn.endsWith('.fifo') ? ['attributes', 'ordering', 'deduplication'] : ['attributes'];
}

function snsAttributes(message: PublishMessage): Record<string, MessageAttributeValue> | undefined {
  const entries = Object.entries(message.attributes ?? {});
  if (entries.length === 0) return undefined;
  return Object.fromEntries(
    entries.map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
  );
}

function publishFields(message: PublishMessage) {
  return {
    Message: message.body,
    MessageAttributes: snsAttributes(message),
    MessageGroupId: message.orderingKey,
    MessageDeduplicationId: message.deduplicationId,
  };
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: string };
}

/**
 * One SNS topic as a message publisher. The SDK client is a parameter, so a test can hand in one that
 * fails on purpose.
 *
 * @example
 * ```ts
 * const sns = await SnsPublisher.create({ topicArn, timeoutMs: 5_000, maxAttempts: 3 });
 * await sns.publish({ body: '{"id":1}', attributes: { kind: 'order' } });
 * ```
 */
export class SnsPublisher implements MessagePublisher {
  readonly capabilities: ReadonlySet<MessagePublisherCapability>;
  readonly limits = SNS_LIMITS;
  readonly #sdk: SNSClient;
  readonly #options: SnsOptions;

  constructor(sdk: SNSClient, options: SnsOptions) {
    this.#sdk = sdk;
    this.#options = options;
    this.capabilities = new Set(snsCapabilities(options.topicArn));
  }

  /** Builds the SDK client the kit's way (traced when tracing is on). */
  static async create(options: SnsOptions): Promise<SnsPublisher> {
    const sdk = await createAwsClient(SNSClient, 'sns', {
      connectionTimeoutMs: Math.min(options.timeoutMs, 3_000),
      requestTimeoutMs: options.timeoutMs,
      maxAttempts: options.maxAttempts,
    });
    return new SnsPublisher(sdk, options);
  }

  /** Publishes one message to the topic; SNS delivers it to every subscription whose filter policy matches. */
  async publish(raw: PublishInput): Promise<PublishOutput> {
    const { destination, ...message } = parseInput(PublishInput, raw);
    checkMessage(this, message, NAME);
    checkSqsCharacters(message, SQS_SUBSCRIBERS);
    const topicArn = this.#topic(destination);
    const command = new PublishCommand({ TopicArn: topicArn, ...publishFields(message) });
    const out = await this.#call('Publish', topicArn, (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    );
    return { ...optional('messageId', out.MessageId), ...optional('sequence', out.SequenceNumber) };
  }

  /** Publishes up to 10 messages in one PublishBatch; an entry SNS refuses fails alone. */
  async publishBatch(raw: PublishBatchInput): Promise<PublishBatchOutput> {
    const input = parseInput(PublishBatchInput, raw);
    checkBatch(this, input.entries, NAME);
    input.entries.forEach((entry, index) => {
      checkSqsCharacters(entry, SQS_SUBSCRIBERS, `/entries/${index}`);
    });
    const topicArn = this.#topic(input.destination);
    const command = new PublishBatchCommand({
      TopicArn: topicArn,
      PublishBatchRequestEntries: input.entries.map((entry, index) => ({
        Id: String(index),
        ...publishFields(entry),
      })),
    });
    const out = await this.#call('PublishBatch', topicArn, (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    );
    const results: PublishEntryResult[] = [];
    for (const entry of out.Successful ?? []) {
      results.push({
        index: Number(entry.Id),
        ok: true,
        ...optional('messageId', entry.MessageId),
        ...optional('sequence', entry.SequenceNumber),
      });
    }
    for (const entry of out.Failed ?? []) {
      const error = awsEntryFailure(snsTarget('PublishBatch', topicArn), entry.Code, entry.SenderFault);
      results.push({ index: Number(entry.Id), ok: false, error: entryFailure(error) });
    }
    if (results.length !== input.entries.length) {
      throw new UnexpectedResponseError(
        `SNS answered ${results.length} results for ${input.entries.length} entries`,
      );
    }
    return batchOutput(results.sort((a, b) => a.index - b.index));
  }

  /** SNS keeps nothing for a reader: NotSupportedError (501). */
  async receive(_raw: ReceiveInput = {}): Promise<ReceiveOutput> {
    return refuseCapability(this, 'pull', NAME);
  }

  /** SNS keeps nothing for a reader: NotSupportedError (501). */
  async acknowledge(_raw: SettleInput): Promise<SettleOutput> {
    return refuseCapability(this, 'pull', NAME);
  }

  /** SNS keeps nothing for a reader: NotSupportedError (501). */
  async release(_raw: SettleInput): Promise<SettleOutput> {
    return refuseCapability(this, 'pull', NAME);
  }

  /** One page (up to 100) of the topic's subscriptions. */
  async listSubscriptions(raw: ListSubscriptionsInput = {}): Promise<ListSubscriptionsOutput> {
    const input = parseInput(ListSubscriptionsInput, raw);
    const topicArn = this.#options.topicArn;
    const command = new ListSubscriptionsByTopicCommand({ TopicArn: topicArn, NextToken: input.nextToken });
    const out = await this.#call('ListSubscriptionsByTopic', topicArn, (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    ).catch((error: unknown) => {
      // The topic is the configured one: with a token, SNS's InvalidParameter is about the token.
      if (input.nextToken === undefined || !(error instanceof ValidationError) || error.issues.length > 0)
        throw error;
      const message = 'expected the nextToken of a previous list-subscriptions page';
      throw new ValidationError(
        `Invalid input: /nextToken: ${message}`,
        [{ pointer: '/nextToken', message }],
        {
          ...(error.details === undefined ? {} : { details: error.details }),
          cause: error,
        },
      );
    });
    return {
      topicArn,
      subscriptions: (out.Subscriptions ?? []).map((subscription) => ({
        subscriptionArn: subscription.SubscriptionArn ?? '',
        protocol: subscription.Protocol ?? '',
        endpoint: subscription.Endpoint ?? '',
        owner: subscription.Owner ?? '',
      })),
      ...optional('nextToken', out.NextToken),
    };
  }

  /** The topic's kind (standard or FIFO), subscription counts and settings. */
  async topicAttributes(raw: TopicAttributesInput = {}): Promise<TopicAttributesOutput> {
    parseInput(TopicAttributesInput, raw);
    const topicArn = this.#options.topicArn;
    const out = await this.#call('GetTopicAttributes', topicArn, (abortSignal) =>
      this.#sdk.send(new GetTopicAttributesCommand({ TopicArn: topicArn }), { abortSignal }),
    );
    const attributes = out.Attributes ?? {};
    const count = (name: string): number => {
      const value = Number(attributes[name] ?? 0);
      return Number.isInteger(value) && value >= 0 ? value : 0;
    };
    return {
      topicArn,
      fifo: attributes['FifoTopic'] === 'true',
      contentBasedDeduplication: attributes['ContentBasedDeduplication'] === 'true',
      subscriptionsConfirmed: count('SubscriptionsConfirmed'),
      subscriptionsPending: count('SubscriptionsPending'),
      ...optional('displayName', attributes['DisplayName'] || undefined),
      ...optional('kmsMasterKeyId', attributes['KmsMasterKeyId'] || undefined),
    };
  }

  /** Proves the credentials, the endpoint and the topic for `health` (GetTopicAttributes). */
  async ping(): Promise<void> {
    const topicArn = this.#options.topicArn;
    await this.#call('GetTopicAttributes', topicArn, (abortSignal) =>
      this.#sdk.send(new GetTopicAttributesCommand({ TopicArn: topicArn }), { abortSignal }),
    );
  }

  /** The configured topic, named by its ARN or name; any other is refused (the role names it alone). */
  #topic(requested: string | undefined): string {
    const topicArn = this.#options.topicArn;
    if (requested === undefined || requested === topicArn) return topicArn;
    if (requested === topicArn.slice(topicArn.lastIndexOf(':') + 1)) return topicArn;
    throw new ForbiddenError(`Topic "${requested}" is not this connector's topic (SNS_TOPIC_ARN)`);
  }

  #call<T>(action: string, topicArn: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    return awsCall({ ...snsTarget(action, topicArn), timeoutMs: this.#options.timeoutMs }, send);
  }
}
