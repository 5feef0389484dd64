/**
 * SQS over AWS JSON 1.0 (`x-amz-target: AmazonSQS.<Operation>`), the protocol the current AWS SDK v3 and
 * AWS CLI speak: queues, send and batch send, receive with long polling, delete, visibility, attributes,
 * purge, dead-letter source queues and message move tasks (DLQ redrive). The queues themselves live in the
 * {@link QueueEngine}.
 */

import { SQS_BATCH_LIMIT_BYTES } from '../../../layers/core/src/aws/limits.ts';
import type { MessageAttributeValue } from '../queues/md5.ts';
import { MessageMoveTasks } from '../queues/message-move.ts';
import {
  type LocalQueue,
  type QueueEngine,
  type SendInput,
  type StoredMessage,
  sqsError,
} from '../queues/queue-engine.ts';
import { type JsonRequest, type JsonService, requireString } from './protocol.ts';

/**
 * The system attributes of a received message, as SQS reports them (strings; timestamps in ms).
 *
 * @example
 * ```ts
 * systemAttributes(message)['ApproximateReceiveCount']; // '1'
 * ```
 */
export function systemAttributes(message: StoredMessage): Record<string, string> {
  const attributes: Record<string, string> = {
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt ?? message.sentAt),
    SentTimestamp: String(message.sentAt),
    SenderId: 'AIDAIENQZJOLO23YVJ4VO',
  };
  if (message.deduplicationId !== undefined) attributes['MessageDeduplicationId'] = message.deduplicationId;
  if (message.groupId !== undefined) attributes['MessageGroupId'] = message.groupId;
  if (message.sequenceNumber !== undefined) attributes['SequenceNumber'] = message.sequenceNumber;
  if (message.traceHeader !== undefined) attributes['AWSTraceHeader'] = message.traceHeader;
  // Set by a redrive policy's move: SQS names the source queue of a dead letter.
  if (message.deadLetterSourceArn !== undefined) {
    attributes['DeadLetterQueueSourceArn'] = message.deadLetterSourceArn;
  }
  return attributes;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

function pickAttributes(message: StoredMessage, names: string[]): Record<string, string> | undefined {
  if (names.length === 0) return undefined;
  const all = systemAttributes(message);
  if (names.includes('All')) return all;
  const picked: Record<string, string> = {};
  for (const name of names) {
    const value = all[name];
    if (value !== undefined) picked[name] = value;
  }
  return Object.keys(picked).length > 0 ? picked : undefined;
}

function pickMessageAttributes(
  message: StoredMessage,
  names: string[],
): Record<string, MessageAttributeValue> | undefined {
  if (names.length === 0) return undefined;
  const picked: Record<string, MessageAttributeValue> = {};
  for (const [name, value] of Object.entries(message.attributes)) {
    const wanted = names.some(
      (pattern) =>
        pattern === 'All' ||
        pattern === '.*' ||
        pattern === name ||
        (pattern.endsWith('.*') && name.startsWith(pattern.slice(0, -1))),
    );
    if (wanted) picked[name] = value;
  }
  return Object.keys(picked).length > 0 ? picked : undefined;
}

function messageAttributes(value: unknown): Record<string, MessageAttributeValue> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const result: Record<string, MessageAttributeValue> = {};
  for (const [name, raw] of Object.entries(value as Record<string, Record<string, unknown>>)) {
    const dataType = raw['DataType'];
    if (typeof dataType !== 'string' || !/^(String|Number|Binary)(\..+)?$/.test(dataType)) {
      throw sqsError(
        'InvalidParameterValue',
        `The message attribute '${name}' must contain a valid DataType.`,
      );
    }
    const attribute: MessageAttributeValue = { DataType: dataType };
    if (typeof raw['StringValue'] === 'string') attribute.StringValue = raw['StringValue'];
    if (typeof raw['BinaryValue'] === 'string') attribute.BinaryValue = raw['BinaryValue'];
    if (attribute.StringValue === undefined && attribute.BinaryValue === undefined) {
      throw sqsError(
        'InvalidParameterValue',
        `The message attribute '${name}' must contain a non-empty message attribute value.`,
      );
    }
    result[name] = attribute;
  }
  return result;
}

