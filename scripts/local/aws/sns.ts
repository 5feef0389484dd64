/**
 * SNS over the query protocol, as the AWS SDK v3 and the AWS CLI speak it: topics (standard and FIFO),
 * Publish and PublishBatch (per-entry failures), message attributes, subscriptions of SQS queues and Lambda
 * functions with filter policies (on attributes or on the body) and raw message delivery, and the listings.
 * Deliveries happen at publish time, into the stack's queue engine or as a Lambda invoke.
 * Reference: the Amazon SNS API Reference (actions, errors) and "Amazon SNS message delivery" (envelope).
 */
import { createHash, randomUUID } from 'node:crypto';
import { SNS_MESSAGE_LIMIT_BYTES } from '../../../layers/core/src/aws/limits.ts';
import type { MessageAttributeValue } from '../queues/md5.ts';
import type { QueueEngine } from '../queues/queue-engine.ts';
import { matchesPattern, PatternError, parsePattern } from './event-pattern.ts';
import { AwsError } from './protocol.ts';
import { type QueryRequest, type QueryService, queryEntries, queryMap, xmlFields } from './query.ts';

/** SNS's namespace in every answer. */
export const SNS_NAMESPACE = 'http://sns.amazonaws.com/doc/2010-03-31/';

const MAX_MESSAGE_BYTES = SNS_MESSAGE_LIMIT_BYTES;
const MAX_BATCH = 10;
const DEDUPLICATION_WINDOW_MS = 5 * 60_000;
const PAGE = 100;

const STATUSES: Record<string, number> = { NotFound: 404, AuthorizationError: 403 };

/**
 * An SNS error (query protocol: `<Code>` read by the SDK).
 *
 * @example
 * ```ts
 * throw snsError('NotFound', 'Topic does not exist');
 * ```
 */
export function snsError(code: string, message: string): AwsError {
  return new AwsError(code, message, { status: STATUSES[code] ?? 400 });
}

const invalid = (message: string): AwsError => snsError('InvalidParameter', `Invalid parameter: ${message}`);

/** A subscription as the topic holds it. */
export interface Subscription {
  arn: string;
  topicArn: string;
  protocol: 'sqs' | 'lambda';
  endpoint: string;
  attributes: Record<string, string>;
  filter: Record<string, unknown> | undefined;
}

/** A topic. */
export interface Topic {
  name: string;
  arn: string;
  fifo: boolean;
  attributes: Record<string, string>;
  subscriptions: Subscription[];
  deduplication: Map<string, { messageId: string; sequenceNumber: string; at: number }>;
  sequence: bigint;
}

/** One message to publish (Publish, or one PublishBatch entry). */
export interface PublishInput {
  message: string;
  subject?: string | undefined;
  messageStructure?: string | undefined;
  attributes: Record<string, MessageAttributeValue>;
  groupId?: string | undefined;
  deduplicationId?: string | undefined;
}

/** Where deliveries go. */
export interface SnsDeliveries {
  queues: QueueEngine;
  /** Invokes a Lambda function by ARN (asynchronously: SNS does not wait for it). */
  invoke?: ((functionArn: string, event: unknown) => Promise<unknown>) | undefined;
  /** Told about a delivery that could not be made (missing queue, refused message). */
  onDeliveryFailure?: ((subscription: Subscription, reason: string) => void) | undefined;
}

const SETTABLE_TOPIC = new Set([
  'DisplayName',
  'Policy',
  'DeliveryPolicy',
  'FifoTopic',
  'ContentBasedDeduplication',
  'KmsMasterKeyId',
  'SignatureVersion',
  'TracingConfig',
  'ArchivePolicy',
  'FifoThroughputScope',
]);
const SETTABLE_SUBSCRIPTION = new Set([
  'FilterPolicy',
  'FilterPolicyScope',
  'RawMessageDelivery',
  'RedrivePolicy',
  'DeliveryPolicy',
  'SubscriptionRoleArn',
]);

