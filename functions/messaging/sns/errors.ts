/**
 * Amazon SNS's rows for the core's AWS error map (the SNS API Reference's errors, by the SDK's exception
 * names and by the query codes a PublishBatch entry reports), and the call target naming the topic in every
 * message. Throttling, timeouts, 5xx, credentials and network failures are the shared rows.
 */
import type { AwsCallTarget, AwsErrorTable } from '@circle-core/core';

const MISSING = { kind: 'configuration', says: 'does not exist', hint: 'check SNS_TOPIC_ARN' } as const;
const DENIED = { kind: 'configuration', hint: 'the role needs sns:Publish on the topic' } as const;
const KMS = {
  kind: 'configuration',
  hint: "the role needs kms:GenerateDataKey and kms:Decrypt on the topic's key",
} as const;

export const SNS_ERRORS: AwsErrorTable = {
  NotFound: MISSING,
  NotFoundException: MISSING,
  InvalidParameter: 'validation',
  InvalidParameterException: 'validation',
  // InvalidParameterValueException's query code is ParameterValueInvalid (what a PublishBatch entry reports).
  ParameterValueInvalid: 'validation',
  InvalidParameterValue: 'validation',
  InvalidParameterValueException: 'validation',
  ValidationException: 'validation',
  AuthorizationError: DENIED,
  AuthorizationErrorException: DENIED,
  KMSAccessDenied: KMS,
  KMSAccessDeniedException: KMS,
  KMSDisabled: KMS,
  KMSDisabledException: KMS,
  KMSNotFound: KMS,
  KMSNotFoundException: KMS,
  // The topic's key is pending deletion or import: the key's owner has to fix it.
  KMSInvalidState: { kind: 'configuration', hint: "the topic's KMS key is not usable in its current state" },
  KMSInvalidStateException: {
    kind: 'configuration',
    hint: "the topic's KMS key is not usable in its current state",
  },
  KMSOptInRequired: { kind: 'configuration', hint: 'the account has to subscribe to AWS KMS' },
  KMSThrottling: 'rate-limited',
  KMSThrottlingException: 'rate-limited',
  Throttled: 'rate-limited',
  ThrottledException: 'rate-limited',
  InternalError: 'unavailable',
  InternalErrorException: 'unavailable',
  EndpointDisabled: 'conflict',
  EndpointDisabledException: 'conflict',
};

/**
 * The target of one SNS call: SNS's rows and the topic as it reads in a message.
 *
 * @example
 * ```ts
 * await awsCall({ ...snsTarget('Publish', topicArn), timeoutMs }, (abortSignal) => sdk.send(command, { abortSignal }));
 * ```
 */
export function snsTarget(action: string, topicArn: string): AwsCallTarget {
  const name = topicArn.slice(topicArn.lastIndexOf(':') + 1);
  return {
    service: 'SNS',
    action,
    table: SNS_ERRORS,
    resource: `topic "${name}"`,
    callerInput: true,
    details: { topic: name },
  };
}
