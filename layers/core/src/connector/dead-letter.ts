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
        error: (failure as Error).message,
      },
    );
    return false;
  }
}
