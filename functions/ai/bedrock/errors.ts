/**
 * Amazon Bedrock Runtime's errors (the API Reference's Converse and InvokeModel "Errors", by the SDK's
 * exception names, which the service sends in `x-amzn-ErrorType`) as rows of the core's AWS error map, and
 * the call target naming the model in every message. Credentials, network failures and the generic 5xx
 * are the core's shared rows.
 */
import type { AwsCallTarget, AwsErrorTable } from '@circle-core/core';

const ACCESS =
  'model access is not granted: enable the model on the Bedrock console\'s "Model access" page in this Region, and check that the role has bedrock:InvokeModel on its foundation-model ARN (function.yml names the models allowed)';

export const BEDROCK_ERRORS: AwsErrorTable = {
  // 400: a field, the conversation's shape, a parameter the model does not take, the context length.
  ValidationException: { kind: 'validation', hint: 'Bedrock refused the request for this model' },
  AccessDeniedException: { kind: 'forbidden', hint: ACCESS },
  ResourceNotFoundException: { kind: 'not-found', says: 'was not found (check the model id and Region)' },
  // 429: requests or tokens per minute over the account's quota.
  ThrottlingException: { kind: 'rate-limited', hint: 'too many requests or tokens; retried, then 429' },
  // 400 "You can resubmit your request later": a quota, not the caller's input.
  ServiceQuotaExceededException: {
    kind: 'rate-limited',
    hint: 'the account quota for this model is used up',
  },
  // 429 in the reference: the model is being loaded; the SDK would retry it, the core's policy does.
  ModelNotReadyException: { kind: 'unavailable', hint: 'the model is not ready yet; try again soon' },
  ServiceUnavailableException: { kind: 'unavailable', hint: 'Bedrock is unavailable; try again' },
  InternalServerException: { kind: 'unavailable', hint: 'Bedrock failed; try again' },
  // 424: the model itself failed while answering.
  ModelErrorException: { kind: 'unavailable', hint: 'the model failed to answer' },
  // 408: the model took too long.
  ModelTimeoutException: { kind: 'timeout', hint: 'the model took too long to answer' },
};

/**
 * The target of one Bedrock Runtime call: Bedrock's rows and the model as it reads in a message.
 *
 * @example
 * ```ts
 * await awsCall({ ...bedrockTarget('Converse', modelId), timeoutMs }, (abortSignal) => sdk.send(command, { abortSignal }));
 * ```
 */
export function bedrockTarget(action: string, modelId: string): AwsCallTarget {
  return {
    service: 'Bedrock',
    action,
    table: BEDROCK_ERRORS,
    resource: `model "${modelId}"`,
    callerInput: true,
    details: { model: modelId },
  };
}
