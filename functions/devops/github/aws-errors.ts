/** Maps AWS SDK failures (DynamoDB, SQS, Step Functions) onto the error taxonomy, by error name only. */
import { ConfigurationError, type ConnectorError, UnavailableError } from '@circle-core/core';

/** Failures a retry cannot fix: the setting, the resource or the function's role is wrong. */
const MISCONFIGURED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnrecognizedClientException',
  'InvalidClientTokenId',
  'InvalidSignatureException',
  'ResourceNotFoundException',
  'QueueDoesNotExist',
  'AWS.SimpleQueueService.NonExistentQueue',
  'StateMachineDoesNotExist',
  'StateMachineDeleting',
  'InvalidArn',
  'KmsAccessDenied',
  'KMSAccessDeniedException',
]);

/**
 * The AWS error name of an SDK failure (`ConditionalCheckFailedException`, ...), or `UnknownError`.
 *
 * @example
 * ```ts
 * if (awsErrorName(err) === 'ConditionalCheckFailedException') return false;
 * ```
 */
export function awsErrorName(error: unknown): string {
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : 'UnknownError';
}

/**
 * An AWS failure as a core error: a misconfiguration (missing table or queue, denied by IAM) is a
 * ConfigurationError, anything else (throttling, 5xx, network) a retryable UnavailableError. The message
 * names the service, the action and the AWS error name, never a request or response body.
 *
 * @example
 * ```ts
 * catch (err) { throw awsFailure('SQS', 'SendMessage', err); }
 * ```
 */
export function awsFailure(service: string, action: string, error: unknown): ConnectorError {
  const code = awsErrorName(error);
  const options = { cause: error, details: { service, action, awsError: code } };
  if (MISCONFIGURED.has(code)) {
    return new ConfigurationError(
      `${service} ${action} failed (${code}): check the connector's settings and its IAM role`,
      options,
    );
  }
  return new UnavailableError(`${service} ${action} failed (${code})`, options);
}