function attributeValues(attributes: Record<string, MessageAttributeValue>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const [name, attribute] of Object.entries(attributes)) {
    const type = attribute.DataType.split('.')[0];
    if (attribute.DataType === 'String.Array') {
      try {
        values[name] = JSON.parse(attribute.StringValue ?? '');
      } catch {
        // Not an array: SNS would have refused it at publish.
      }
    } else if (type === 'Number') values[name] = Number(attribute.StringValue);
    else if (type === 'String') values[name] = attribute.StringValue;
  }
  return values;
}

function filterMatches(subscription: Subscription, input: PublishInput): boolean {
  if (subscription.filter === undefined) return true;
  if (subscription.attributes['FilterPolicyScope'] === 'MessageBody') {
    try {
      return matchesPattern(subscription.filter, JSON.parse(input.message));
    } catch {
      return false;
    }
  }
  return matchesPattern(subscription.filter, attributeValues(input.attributes));
}

/** The message a protocol gets: with MessageStructure=json, its own key or `default`. */
function messageFor(input: PublishInput, protocol: string): string {
  if (input.messageStructure !== 'json') return input.message;
  const structure = JSON.parse(input.message) as Record<string, unknown>;
  const chosen = structure[protocol] ?? structure['default'];
  return typeof chosen === 'string' ? chosen : JSON.stringify(chosen);
}

function envelopeAttributes(attributes: Record<string, MessageAttributeValue>) {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      { Type: value.DataType, Value: value.StringValue ?? value.BinaryValue ?? '' },
    ]),
  );
}

/** The in-memory topics and their deliveries. */
export class SnsTopics {
  readonly #topics = new Map<string, Topic>();
  readonly #region: string;
  readonly #accountId: string;
  readonly #deliveries: SnsDeliveries;

  constructor(options: { region: string; accountId: string; deliveries: SnsDeliveries }) {
    this.#region = options.region;
    this.#accountId = options.accountId;
    this.#deliveries = options.deliveries;
  }

  arnOf(name: string): string {
    return `arn:aws:sns:${this.#region}:${this.#accountId}:${name}`;
  }

  /**
   * Creates a topic, or answers the existing one when its attributes agree (CreateTopic is idempotent).
   *
   * @example
   * ```ts
   * topics.create('orders.fifo', { FifoTopic: 'true', ContentBasedDeduplication: 'true' });
   * ```
   */
  create(name: string, attributes: Record<string, string> = {}): Topic {
    if (!/^[A-Za-z0-9_-]{1,256}(\.fifo)?$/.test(name) || name.length > 256) {
      throw invalid(
        'Topic Name: topic names must be made up of only uppercase and lowercase ASCII letters, numbers, underscores, and hyphens, and must be between 1 and 256 characters long.',
      );
    }
    const fifo = attributes['FifoTopic'] === 'true';
    if (fifo !== name.endsWith('.fifo')) {
      throw invalid('Topic Name: a FIFO topic name must end with .fifo, and only a FIFO topic may');
    }
    for (const key of Object.keys(attributes)) {
      if (!SETTABLE_TOPIC.has(key)) throw invalid(`Attributes Reason: Unknown attribute ${key}`);
    }
    const existing = this.#topics.get(name);
    if (existing !== undefined) {
      const differs = Object.entries(attributes).some(([key, value]) => existing.attributes[key] !== value);
      if (differs) throw invalid('Attributes Reason: Topic already exists with different attributes');
      return existing;
    }
    const topic: Topic = {
      name,
      arn: this.arnOf(name),
      fifo,
      attributes: { ...attributes },
      subscriptions: [],
      deduplication: new Map(),
      sequence: 0n,
    };
    this.#topics.set(name, topic);
    return topic;
  }

  /** The topic of an ARN, or NotFound as SNS answers. */
  topic(arn: string | undefined): Topic {
    if (arn === undefined || arn === '') throw invalid('TopicArn');
    const topic = this.#topics.get(arn.slice(arn.lastIndexOf(':') + 1));
    if (topic === undefined || topic.arn !== arn) throw snsError('NotFound', 'Topic does not exist');
    return topic;
  }

