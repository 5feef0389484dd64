/**
 * Amazon Bedrock Runtime's errors (the API Reference's Converse and InvokeModel "Errors", by the SDK's
 * exception names, which the service sends in `x-amzn-ErrorType`) as rows of the core's AWS error map, and
 * the call target naming the model in every message. Credentials, network failures and the generic 5xx
 * are the core's shared rows.
 */
import { type AwsCallTarget, type AwsErrorTable, type FieldIssue, ValidationError } from '@circle-core/core';

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

/**
 * Bedrock's names for the Converse settings the connector's input carries, and the input's pointers
 * (`topP` has no input field: a message about it names none).
 */
const FIELDS: Readonly<Record<string, string>> = {
  maxTokens: '/maxTokens',
  temperature: '/temperature',
  stopSequences: '/stop',
};

const MAX_MESSAGE = 500;

/**
 * A Bedrock ValidationException as a 400 that keeps Bedrock's own message (the core's table drops a
 * provider's text) and names the input field the message is about. Bedrock's validation messages
 * describe the request (a value sent, a constraint, the model's limit), never credentials: SigV4 sends
 * no secret, only a signature. A quoted value other than a numeric setting is redacted (it could be
 * prompt text); the text is cut to one line of at most 500 characters.
 *
 * @example
 * ```ts
 * bedrockValidation('Converse', 'anthropic.claude-3-haiku-20240307-v1:0',
 *   "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: ...");
 * // ValidationError, errors [{ pointer: '/temperature', message: '1 validation error detected: ...' }]
 * ```
 */
export function bedrockValidation(action: string, model: string, message: string): ValidationError {
  const text = message
    // biome-ignore lint/suspicious/noControlCharactersInRegex: log lines must stay one line.
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    // A constraint message quotes the value it refused: kept for the numeric settings, redacted elsewhere
    // (a text block or a stop sequence would put the caller's prompt into logs).
    .replace(/Value '(.*?)' at '([^']+)'/g, (whole, _value: string, path: string) =>
      /^inferenceConfig\.(?:maxTokens|temperature|topP)$/.test(path)
        ? whole
        : `Value [redacted] at '${path}'`,
    )
    .trim()
    .slice(0, MAX_MESSAGE);
  const named = new Set<string>();
  // "Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: ..." (the API's shape).
  for (const match of text.matchAll(/at 'inferenceConfig\.(\w+)'/g)) {
    const pointer = FIELDS[match[1] ?? ''];
    if (pointer !== undefined) named.add(pointer);
  }
  // "The maximum tokens you requested exceeds the model limit of 4096. ..." (the model's limit).
  if (/maximum tokens you requested/i.test(text)) named.add('/maxTokens');
  const issues: FieldIssue[] = [...named].map((pointer) => ({ pointer, message: text }));
  return new ValidationError(
    `Bedrock ${action} on model "${model}" failed (ValidationException): Bedrock refused the request for this model: ${text}`,
    issues,
    { details: { model } },
  );
}