function sendInput(entry: Record<string, unknown>): SendInput {
  const body = entry['MessageBody'];
  if (typeof body !== 'string')
    throw sqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
  const system = entry['MessageSystemAttributes'] as Record<string, { StringValue?: string }> | undefined;
  return {
    body,
    delaySeconds: typeof entry['DelaySeconds'] === 'number' ? entry['DelaySeconds'] : undefined,
    attributes: messageAttributes(entry['MessageAttributes']),
    traceHeader: system?.['AWSTraceHeader']?.StringValue,
    groupId: typeof entry['MessageGroupId'] === 'string' ? entry['MessageGroupId'] : undefined,
    deduplicationId:
      typeof entry['MessageDeduplicationId'] === 'string' ? entry['MessageDeduplicationId'] : undefined,
  };
}

/** A batch entry's size as SQS counts it: the body plus each attribute's name, data type and value. */
function messageBytes(entry: Record<string, unknown>): number {
  let size = typeof entry['MessageBody'] === 'string' ? Buffer.byteLength(entry['MessageBody']) : 0;
  // Read without checking: an entry's invalid attribute is its own failure, answered at its send.
  const attributes = entry['MessageAttributes'];
  if (typeof attributes !== 'object' || attributes === null) return size;
  for (const [name, raw] of Object.entries(attributes as Record<string, Record<string, unknown>>)) {
    size += Buffer.byteLength(name);
    for (const part of [raw?.['DataType'], raw?.['StringValue'] ?? raw?.['BinaryValue']]) {
      if (typeof part === 'string') size += Buffer.byteLength(part);
    }
  }
  return size;
}

function entries(body: Record<string, unknown>, max = 10): Record<string, unknown>[] {
  const list = Array.isArray(body['Entries']) ? (body['Entries'] as Record<string, unknown>[]) : [];
  if (list.length === 0)
    throw sqsError(
      'EmptyBatchRequest',
      'There should be at least one SendMessageBatchRequestEntry in the request.',
    );
  if (list.length > max)
    throw sqsError(
      'TooManyEntriesInBatchRequest',
      `Maximum number of entries per request are ${max}. You have sent ${list.length}.`,
    );
  const ids = new Set<string>();
  for (const entry of list) {
    const id = entry['Id'];
    if (typeof id !== 'string' || !/^[\w-]{1,80}$/.test(id)) {
      throw sqsError(
        'InvalidBatchEntryId',
        'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.',
      );
    }
    if (ids.has(id)) throw sqsError('BatchEntryIdsNotDistinct', `Id ${id} repeated.`);
    ids.add(id);
  }
  return list;
}

function failure(id: unknown, error: unknown): Record<string, unknown> {
  const err = error as { type?: string; message?: string };
  return { Id: id, SenderFault: true, Code: err.type ?? 'InternalError', Message: err.message ?? 'failed' };
}

/**
 * The SQS operations over `engine`.
 *
 * @example
 * ```ts
 * const sqs = sqsService(engine);
 * await sqs({ operation: 'SendMessage', body: { QueueUrl: url, MessageBody: '{}' } });
 * ```
 */