  list(): Topic[] {
    return [...this.#topics.values()];
  }

  delete(arn: string): void {
    const topic = this.#topics.get(arn.slice(arn.lastIndexOf(':') + 1));
    if (topic !== undefined && topic.arn === arn) this.#topics.delete(topic.name);
  }

  /**
   * Subscribes an SQS queue or a Lambda function (by ARN); the same endpoint twice answers the same
   * subscription.
   *
   * @example
   * ```ts
   * topics.subscribe(topic.arn, 'sqs', queueArn, { FilterPolicy: '{"kind":["order"]}', RawMessageDelivery: 'true' });
   * ```
   */
  subscribe(
    topicArn: string,
    protocol: string,
    endpoint: string | undefined,
    attributes: Record<string, string> = {},
  ): Subscription {
    const topic = this.topic(topicArn);
    if (protocol !== 'sqs' && protocol !== 'lambda') {
      throw invalid(
        `Protocol Reason: the local stack delivers to sqs and lambda subscriptions, not ${protocol}`,
      );
    }
    const service = protocol === 'sqs' ? 'sqs' : 'lambda';
    if (endpoint === undefined || !endpoint.startsWith(`arn:aws:${service}:`)) {
      throw invalid(`Endpoint Reason: an ${protocol} endpoint must be an ${service} ARN`);
    }
    const existing = topic.subscriptions.find(
      (sub) => sub.protocol === protocol && sub.endpoint === endpoint,
    );
    if (existing !== undefined) {
      this.#setSubscriptionAttributes(existing, attributes);
      return existing;
    }
    const subscription: Subscription = {
      arn: `${topic.arn}:${randomUUID()}`,
      topicArn: topic.arn,
      protocol,
      endpoint,
      attributes: {},
      filter: undefined,
    };
    this.#setSubscriptionAttributes(subscription, attributes);
    topic.subscriptions.push(subscription);
    return subscription;
  }

  subscription(arn: string | undefined): Subscription {
    for (const topic of this.#topics.values()) {
      const found = topic.subscriptions.find((sub) => sub.arn === arn);
      if (found !== undefined) return found;
    }
    throw snsError('NotFound', 'Subscription does not exist');
  }

  unsubscribe(arn: string | undefined): void {
    const subscription = this.subscription(arn);
    const topic = this.topic(subscription.topicArn);
    topic.subscriptions = topic.subscriptions.filter((sub) => sub !== subscription);
  }

  setSubscriptionAttribute(arn: string | undefined, name: string, value: string): void {
    this.#setSubscriptionAttributes(this.subscription(arn), { [name]: value });
  }

  #setSubscriptionAttributes(subscription: Subscription, attributes: Record<string, string>): void {
    for (const [name, value] of Object.entries(attributes)) {
      checkSubscriptionAttribute(name, value);
      if (name === 'FilterPolicy') subscription.filter = filterPolicy(value);
      subscription.attributes[name] = value;
    }
  }

