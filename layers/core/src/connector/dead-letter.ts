/**
 * Moves a record that can never succeed (invalid input, a refused operation) to the function's
 * dead-letter queue at once, instead of letting SQS redeliver it until `maxReceiveCount` (five receives
 * times the visibility timeout, about 15 minutes of useless invocations). The copy carries the original
 * body and attributes plus why it failed, so an operator can fix and redrive it.
 */
import type { MessageAttributeValue, SendMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { awsCall } from '../aws/call.ts';
import { createAwsClient } from '../aws/client.ts';
import { SQS_MESSAGE_LIMIT_BYTES } from '../aws/limits.ts';
import type { ConnectorError } from '../errors.ts';
import type { Logger } from '../observability.ts';

/** SQS allows 10 message attributes; these are the ones the failure adds. */
const MAX_ATTRIBUTES = 10;
const FAILURE_ATTRIBUTES = ['errorName', 'errorCode', 'errorMessage', 'connectorVersion'] as const;

let client: Promise<SQSClient> | undefined;

function sqsClient(connector: string): Promise<SQSClient> {
  client ??= import('@aws-sdk/client-sqs').then(({ SQSClient: Client }) =>
    createAwsClient(Client, connector, { maxAttempts: 2 }),
  );
  return client;
}

/** The dead-letter queue configured for this function (`CIRCLE_DEAD_LETTER_QUEUE_URL`), if any. */
export function deadLetterQueueUrl(): string | undefined {
  const url = process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'];
  return url === undefined || url === '' ? undefined : url;
}

function copyAttribute(value: SQSRecord['messageAttributes'][string]): MessageAttributeValue | undefined {
  if (value.stringValue !== undefined) return { DataType: value.dataType, StringValue: value.stringValue };
  if (value.binaryValue !== undefined) {
    return { DataType: value.dataType, BinaryValue: Buffer.from(value.binaryValue, 'base64') };
  }
  return undefined;
}

/**
 * The message a poison record becomes: its body unchanged, its own attributes (as many as fit beside the
 * failure's), and `errorName`, `errorCode`, `errorMessage`, `connectorVersion`. On a FIFO queue the group
 * is kept and the message id deduplicates.
 *
 * @example
 * ```ts
 * const input = deadLetterMessage(url, record, error, '1.2.0');
 * ```
 */
export function deadLetterMessage(
  queueUrl: string,
  record: SQSRecord,
  error: ConnectorError,
  connectorVersion: string,
): SendMessageCommandInput {
  const attributes: Record<string, MessageAttributeValue> = {};
  const own = Object.entries(record.messageAttributes ?? {}).filter(
    ([name]) => !(FAILURE_ATTRIBUTES as readonly string[]).includes(name),
  );
  for (const [name, value] of own.slice(0, MAX_ATTRIBUTES - FAILURE_ATTRIBUTES.length)) {
    const copy = copyAttribute(value);
    if (copy !== undefined) attributes[name] = copy;
  }
  const text = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
  attributes['errorName'] = text(error.name);
  attributes['errorCode'] = text(error.code);
  // Only messages safe to show leave the function; the rest are in its log under the correlation id.
  attributes['errorMessage'] = text(
    (error.expose ? error.message : 'Internal error (see the log)').slice(0, 1000),
  );
  attributes['connectorVersion'] = text(connectorVersion);
  fitInMessage(record.body, attributes);
  const input: SendMessageCommandInput = {
    QueueUrl: queueUrl,
    MessageBody: record.body,
    MessageAttributes: attributes,
  };
  if (queueUrl.endsWith('.fifo')) {
    input.MessageGroupId = record.attributes?.MessageGroupId ?? 'dead-letters';
    input.MessageDeduplicationId = record.messageId;
  }
  return input;
}

/** SQS's largest message (1 MiB since January 2026): the body and every attribute's name, type and value, in bytes. */
const MAX_MESSAGE_BYTES = SQS_MESSAGE_LIMIT_BYTES;

function attributeBytes(name: string, value: MessageAttributeValue): number {
  const data = value.StringValue ?? value.BinaryValue ?? '';
  const size = typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength;
  return Buffer.byteLength(name) + Buffer.byteLength(value.DataType ?? '') + size;
}

/**
 * Makes a record near SQS's size limit fit beside its failure: the record's own attributes go first, then
 * the error message is shortened. The body is never touched; a body with no room left for the failure's
 * name fails at the send, and the redrive policy keeps it (logged with its size).
 */
function fitInMessage(body: string, attributes: Record<string, MessageAttributeValue>): void {
  const size = (): number =>
    Buffer.byteLength(body) +
    Object.entries(attributes).reduce((sum, [name, value]) => sum + attributeBytes(name, value), 0);
  let over = size() - MAX_MESSAGE_BYTES;
  if (over <= 0) return;
  for (const name of Object.keys(attributes)) {
    if ((FAILURE_ATTRIBUTES as readonly string[]).includes(name)) continue;
    delete attributes[name];
    over = size() - MAX_MESSAGE_BYTES;
    if (over <= 0) return;
  }
  const message = attributes['errorMessage'];
  if (message?.StringValue !== undefined) {
    const keep = Buffer.byteLength(message.StringValue) - over;
    // Cut on a character boundary: decode the kept bytes, dropping a split last character.
    message.StringValue = Buffer.from(message.StringValue)
      .subarray(0, Math.max(0, keep))
      .toString('utf8')
      .replace(/\uFFFD$/, '');
    if (keep > 0 && message.StringValue !== '') return;
    delete attributes['errorMessage'];
  }
  // Less room still: the failure's name is the last to go.
  for (const name of ['connectorVersion', 'errorCode']) {
    if (size() <= MAX_MESSAGE_BYTES) return;
    delete attributes[name];
  }
}

/**
 * Sends `record` to the dead-letter queue with its failure. Resolves false when no queue is configured or
 * the send failed: the caller then leaves the record to the redrive policy, so nothing is lost.
 *
 * @example
 * ```ts
 * if (!(await moveToDeadLetter(record, err, runtime))) throw err;
 * ```
 */
export async function moveToDeadLetter(
  record: SQSRecord,
  error: ConnectorError,
  connector: { name: string; version: string; logger: Logger },
): Promise<boolean> {
  const queueUrl = deadLetterQueueUrl();
  if (queueUrl === undefined) return false;
  try {
    const sqs = await sqsClient(connector.name);
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    const command = new SendMessageCommand(deadLetterMessage(queueUrl, record, error, connector.version));
    await awsCall({ service: 'SQS', action: 'SendMessage', timeoutMs: 3_000 }, (abortSignal) =>
      sqs.send(command, { abortSignal }),
    );
    return true;
  } catch (failure) {
    connector.logger.error(
      'Moving a poison record to the dead-letter queue failed; the redrive policy will',
      {
        messageId: record.messageId,
        bodyBytes: Buffer.byteLength(record.body),
        error: (failure as Error).message,
      },
    );
    return false;
  }
}
