/**
 * In-memory SQS queues with SQS semantics: delays, visibility timeouts, receive counts, receipt handles
 * (only the latest one deletes), redrive to the dead-letter queue once a message was received
 * `maxReceiveCount` times, retention, and for FIFO queues deduplication, sequence numbers and one message
 * group in flight at a time. The SQS API and the event source mappings both work on it.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SQS_MESSAGE_LIMIT_BYTES } from '../../../layers/core/src/aws/limits.ts';
import { AwsError } from '../aws/protocol.ts';
import { type MessageAttributeValue, md5OfAttributes, md5OfBody } from './md5.ts';

const QUERY_ERRORS: Record<string, string> = {
  QueueDoesNotExist: 'AWS.SimpleQueueService.NonExistentQueue;Sender',
  QueueNameExists: 'QueueAlreadyExists;Sender',
  ReceiptHandleIsInvalid: 'ReceiptHandleIsInvalid;Sender',
  MessageNotInflight: 'AWS.SimpleQueueService.MessageNotInflight;Sender',
  InvalidParameterValue: 'InvalidParameterValue;Sender',
  InvalidAttributeName: 'InvalidAttributeName;Sender',
  InvalidAttributeValue: 'InvalidAttributeValue;Sender',
  InvalidMessageContents: 'InvalidMessageContents;Sender',
  MissingParameter: 'MissingParameter;Sender',
  BatchEntryIdsNotDistinct: 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct;Sender',
  EmptyBatchRequest: 'AWS.SimpleQueueService.EmptyBatchRequest;Sender',
  TooManyEntriesInBatchRequest: 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest;Sender',
  InvalidBatchEntryId: 'AWS.SimpleQueueService.InvalidBatchEntryId;Sender',
  BatchRequestTooLong: 'AWS.SimpleQueueService.BatchRequestTooLong;Sender',
  UnsupportedOperation: 'AWS.SimpleQueueService.UnsupportedOperation;Sender',
  ResourceNotFoundException: 'ResourceNotFoundException;Sender',
};

/** Errors SQS answers with another status than 400. */
const STATUSES: Record<string, number> = { ResourceNotFoundException: 404 };

/**
 * An SQS error with its JSON `__type` and the query-compatible code the SDK also reads.
 *
 * @example
 * ```ts
 * throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
 * ```
 */
export function sqsError(type: string, message: string): AwsError {
  const queryError = QUERY_ERRORS[type];
  const status = STATUSES[type];
  return new AwsError(type, message, {
    ...(queryError === undefined ? {} : { queryError }),
    ...(status === undefined ? {} : { status }),
  });
}

/** A message as the queue holds it. */
export interface StoredMessage {
  id: string;
  body: string;
  md5OfBody: string;
  attributes: Record<string, MessageAttributeValue>;
  md5OfAttributes: string | undefined;
  traceHeader: string | undefined;
  sentAt: number;
  /** Epoch ms from which the message can be received (delay, or the end of its visibility timeout). */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt: number | undefined;
  /** The handle of the latest receive; only it deletes or changes visibility. */
  receiptHandle: string | undefined;
  groupId: string | undefined;
  deduplicationId: string | undefined;
  sequenceNumber: string | undefined;
  /** In a dead-letter queue: the ARN of the queue whose redrive policy moved it here. */
  deadLetterSourceArn?: string | undefined;
}

/** What SendMessage takes. */
export interface SendInput {
  body: string;
  delaySeconds?: number | undefined;
  attributes?: Record<string, MessageAttributeValue> | undefined;
  traceHeader?: string | undefined;
  groupId?: string | undefined;
  deduplicationId?: string | undefined;
}

/** What SendMessage answers. */
export interface SendResult {
  messageId: string;
  md5OfBody: string;
  md5OfAttributes: string | undefined;
  sequenceNumber: string | undefined;
}

const DEFAULTS: Record<string, string> = {
  VisibilityTimeout: '30',
  // SQS's default and largest since January 2026: 1 MiB.
  MaximumMessageSize: String(SQS_MESSAGE_LIMIT_BYTES),
  MessageRetentionPeriod: '345600',
  DelaySeconds: '0',
  ReceiveMessageWaitTimeSeconds: '0',
};