  /**
   * Publishes one message: checks it as SNS does, then delivers it to every subscription whose filter
   * policy matches. A FIFO duplicate within five minutes answers the first message's id, delivered once.
   *
   * @example
   * ```ts
   * const { messageId } = topics.publish(topic.arn, { message: 'hello', attributes: {} });
   * ```
   */
  publish(topicArn: string, input: PublishInput): { messageId: string; sequenceNumber?: string } {
    const topic = this.topic(topicArn);
    checkMessage(input, topic);
    let deduplicationId: string | undefined;
    if (topic.fifo) {
      deduplicationId =
        input.deduplicationId ?? createHash('sha256').update(input.message, 'utf8').digest('hex');
      const now = Date.now();
      for (const [id, seen] of topic.deduplication) {
        if (now - seen.at > DEDUPLICATION_WINDOW_MS) topic.deduplication.delete(id);
      }
      const seen = topic.deduplication.get(deduplicationId);
      if (seen !== undefined) return { messageId: seen.messageId, sequenceNumber: seen.sequenceNumber };
    }
    const messageId = randomUUID();
    let sequenceNumber: string | undefined;
    if (topic.fifo && deduplicationId !== undefined) {
      topic.sequence += 1n;
      sequenceNumber = (10_000_000_000_000_000_000n + topic.sequence).toString();
      topic.deduplication.set(deduplicationId, { messageId, sequenceNumber, at: Date.now() });
    }
    const timestamp = new Date().toISOString();
    for (const subscription of topic.subscriptions) {
      if (!filterMatches(subscription, input)) continue;
      const delivery = { topic, input, messageId, sequenceNumber, deduplicationId, timestamp };
      if (subscription.protocol === 'sqs') this.#toQueue(subscription, delivery);
      else this.#toFunction(subscription, delivery);
    }
    return sequenceNumber === undefined ? { messageId } : { messageId, sequenceNumber };
  }

  #toQueue(subscription: Subscription, delivery: Delivery): void {
    const queue = this.#deliveries.queues.byArn(subscription.endpoint);
    if (queue === undefined) {
      this.#deliveries.onDeliveryFailure?.(subscription, 'the queue does not exist');
      return;
    }
    const { input, topic } = delivery;
    const raw = subscription.attributes['RawMessageDelivery'] === 'true';
    const message = messageFor(input, 'sqs');
    const body = raw ? message : JSON.stringify(envelope(delivery, message));
    try {
      queue.send({
        body,
        attributes: raw && Object.keys(input.attributes).length > 0 ? input.attributes : undefined,
        ...(queue.fifo
          ? {
              groupId: topic.fifo ? input.groupId : 'sns',
              deduplicationId: delivery.deduplicationId ?? delivery.messageId,
            }
          : {}),
      });
    } catch (error) {
      this.#deliveries.onDeliveryFailure?.(subscription, (error as Error).message);
    }
  }

  #toFunction(subscription: Subscription, delivery: Delivery): void {
    const { input } = delivery;
    const event = {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: subscription.arn,
          Sns: envelope(delivery, messageFor(input, 'lambda')),
        },
      ],
    };
    const invoke = this.#deliveries.invoke;
    if (invoke === undefined) {
      this.#deliveries.onDeliveryFailure?.(subscription, 'no functions run here');
      return;
    }
    invoke(subscription.endpoint, event).catch((error: unknown) =>
      this.#deliveries.onDeliveryFailure?.(subscription, (error as Error).message),
    );
  }
}

interface Delivery {
  topic: Topic;
  input: PublishInput;
  messageId: string;
  sequenceNumber: string | undefined;
  deduplicationId: string | undefined;
  timestamp: string;
}

/** The JSON an SQS subscriber receives (and a Lambda subscriber's `Sns` record) without raw delivery. */
function envelope(delivery: Delivery, message: string): Record<string, unknown> {
  const { topic, input } = delivery;
  const body: Record<string, unknown> = {
    Type: 'Notification',
    MessageId: delivery.messageId,
    TopicArn: topic.arn,
  };
  if (input.subject !== undefined) body['Subject'] = input.subject;
  body['Message'] = message;
  body['Timestamp'] = delivery.timestamp;
  if (delivery.sequenceNumber !== undefined) body['SequenceNumber'] = delivery.sequenceNumber;
  body['SignatureVersion'] = '1';
  body['Signature'] = 'local-stack-unsigned';
  body['SigningCertURL'] = 'http://127.0.0.1/local-stack-has-no-signing-certificate.pem';
  body['UnsubscribeURL'] = 'http://127.0.0.1/local-stack-has-no-unsubscribe-url';
  if (Object.keys(input.attributes).length > 0)
    body['MessageAttributes'] = envelopeAttributes(input.attributes);
  return body;
}

