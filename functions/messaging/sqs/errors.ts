/**
 * Amazon SQS's rows for the core's AWS error map (the SQS API Reference's error codes, by the JSON
 * protocol's names and the query-compatible ones the SDK may report), and the call target naming the
 * queue in every message. Throttling, timeouts, 5xx, credentials and network failures are the shared rows.
 */
import type { AwsCallTarget, AwsErrorTable } from '@circle-core/core';

const MISSING = { kind: 'configuration', says: 'does not exist', hint: 'check SQS_QUEUE_URL' } as const;

export const SQS_ERRORS: AwsErrorTable = {
  QueueDoesNotExist: MISSING,
  'AWS.SimpleQueueService.NonExistentQueue': MISSING,
  InvalidMessageContents: 'validation',
  InvalidParameterValue: 'validation',
  MissingParameter: 'validation',
  InvalidAttributeValue: 'validation',
  BatchRequestTooLong: 'validation',
  // A receipt that is unknown, expired or of a message already deleted.
  ReceiptHandleIsInvalid: {
    kind: 'not-found',
    says: 'has no message under that receipt (expired or deleted)',
  },
  MessageNotInflight: { kind: 'conflict', says: 'has that message visible already (not in flight)' },
  OverLimit: 'rate-limited',
  RequestThrottled: 'rate-limited',
  KmsThrottled: 'rate-limited',
  KmsDisabled: { kind: 'configuration', hint: "the queue's KMS key is disabled" },
  KmsNotFound: { kind: 'configuration', hint: "the queue's KMS key does not exist" },
  UnsupportedOperation: 'validation',
};

/**
 * The target of one SQS call: SQS's rows and the queue as it reads in a message.
 *
 * @example
 * ```ts
 * await awsCall({ ...sqsTarget('SendMessage', url), timeoutMs }, (abortSignal) => sdk.send(command, { abortSignal }));
 * ```
 */
export function sqsTarget(action: string, queueUrl: string): AwsCallTarget {
  const name = queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
  return {
    service: 'SQS',
    action,
    table: SQS_ERRORS,
    resource: `queue "${name}"`,
    callerInput: true,
    details: { queue: name },
  };
}
