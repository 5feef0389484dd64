import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import { tokenBudgetSetting } from '#shared/interfaces/llm-budget.ts';
import { openaiApi } from './client.ts';

/**
 * The OpenAI connector's settings. Keys are the environment variable names; the secret is named, never
 * held (its value lives in Secrets Manager).
 */
export const OpenaiConfig = z.object({
  /** OPENAI_API_URL (default: the declaration's base URL), OPENAI_TIMEOUT_MS, _MAX_ATTEMPTS, _MAX_RETRY_AFTER_MS. */
  ...openaiApi.settings,
  OPENAI_API_KEY_SECRET: z
    .string()
    .min(1)
    .default('circle-core/openai/api-key')
    .describe('Name or ARN of the secret holding the OpenAI API key (sk-...) as plain text'),
  OPENAI_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  OPENAI_CHAT_MODEL: z
    .string()
    .min(1)
    .default('gpt-4o-mini')
    .describe('The chat model when an input names none'),
  OPENAI_EMBEDDING_MODEL: z
    .string()
    .min(1)
    .default('text-embedding-3-small')
    .describe('The embedding model when an input names none'),
  OPENAI_MAX_TOKENS: envInteger(1024, { min: 1, max: 200_000 }).describe(
    'max_completion_tokens when an input gives no maxTokens',
  ),
  OPENAI_DAILY_TOKEN_BUDGET: tokenBudgetSetting(),
});

/** The parsed settings. */
export type OpenaiSettings = z.output<typeof OpenaiConfig>;