function checkSubscriptionAttribute(name: string, value: string): void {
  if (!SETTABLE_SUBSCRIPTION.has(name)) throw invalid(`Attributes Reason: Unknown attribute ${name}`);
  if (name === 'FilterPolicyScope' && value !== 'MessageAttributes' && value !== 'MessageBody') {
    throw invalid('FilterPolicyScope: must be MessageAttributes or MessageBody');
  }
  if (name === 'RawMessageDelivery' && value !== 'true' && value !== 'false') {
    throw invalid('RawMessageDelivery: must be true or false');
  }
}

function filterPolicy(value: string): Record<string, unknown> | undefined {
  try {
    return value === '' ? undefined : parsePattern(value);
  } catch (error) {
    if (error instanceof PatternError) throw invalid(`FilterPolicy: ${error.message}`);
    throw error;
  }
}

function checkStructure(input: PublishInput): void {
  if (input.messageStructure === undefined) return;
  if (input.messageStructure !== 'json') throw invalid('MessageStructure');
  let structure: unknown;
  try {
    structure = JSON.parse(input.message);
  } catch {
    throw invalid('Message Structure - JSON message body failed to parse');
  }
  if (typeof structure !== 'object' || structure === null || !('default' in structure)) {
    throw invalid('Message Structure - No default entry in JSON message body');
  }
}

/** The checks SNS makes before accepting a message (size, structure, attributes, FIFO ids). */
function checkMessage(input: PublishInput, topic: Topic): void {
  if (input.message === '') throw invalid('Empty message');
  let size = Buffer.byteLength(input.message);
  for (const [name, value] of Object.entries(input.attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
    size += Buffer.byteLength(value.StringValue ?? value.BinaryValue ?? '');
  }
  if (size > MAX_MESSAGE_BYTES) throw invalid('Message too long');
  if (input.subject !== undefined && (input.subject === '' || input.subject.length > 100)) {
    throw invalid('Subject');
  }
  checkStructure(input);
  checkFifo(input, topic);
}

function checkFifo(input: PublishInput, topic: Topic): void {
  if (topic.fifo) {
    if (input.groupId === undefined) {
      throw invalid('The MessageGroupId parameter is required for FIFO topics');
    }
    if (input.deduplicationId === undefined && topic.attributes['ContentBasedDeduplication'] !== 'true') {
      throw invalid(
        'The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
      );
    }
  } else if (input.deduplicationId !== undefined) {
    throw invalid(
      'MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type',
    );
  }
}

function checkAttributeValue(name: string, value: MessageAttributeValue): void {
  const { DataType: dataType } = value;
  if ((value.StringValue ?? value.BinaryValue ?? '') === '') {
    throw invalid(`The message attribute '${name}' must contain non-empty message attribute value`);
  }
  if (dataType.startsWith('Number') && !Number.isFinite(Number(value.StringValue))) {
    throw invalid(`The message attribute '${name}' with type 'Number' must contain a valid number`);
  }
  if (dataType !== 'String.Array') return;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.StringValue ?? '');
  } catch {
    // Refused below.
  }
  if (!Array.isArray(parsed)) {
    throw invalid(`The message attribute '${name}' with type 'String.Array' must be a JSON array`);
  }
}

function messageAttributes(
  fields: Record<string, string>,
  prefix: string,
): Record<string, MessageAttributeValue> {
  const attributes: Record<string, MessageAttributeValue> = {};
  for (const entry of queryEntries(fields, `${prefix}.entry`)) {
    const name = entry['Name'];
    if (name === undefined) continue;
    const dataType = entry['Value.DataType'];
    if (dataType === undefined || !/^(String|Number|Binary)(\..+)?$/.test(dataType)) {
      throw invalid(`The message attribute '${name}' has an invalid message attribute type`);
    }
    const value: MessageAttributeValue = { DataType: dataType };
    if (entry['Value.StringValue'] !== undefined) value.StringValue = entry['Value.StringValue'];
    if (entry['Value.BinaryValue'] !== undefined) value.BinaryValue = entry['Value.BinaryValue'];
    checkAttributeValue(name, value);
    attributes[name] = value;
  }
  return attributes;
}