const SETTABLE = new Set([
  'VisibilityTimeout',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'DelaySeconds',
  'ReceiveMessageWaitTimeSeconds',
  'RedrivePolicy',
  'RedriveAllowPolicy',
  'FifoQueue',
  'ContentBasedDeduplication',
  'KmsMasterKeyId',
  'KmsDataKeyReusePeriodSeconds',
  'SqsManagedSseEnabled',
  'DeduplicationScope',
  'FifoThroughputLimit',
  'Policy',
]);

const DEDUPLICATION_WINDOW_MS = 5 * 60_000;

function validBody(body: string): boolean {
  // SQS allows #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF; lone surrogates are refused too.
  return !/[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u.test(body);
}

function toNumber(value: string | undefined, fallback: number): number {
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : fallback;
}

/** One queue. */
export class LocalQueue {
  readonly name: string;
  readonly arn: string;
  readonly fifo: boolean;
  readonly createdAt: number;
  #url: string;
  #attributes: Record<string, string>;
  #lastModifiedAt: number;
  #messages: StoredMessage[] = [];
  #handles = new Map<string, StoredMessage>();
  #deduplication = new Map<string, { result: SendResult; at: number }>();
  #waiters = new Set<() => void>();
  #sequence = 0n;
  readonly #engine: QueueEngine;

  constructor(
    engine: QueueEngine,
    name: string,
    url: string,
    arn: string,
    attributes: Record<string, string>,
  ) {
    this.#engine = engine;
    this.name = name;
    this.#url = url;
    this.arn = arn;
    this.fifo = name.endsWith('.fifo');
    this.createdAt = Date.now();
    this.#lastModifiedAt = this.createdAt;
    this.#attributes = { ...DEFAULTS };
    this.setAttributes(attributes);
  }

  get url(): string {
    return this.#url;
  }

  /** Configured attributes (strings, as the API carries them). */
  get attributes(): Readonly<Record<string, string>> {
    return this.#attributes;
  }

  get visibilityTimeoutSeconds(): number {
    return toNumber(this.#attributes['VisibilityTimeout'], 30);
  }

  /** The redrive policy, when the queue has one. */
  get redrivePolicy(): { deadLetterTargetArn: string; maxReceiveCount: number } | undefined {
    const raw = this.#attributes['RedrivePolicy'];
    if (raw === undefined || raw === '') return undefined;
    const policy = JSON.parse(raw) as { deadLetterTargetArn?: string; maxReceiveCount?: number | string };
    if (policy.deadLetterTargetArn === undefined) return undefined;
    return {
      deadLetterTargetArn: policy.deadLetterTargetArn,
      maxReceiveCount: Number(policy.maxReceiveCount ?? 10),
    };
  }

  /**
   * Sets attributes; unknown names are refused as SQS does.
   *
   * @example
   * ```ts
   * queue.setAttributes({ VisibilityTimeout: '5' });
   * ```
   */
  setAttributes(attributes: Record<string, string>): void {
    for (const [name, value] of Object.entries(attributes)) {
      if (!SETTABLE.has(name)) throw sqsError('InvalidAttributeName', `Unknown Attribute ${name}.`);
      if (name === 'RedrivePolicy' && value !== '') {
        try {
          JSON.parse(value);
        } catch {
          throw sqsError('InvalidAttributeValue', 'Invalid value for the parameter RedrivePolicy.');
        }
      }
      if (name === 'FifoQueue' && (value === 'true') !== this.fifo) {
        throw sqsError(
          'InvalidAttributeValue',
          'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix.',
        );
      }
      this.#attributes[name] = value;
    }
    this.#lastModifiedAt = Date.now();
    this.#notify();
  }

  /** Every attribute GetQueueAttributes can return, computed ones included. */
  allAttributes(): Record<string, string> {
    const counts = this.counts();
    return {
      ...this.#attributes,
      QueueArn: this.arn,
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      CreatedTimestamp: String(Math.floor(this.createdAt / 1000)),
      LastModifiedTimestamp: String(Math.floor(this.#lastModifiedAt / 1000)),
      ...(this.fifo
        ? {
            FifoQueue: 'true',
            ContentBasedDeduplication: this.#attributes['ContentBasedDeduplication'] ?? 'false',
          }
        : {}),
    };
  }

  /** Visible, in flight (received, not yet deleted) and delayed message counts. */
  counts(): { visible: number; inFlight: number; delayed: number } {
    this.#expire();
    const now = Date.now();
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const message of this.#messages) {
      if (message.visibleAt <= now) visible += 1;
      else if (message.receiptHandle !== undefined) inFlight += 1;
      else delayed += 1;
    }
    return { visible, inFlight, delayed };
  }

  /**
   * Enqueues one message (or, on a FIFO queue, answers the original for a duplicate within five minutes).
   *
   * @example
   * ```ts
   * const { messageId } = queue.send({ body: JSON.stringify({ operation: 'put-object', input }) });
   * ```
   */
  send(input: SendInput): SendResult {
    this.#checkSize(input);
    let deduplicationId: string | undefined;
    if (this.fifo) {
      deduplicationId = this.#fifoDeduplicationId(input);
      this.#forgetOldDeduplications();
      const seen = this.#deduplication.get(deduplicationId);
      // The first message's id, but digests of what this request sent: the SDK checks them against it.
      if (seen !== undefined) {
        return {
          ...seen.result,
          md5OfBody: md5OfBody(input.body),
          md5OfAttributes: md5OfAttributes(input.attributes ?? {}),
        };
      }
    }
    const attributes = input.attributes ?? {};
    const now = Date.now();
    const delay = input.delaySeconds ?? toNumber(this.#attributes['DelaySeconds'], 0);
    if (delay < 0 || delay > 900) {
      throw sqsError(
        'InvalidParameterValue',
        'Value for parameter DelaySeconds is invalid. Reason: must be between 0 and 900.',
      );
    }
    const message: StoredMessage = {
      id: randomUUID(),
      body: input.body,
      md5OfBody: md5OfBody(input.body),
      attributes,
      md5OfAttributes: md5OfAttributes(attributes),
      traceHeader: input.traceHeader,
      sentAt: now,
      visibleAt: now + delay * 1000,
      receiveCount: 0,
      firstReceivedAt: undefined,
      receiptHandle: undefined,
      groupId: input.groupId,
      deduplicationId,
      sequenceNumber: this.fifo ? this.#nextSequenceNumber() : undefined,
    };
    this.#messages.push(message);
    const result: SendResult = {
      messageId: message.id,
      md5OfBody: message.md5OfBody,
      md5OfAttributes: message.md5OfAttributes,
      sequenceNumber: message.sequenceNumber,
    };
    if (deduplicationId !== undefined) this.#deduplication.set(deduplicationId, { result, at: now });
    this.#notify();
    return result;
  }

  #checkSize(input: SendInput): void {
    if (!validBody(input.body) || input.body.length === 0) {
      throw sqsError(
        'InvalidMessageContents',
        'Invalid characters found in the message body, or the body is empty.',
      );
    }
    let size = Buffer.byteLength(input.body);
    for (const [name, value] of Object.entries(input.attributes ?? {})) {
      size += Buffer.byteLength(name) + Buffer.byteLength(value.DataType);
      size += Buffer.byteLength(value.StringValue ?? value.BinaryValue ?? '');
    }
    const limit = toNumber(this.#attributes['MaximumMessageSize'], SQS_MESSAGE_LIMIT_BYTES);
    if (size > limit) {
      throw sqsError(
        'InvalidParameterValue',
        `One or more parameters are invalid. Reason: Message must be shorter than ${limit} bytes.`,
      );
    }
  }

  /** The checks a FIFO send must pass, and its deduplication id (explicit or content-based). */
  #fifoDeduplicationId(input: SendInput): string {
    if (input.groupId === undefined) {
      throw sqsError('MissingParameter', 'The request must contain the parameter MessageGroupId.');
    }
    if (input.delaySeconds !== undefined && input.delaySeconds !== 0) {
      throw sqsError(
        'InvalidParameterValue',
        'Value for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.',
      );
    }
    if (input.deduplicationId !== undefined) return input.deduplicationId;
    if (this.#attributes['ContentBasedDeduplication'] !== 'true') {
      throw sqsError(
        'InvalidParameterValue',
        'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly',
      );
    }
    return createHash('sha256').update(input.body).digest('hex');
  }

  /**
   * Takes in a message moved here by a source queue's redrive policy, keeping its id, body and counts and
   * remembering its source (a message move task returns it there). On a FIFO queue its deduplication id
   * becomes its message id, as SQS does, so two messages sharing one are both kept.
   */
  acceptDeadLetter(message: StoredMessage, sourceArn: string): void {
    this.#messages.push({
      ...message,
      visibleAt: Date.now(),
      receiptHandle: undefined,
      sequenceNumber: this.fifo ? this.#nextSequenceNumber() : undefined,
      deduplicationId: this.fifo ? message.id : message.deduplicationId,
      deadLetterSourceArn: sourceArn,
    });
    this.#notify();
  }

  /**
   * Hands the oldest message that is not in flight to `move` (a message move task), and removes it when
   * `move` answers true; it stays when `move` answers false or throws. Undefined when there is none.
   *
   * @example
   * ```ts
   * dlq.moveOldest((message) => (target.send({ body: message.body }), true));
   * ```
   */
  moveOldest(move: (message: StoredMessage) => boolean): StoredMessage | undefined {
    this.#expire();
    const now = Date.now();
    const message = this.#messages.find(
      (candidate) => candidate.visibleAt <= now || candidate.receiptHandle === undefined,
    );
    if (message === undefined || !move(message)) return undefined;
    this.#remove(message);
    this.#notify();
    return message;
  }

  /**
   * Receives up to `max` visible messages now, hiding each for the visibility timeout. A message already
   * received `maxReceiveCount` times moves to the dead-letter queue instead. On a FIFO queue, a message
   * group with a message in flight yields nothing until that message is deleted or visible again.
   *
   * @example
   * ```ts
   * const batch = queue.receive({ max: 10 });
   * ```
   */
  receive(options: { max: number; visibilityTimeoutSeconds?: number | undefined }): StoredMessage[] {
    this.#expire();
    const now = Date.now();
    const visibility = options.visibilityTimeoutSeconds ?? this.visibilityTimeoutSeconds;
    const redrive = this.redrivePolicy;
    const blockedGroups = new Set<string>();
    const received: StoredMessage[] = [];
    for (const message of [...this.#messages]) {
      if (received.length >= options.max) break;
      const group = message.groupId;
      if (message.visibleAt > now) {
        if (this.fifo && group !== undefined) blockedGroups.add(group);
        continue;
      }
      if (this.fifo && group !== undefined && blockedGroups.has(group)) continue;
      if (redrive !== undefined && message.receiveCount >= redrive.maxReceiveCount) {
        const target = this.#engine.byArn(redrive.deadLetterTargetArn);
        if (target !== undefined && target !== this) {
          this.#remove(message);
          target.acceptDeadLetter(message, this.arn);
          continue;
        }
      }
      message.receiveCount += 1;
      message.firstReceivedAt ??= now;
      message.receiptHandle = `${randomBytes(24).toString('base64url')}.${message.id}`;
      message.visibleAt = now + visibility * 1000;
      this.#handles.set(message.receiptHandle, message);
      received.push(message);
    }
    return received;
  }

  /**
   * Receives with long polling: waits up to `waitSeconds` for at least one message.
   *
   * @example
   * ```ts
   * const batch = await queue.receiveWait({ max: 10, waitSeconds: 20 });
   * ```
   */
  async receiveWait(options: {
    max: number;
    visibilityTimeoutSeconds?: number | undefined;
    waitSeconds: number;
    signal?: AbortSignal | undefined;
  }): Promise<StoredMessage[]> {
    const deadline = Date.now() + options.waitSeconds * 1000;
    for (;;) {
      const received = this.receive(options);
      const left = deadline - Date.now();
      if (received.length > 0 || left <= 0 || options.signal?.aborted) return received;
      await this.waitForChange(left, options.signal);
    }
  }

  /**
   * Resolves when a message may have become receivable (sent, made visible, timed out) or after `ms`.
   *
   * @example
   * ```ts
   * await queue.waitForChange(1000);
   * ```
   */
  waitForChange(ms: number, signal?: AbortSignal): Promise<void> {
    const now = Date.now();
    let wait = ms;
    for (const message of this.#messages) {
      if (message.visibleAt > now) wait = Math.min(wait, message.visibleAt - now + 1);
    }
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, wait));
      this.#waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #handle(receiptHandle: string): StoredMessage | undefined {
    const message = this.#handles.get(receiptHandle);
    if (message === undefined) {
      if (!/^[\w-]+\.[0-9a-f-]{36}$/.test(receiptHandle)) {
        throw sqsError(
          'ReceiptHandleIsInvalid',
          `The input receipt handle "${receiptHandle.slice(0, 64)}" is not a valid receipt handle.`,
        );
      }
      return undefined;
    }
    return message;
  }

  /**
   * Deletes the message received with this handle. A stale handle (the message was received again since)
   * succeeds without deleting, as SQS documents.
   *
   * @example
   * ```ts
   * queue.delete(message.receiptHandle);
   * ```
   */
  delete(receiptHandle: string): void {
    const message = this.#handle(receiptHandle);
    this.#handles.delete(receiptHandle);
    if (message === undefined || message.receiptHandle !== receiptHandle) return;
    this.#remove(message);
    this.#notify();
  }

  /**
   * Changes how long an in-flight message stays hidden (0 makes it visible now).
   *
   * @example
   * ```ts
   * queue.changeVisibility(handle, 0);
   * ```
   */
  changeVisibility(receiptHandle: string, seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 43_200) {
      throw sqsError(
        'InvalidParameterValue',
        'Value for parameter VisibilityTimeout is invalid. Reason: must be between 0 and 43200.',
      );
    }
    const message = this.#handle(receiptHandle);
    if (message === undefined || message.receiptHandle !== receiptHandle || message.visibleAt <= Date.now()) {
      throw sqsError('MessageNotInflight', 'The message referred to is not in flight.');
    }
    message.visibleAt = Date.now() + seconds * 1000;
    this.#notify();
  }

  /** Deletes every message. */
  purge(): void {
    this.#messages = [];
    this.#handles.clear();
    this.#notify();
  }

  #remove(message: StoredMessage): void {
    const index = this.#messages.indexOf(message);
    if (index >= 0) this.#messages.splice(index, 1);
    if (message.receiptHandle !== undefined) this.#handles.delete(message.receiptHandle);
    if (this.#handles.size > 2 * this.#messages.length + 100) {
      // Stale handles of earlier receives: keep only the current ones.
      this.#handles = new Map(
        this.#messages.flatMap((kept) =>
          kept.receiptHandle === undefined ? [] : [[kept.receiptHandle, kept] as const],
        ),
      );
    }
  }

  #expire(): void {
    const retentionMs = toNumber(this.#attributes['MessageRetentionPeriod'], 345_600) * 1000;
    const cutoff = Date.now() - retentionMs;
    if (this.#messages.some((message) => message.sentAt < cutoff)) {
      for (const message of this.#messages.filter((candidate) => candidate.sentAt < cutoff))
        this.#remove(message);
    }
  }

  #forgetOldDeduplications(): void {
    const cutoff = Date.now() - DEDUPLICATION_WINDOW_MS;
    for (const [id, entry] of this.#deduplication) if (entry.at < cutoff) this.#deduplication.delete(id);
  }

  #nextSequenceNumber(): string {
    this.#sequence += 1n;
    return (BigInt(Date.now()) * 1_000_000n + this.#sequence).toString().padStart(20, '0');
  }

  #notify(): void {
    for (const waiter of [...this.#waiters]) waiter();
  }

  /** Points the queue at a new endpoint URL (the AWS port is known only once it listens). */
  relocate(url: string): void {
    this.#url = url;
  }
}

/** Every queue of the stack, by name, URL and ARN. */
export class QueueEngine {
  readonly region: string;
  readonly accountId: string;
  #baseUrl: string;
  #queues = new Map<string, LocalQueue>();

  constructor(options: { region: string; accountId: string; baseUrl: string }) {
    this.region = options.region;
    this.accountId = options.accountId;
    this.#baseUrl = options.baseUrl;
  }

  /**
   * Creates a queue, or returns the existing one when its attributes match (as CreateQueue does).
   *
   * @example
   * ```ts
   * const dlq = engine.create('s3-requests-dlq', { MessageRetentionPeriod: '1209600' });
   * ```
   */
  create(name: string, attributes: Record<string, string> = {}): LocalQueue {
    if (!/^[\w-]{1,80}(\.fifo)?$/.test(name) || (name.endsWith('.fifo') && name.length > 80)) {
      throw sqsError(
        'InvalidParameterValue',
        'Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length',
      );
    }
    if (
      name.endsWith('.fifo') !== (attributes['FifoQueue'] === 'true') &&
      attributes['FifoQueue'] !== undefined
    ) {
      throw sqsError(
        'InvalidParameterValue',
        'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix.',
      );
    }
    const existing = this.#queues.get(name);
    if (existing !== undefined) {
      const differs = Object.entries(attributes).some(
        ([key, value]) =>
          key !== 'FifoQueue' && existing.attributes[key] !== undefined && existing.attributes[key] !== value,
      );
      if (differs)
        throw sqsError(
          'QueueNameExists',
          `A queue already exists with the same name and a different value for attribute(s)`,
        );
      return existing;
    }
    const queue = new LocalQueue(
      this,
      name,
      `${this.#baseUrl}/${this.accountId}/${name}`,
      `arn:aws:sqs:${this.region}:${this.accountId}:${name}`,
      Object.fromEntries(Object.entries(attributes).filter(([key]) => key !== 'FifoQueue')),
    );
    this.#queues.set(name, queue);
    return queue;
  }

  /** A queue by name. */
  get(name: string): LocalQueue | undefined {
    return this.#queues.get(name);
  }

  /**
   * A queue by URL (any host: the SDK may write localhost or 127.0.0.1) or name, or QueueDoesNotExist.
   *
   * @example
   * ```ts
   * const queue = engine.byUrl('http://127.0.0.1:4566/000000000000/s3-requests');
   * ```
   */
  byUrl(url: string): LocalQueue {
    let name = url;
    try {
      name = new URL(url).pathname.split('/').filter(Boolean).pop() ?? url;
    } catch {
      name = url;
    }
    const queue = this.#queues.get(name);
    if (queue === undefined) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
    return queue;
  }

  /** A queue by ARN. */
  byArn(arn: string): LocalQueue | undefined {
    return this.#queues.get(arn.slice(arn.lastIndexOf(':') + 1));
  }

  /** Deletes a queue. */
  delete(name: string): void {
    this.#queues.delete(name);
  }

  /** The queues whose redrive policy targets this one (what ListDeadLetterSourceQueues answers). */
  deadLetterSources(queue: LocalQueue): LocalQueue[] {
    return this.list().filter((candidate) => candidate.redrivePolicy?.deadLetterTargetArn === queue.arn);
  }

  /** Every queue, sorted by name, optionally by name prefix. */
  list(prefix = ''): LocalQueue[] {
    return [...this.#queues.values()]
      .filter((queue) => queue.name.startsWith(prefix))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Re-points every queue URL once the endpoint's real port is known. */
  setBaseUrl(baseUrl: string): void {
    this.#baseUrl = baseUrl;
    for (const queue of this.#queues.values()) queue.relocate(`${baseUrl}/${this.accountId}/${queue.name}`);
  }
}