export function sqsService(engine: QueueEngine, moves = new MessageMoveTasks(engine)): JsonService {
  const queue = (body: Record<string, unknown>): LocalQueue =>
    engine.byUrl(requireString(body, 'QueueUrl', 'MissingParameter'));
  const optionalString = (body: Record<string, unknown>, name: string): string | undefined =>
    typeof body[name] === 'string' ? body[name] : undefined;
  const optionalNumber = (body: Record<string, unknown>, name: string): number | undefined =>
    typeof body[name] === 'number' ? body[name] : undefined;

  const operations: Record<string, (body: Record<string, unknown>) => Promise<unknown> | unknown> = {
    CreateQueue: (body) => {
      const name = requireString(body, 'QueueName', 'MissingParameter');
      const attributes = (body['Attributes'] ?? {}) as Record<string, string>;
      return { QueueUrl: engine.create(name, attributes).url };
    },
    GetQueueUrl: (body) => {
      const found = engine.get(requireString(body, 'QueueName', 'MissingParameter'));
      if (found === undefined) throw sqsError('QueueDoesNotExist', 'The specified queue does not exist.');
      return { QueueUrl: found.url };
    },
    ListQueues: (body) => {
      const prefix = typeof body['QueueNamePrefix'] === 'string' ? body['QueueNamePrefix'] : '';
      const all = engine.list(prefix).map((item) => item.url);
      const max = typeof body['MaxResults'] === 'number' ? body['MaxResults'] : 1000;
      const start = typeof body['NextToken'] === 'string' ? Number(body['NextToken']) : 0;
      const answer: Record<string, unknown> = {};
      const page = all.slice(start, start + max);
      if (page.length > 0) answer['QueueUrls'] = page;
      if (body['MaxResults'] !== undefined && start + max < all.length)
        answer['NextToken'] = String(start + max);
      return answer;
    },
    DeleteQueue: (body) => {
      engine.delete(queue(body).name);
      return {};
    },
    SendMessage: (body) => {
      const result = queue(body).send(sendInput(body));
      const answer: Record<string, unknown> = {
        MessageId: result.messageId,
        MD5OfMessageBody: result.md5OfBody,
      };
      if (result.md5OfAttributes !== undefined) answer['MD5OfMessageAttributes'] = result.md5OfAttributes;
      if (result.sequenceNumber !== undefined) answer['SequenceNumber'] = result.sequenceNumber;
      return answer;
    },
    SendMessageBatch: (body) => {
      const target = queue(body);
      const Successful: Record<string, unknown>[] = [];
      const Failed: Record<string, unknown>[] = [];
      const list = entries(body);
      // SQS refuses the whole request when its messages together are over the batch limit (1 MiB).
      const total = list.reduce((sum, entry) => sum + messageBytes(entry), 0);
      if (total > SQS_BATCH_LIMIT_BYTES) {
        throw sqsError(
          'BatchRequestTooLong',
          `Batch requests cannot be longer than ${SQS_BATCH_LIMIT_BYTES} bytes. You have sent ${total} bytes.`,
        );
      }
      for (const entry of list) {
        try {
          const result = target.send(sendInput(entry));
          const item: Record<string, unknown> = {
            Id: entry['Id'],
            MessageId: result.messageId,
            MD5OfMessageBody: result.md5OfBody,
          };
          if (result.md5OfAttributes !== undefined) item['MD5OfMessageAttributes'] = result.md5OfAttributes;
          if (result.sequenceNumber !== undefined) item['SequenceNumber'] = result.sequenceNumber;
          Successful.push(item);
        } catch (error) {
          Failed.push(failure(entry['Id'], error));
        }
      }
      return { Successful, Failed };
    },
    ReceiveMessage: async (body) => {
      const target = queue(body);
      const max = typeof body['MaxNumberOfMessages'] === 'number' ? body['MaxNumberOfMessages'] : 1;
      if (max < 1 || max > 10) {
        throw sqsError(
          'InvalidParameterValue',
          'Value for parameter MaxNumberOfMessages is invalid. Reason: must be between 1 and 10.',
        );
      }
      const wait =
        typeof body['WaitTimeSeconds'] === 'number'
          ? body['WaitTimeSeconds']
          : Number(target.attributes['ReceiveMessageWaitTimeSeconds'] ?? 0);
      if (wait < 0 || wait > 20) {
        throw sqsError(
          'InvalidParameterValue',
          'Value for parameter WaitTimeSeconds is invalid. Reason: must be between 0 and 20.',
        );
      }
      const visibility =
        typeof body['VisibilityTimeout'] === 'number' ? body['VisibilityTimeout'] : undefined;
      const received = await target.receiveWait({
        max,
        visibilityTimeoutSeconds: visibility,
        waitSeconds: wait,
      });
      const attributeNames = [
        ...strings(body['AttributeNames']),
        ...strings(body['MessageSystemAttributeNames']),
      ];
      const messageAttributeNames = strings(body['MessageAttributeNames']);
      if (received.length === 0) return {};
      return {
        Messages: received.map((message) => {
          const item: Record<string, unknown> = {
            MessageId: message.id,
            ReceiptHandle: message.receiptHandle,
            MD5OfBody: message.md5OfBody,
            Body: message.body,
          };
          const attributes = pickAttributes(message, attributeNames);
          if (attributes !== undefined) item['Attributes'] = attributes;
          const picked = pickMessageAttributes(message, messageAttributeNames);
          if (picked !== undefined) {
            item['MessageAttributes'] = picked;
            item['MD5OfMessageAttributes'] = message.md5OfAttributes;
          }
          return item;
        }),
      };
    },
    DeleteMessage: (body) => {
      queue(body).delete(requireString(body, 'ReceiptHandle', 'MissingParameter'));
      return {};
    },
    DeleteMessageBatch: (body) => {
      const target = queue(body);
      const Successful: Record<string, unknown>[] = [];
      const Failed: Record<string, unknown>[] = [];
      for (const entry of entries(body)) {
        try {
          target.delete(String(entry['ReceiptHandle'] ?? ''));
          Successful.push({ Id: entry['Id'] });
        } catch (error) {
          Failed.push(failure(entry['Id'], error));
        }
      }
      return { Successful, Failed };
    },
    ChangeMessageVisibility: (body) => {
      queue(body).changeVisibility(
        requireString(body, 'ReceiptHandle', 'MissingParameter'),
        Number(body['VisibilityTimeout']),
      );
      return {};
    },
    ChangeMessageVisibilityBatch: (body) => {
      const target = queue(body);
      const Successful: Record<string, unknown>[] = [];
      const Failed: Record<string, unknown>[] = [];
      for (const entry of entries(body)) {
        try {
          target.changeVisibility(String(entry['ReceiptHandle'] ?? ''), Number(entry['VisibilityTimeout']));
          Successful.push({ Id: entry['Id'] });
        } catch (error) {
          Failed.push(failure(entry['Id'], error));
        }
      }
      return { Successful, Failed };
    },
    GetQueueAttributes: (body) => {
      const all = queue(body).allAttributes();
      const names = strings(body['AttributeNames']);
      if (names.length === 0) return {};
      if (names.includes('All')) return { Attributes: all };
      const Attributes: Record<string, string> = {};
      for (const name of names) {
        const value = all[name];
        if (value !== undefined) Attributes[name] = value;
      }
      return { Attributes };
    },
    SetQueueAttributes: (body) => {
      queue(body).setAttributes((body['Attributes'] ?? {}) as Record<string, string>);
      return {};
    },
    PurgeQueue: (body) => {
      queue(body).purge();
      return {};
    },
    ListDeadLetterSourceQueues: (body) => {
      return { queueUrls: engine.deadLetterSources(queue(body)).map((source) => source.url) };
    },
    StartMessageMoveTask: (body) => ({
      TaskHandle: moves.start({
        sourceArn: requireString(body, 'SourceArn', 'MissingParameter'),
        destinationArn: optionalString(body, 'DestinationArn'),
        maxNumberOfMessagesPerSecond: optionalNumber(body, 'MaxNumberOfMessagesPerSecond'),
      }),
    }),
    ListMessageMoveTasks: (body) => ({
      Results: moves.list(
        requireString(body, 'SourceArn', 'MissingParameter'),
        optionalNumber(body, 'MaxResults') ?? 1,
      ),
    }),
    CancelMessageMoveTask: (body) => ({
      ApproximateNumberOfMessagesMoved: moves.cancel(requireString(body, 'TaskHandle', 'MissingParameter')),
    }),
  };

  return async ({ operation, body }: JsonRequest) => {
    const handler = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
    if (handler === undefined) {
      throw sqsError('UnsupportedOperation', `AmazonSQS.${operation} is not supported by the local stack`);
    }
    return handler(body);
  };
}