function publishInput(fields: Record<string, string>): PublishInput {
  const message = fields['Message'];
  if (message === undefined) throw invalid('Message');
  return {
    message,
    subject: fields['Subject'],
    messageStructure: fields['MessageStructure'],
    attributes: messageAttributes(fields, 'MessageAttributes'),
    groupId: fields['MessageGroupId'],
    deduplicationId: fields['MessageDeduplicationId'],
  };
}

function batchEntries(params: Record<string, string>): Record<string, string>[] {
  const entries = queryEntries(params, 'PublishBatchRequestEntries.member');
  if (entries.length === 0) {
    throw snsError('EmptyBatchRequest', 'The batch request does not contain any entries.');
  }
  if (entries.length > MAX_BATCH) {
    throw snsError(
      'TooManyEntriesInBatchRequest',
      `The batch request contains more entries than permissible (${MAX_BATCH}).`,
    );
  }
  const ids = new Set<string>();
  let total = 0;
  for (const entry of entries) {
    const id = entry['Id'] ?? '';
    if (!/^[\w-]{1,80}$/.test(id)) {
      throw snsError(
        'InvalidBatchEntryId',
        'The Id of a batch entry in a batch request does not abide by the specification.',
      );
    }
    if (ids.has(id))
      throw snsError(
        'BatchEntryIdsNotDistinct',
        'Two or more batch entries in the request have the same Id.',
      );
    ids.add(id);
    total += Buffer.byteLength(entry['Message'] ?? '');
  }
  if (total > MAX_MESSAGE_BYTES) {
    throw snsError(
      'BatchRequestTooLong',
      'The length of all the messages put together is more than the limit.',
    );
  }
  return entries;
}

function member(fields: Record<string, string | undefined>): string {
  return `<member>${xmlFields(fields)}</member>`;
}

function entriesXml(name: string, map: Record<string, string>): string {
  const entries = Object.entries(map)
    .map(([key, value]) => `<entry>${xmlFields({ key, value })}</entry>`)
    .join('');
  return `<${name}>${entries}</${name}>`;
}

function subscriptionsXml(list: Subscription[], params: Record<string, string>): string {
  const token = params['NextToken'];
  // SNS answers InvalidParameter for a token it did not issue; this one issues multiples of the page.
  if (token !== undefined && (!/^[1-9]\d{0,15}$/.test(token) || Number(token) % PAGE !== 0)) {
    throw invalid('NextToken');
  }
  const start = token === undefined ? 0 : Number(token);
  const page = list.slice(start, start + PAGE);
  const members = page
    .map((sub) =>
      member({
        SubscriptionArn: sub.arn,
        Owner: sub.topicArn.split(':')[4],
        Protocol: sub.protocol,
        Endpoint: sub.endpoint,
        TopicArn: sub.topicArn,
      }),
    )
    .join('');
  const next = start + PAGE < list.length ? xmlFields({ NextToken: String(start + PAGE) }) : '';
  return `<Subscriptions>${members}</Subscriptions>${next}`;
}

/**
 * The SNS actions over `topics`, each answering the inner XML of its result.
 *
 * @example
 * ```ts
 * const sns = snsService(topics);
 * await sns({ action: 'CreateTopic', params: { Name: 'events' } }); // '<TopicArn>arn:aws:sns:...</TopicArn>'
 * ```
 */
