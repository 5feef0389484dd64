/**
 * Raw variant, SQS: a hand-written batch handler. Each record carries `{ operation, input }`; a record that
 * does not parse or validate is reported alone in `batchItemFailures`. No framework, no log line.
 */
import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { CreateItemInput, createItem, OPERATION } from './operation.ts';

/**
 * Runs the operation for every record and reports the failed ones.
 *
 * @example
 * ```ts
 * const { batchItemFailures } = await handler(event); // [] when every record was valid
 * ```
 */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchItemFailure[] = [];
  for (const record of event.Records) {
    try {
      const body = JSON.parse(record.body) as { operation?: unknown; input?: unknown };
      if (body.operation !== OPERATION) throw new Error('Unknown operation');
      createItem(CreateItemInput.parse(body.input));
    } catch {
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
