import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import { tokenBudgetSetting } from '#shared/interfaces/llm-budget.ts';
import type { BedrockOptions } from './client.ts';

/** A Bedrock model id: `anthropic.claude-3-haiku-20240307-v1:0`, `amazon.titan-embed-text-v2:0`, ... */
const ModelSetting = z.string().regex(/^[\w.:/-]{1,200}$/, 'expected a Bedrock model id');

/**
 * The Amazon Bedrock connector's settings; keys are the environment variable names. No secret: the
 * function's IAM role is its credential (the AWS SDK's default chain), allowed to invoke the models
 * function.yml names. `BEDROCK_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`) points the client
 * elsewhere (the local stack's sandbox, tests).
 */
export const BedrockConfig = z.object({
  BEDROCK_ENDPOINT_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .describe(
      "Bedrock Runtime's endpoint; unset means the Region's (bedrock-runtime.<region>.amazonaws.com)",
    ),
  BEDROCK_CHAT_MODEL: ModelSetting.default('anthropic.claude-3-haiku-20240307-v1:0').describe(
    'The Converse model when an input names none (its role must be allowed to invoke it)',
  ),
  BEDROCK_EMBEDDING_MODEL: ModelSetting.default('amazon.titan-embed-text-v2:0').describe(
    'The embedding model when an input names none: Titan Text Embeddings (v1, v2) or Cohere Embed (v3)',
  ),
  BEDROCK_MAX_TOKENS: envInteger(1024, { min: 1, max: 200_000 }).describe(
    'inferenceConfig.maxTokens when an input gives no maxTokens',
  ),
  BEDROCK_TIMEOUT_MS: envInteger(25_000, { min: 100, max: 900_000 }).describe(
    "Budget of one attempt; the invocation's remaining time may cut it shorter",
  ),
  BEDROCK_MAX_ATTEMPTS: envInteger(3, { min: 1, max: 10 }).describe(
    "Attempts per call by the core's retry policy (throttling, 5xx, model not ready); the SDK's own retries are off",
  ),
  BEDROCK_DAILY_TOKEN_BUDGET: tokenBudgetSetting(),
});

/** The parsed settings. */
export type BedrockSettings = z.output<typeof BedrockConfig>;

/**
 * The client's options from the settings.
 *
 * @example
 * ```ts
 * const client = await BedrockClient.create(clientOptions(loadConfig(BedrockConfig)));
 * ```
 */
export function clientOptions(config: BedrockSettings): BedrockOptions {
  return {
    endpoint: config.BEDROCK_ENDPOINT_URL,
    chatModel: config.BEDROCK_CHAT_MODEL,
    embeddingModel: config.BEDROCK_EMBEDDING_MODEL,
    maxTokens: config.BEDROCK_MAX_TOKENS,
    timeoutMs: config.BEDROCK_TIMEOUT_MS,
    maxAttempts: config.BEDROCK_MAX_ATTEMPTS,
  };
}
