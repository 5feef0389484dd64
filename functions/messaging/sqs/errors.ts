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
  KmsInvalidState: { kind: 'configuration', hint: "the queue's KMS key is not usable in its current state" },
  KmsInvalidKeyUsage: {
    kind: 'configuration',
    hint: "the queue's KMS key is not a symmetric encryption key SQS can use",
  },
  KmsOptInRequired: { kind: 'configuration', hint: 'the account has to subscribe to AWS KMS' },
  // SQS answers it with 404 for a queue URL it cannot read: the setting, not the caller's input.
  InvalidAddress: {
    kind: 'configuration',
    says: 'has an address SQS does not take',
    hint: 'check SQS_QUEUE_URL',
  },
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