export function snsService(topics: SnsTopics): QueryService {
  const actions: Record<string, (params: Record<string, string>) => string> = {
    CreateTopic: (params) => {
      const name = params['Name'];
      if (name === undefined) throw invalid('Name');
      return xmlFields({ TopicArn: topics.create(name, queryMap(params, 'Attributes')).arn });
    },
    DeleteTopic: (params) => {
      topics.delete(params['TopicArn'] ?? '');
      return '';
    },
    ListTopics: () =>
      `<Topics>${topics
        .list()
        .map((topic) => member({ TopicArn: topic.arn }))
        .join('')}</Topics>`,
    GetTopicAttributes: (params) => {
      const topic = topics.topic(params['TopicArn']);
      const confirmed = String(topic.subscriptions.length);
      return entriesXml('Attributes', {
        TopicArn: topic.arn,
        Owner: topic.arn.split(':')[4] ?? '',
        DisplayName: '',
        SubscriptionsConfirmed: confirmed,
        SubscriptionsPending: '0',
        SubscriptionsDeleted: '0',
        ...topic.attributes,
        ...(topic.fifo
          ? {
              FifoTopic: 'true',
              ContentBasedDeduplication: topic.attributes['ContentBasedDeduplication'] ?? 'false',
            }
          : {}),
      });
    },
    SetTopicAttributes: (params) => {
      const topic = topics.topic(params['TopicArn']);
      const name = params['AttributeName'] ?? '';
      if (!SETTABLE_TOPIC.has(name) || name === 'FifoTopic') throw invalid('AttributeName');
      topic.attributes[name] = params['AttributeValue'] ?? '';
      return '';
    },
    Publish: (params) => {
      const arn = params['TopicArn'] ?? params['TargetArn'];
      if (arn === undefined) throw invalid('TopicArn or TargetArn Reason: no value for required parameter');
      const result = topics.publish(arn, publishInput(params));
      return xmlFields({ MessageId: result.messageId, SequenceNumber: result.sequenceNumber });
    },
    PublishBatch: (params) => {
      const topic = topics.topic(params['TopicArn']);
      const successful: string[] = [];
      const failed: string[] = [];
      for (const entry of batchEntries(params)) {
        try {
          const result = topics.publish(topic.arn, publishInput(entry));
          successful.push(
            member({ Id: entry['Id'], MessageId: result.messageId, SequenceNumber: result.sequenceNumber }),
          );
        } catch (error) {
          if (!(error instanceof AwsError)) throw error;
          failed.push(
            member({ Id: entry['Id'], Code: error.type, Message: error.message, SenderFault: 'true' }),
          );
        }
      }
      return `<Successful>${successful.join('')}</Successful><Failed>${failed.join('')}</Failed>`;
    },
    Subscribe: (params) => {
      const subscription = topics.subscribe(
        params['TopicArn'] ?? '',
        params['Protocol'] ?? '',
        params['Endpoint'],
        queryMap(params, 'Attributes'),
      );
      return xmlFields({ SubscriptionArn: subscription.arn });
    },
    Unsubscribe: (params) => {
      topics.unsubscribe(params['SubscriptionArn']);
      return '';
    },
    GetSubscriptionAttributes: (params) => {
      const sub = topics.subscription(params['SubscriptionArn']);
      return entriesXml('Attributes', {
        SubscriptionArn: sub.arn,
        TopicArn: sub.topicArn,
        Protocol: sub.protocol,
        Endpoint: sub.endpoint,
        Owner: sub.topicArn.split(':')[4] ?? '',
        ConfirmationWasAuthenticated: 'true',
        PendingConfirmation: 'false',
        RawMessageDelivery: 'false',
        ...sub.attributes,
      });
    },
    SetSubscriptionAttributes: (params) => {
      topics.setSubscriptionAttribute(
        params['SubscriptionArn'],
        params['AttributeName'] ?? '',
        params['AttributeValue'] ?? '',
      );
      return '';
    },
    ListSubscriptionsByTopic: (params) =>
      subscriptionsXml(topics.topic(params['TopicArn']).subscriptions, params),
    ListSubscriptions: (params) =>
      subscriptionsXml(
        topics.list().flatMap((topic) => topic.subscriptions),
        params,
      ),
  };
  return async ({ action, params }: QueryRequest) => {
    const handler = Object.hasOwn(actions, action) ? actions[action] : undefined;
    if (handler === undefined) {
      throw snsError('InvalidAction', `SNS ${action} is not served by the local stack`);
    }
    return handler(params);
  };
}
