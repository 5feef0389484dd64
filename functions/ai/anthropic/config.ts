import { envInteger } from '@circle-core/core';
import * as z from 'zod';
import { tokenBudgetSetting } from '#shared/interfaces/llm-budget.ts';
import { anthropicApi } from './client.ts';

/**
 * The Anthropic connector's settings. Keys are the environment variable names; the secret is named, never
 * held (its value lives in Secrets Manager).
 */
export const AnthropicConfig = z.object({
  /** ANTHROPIC_API_URL (default: the declaration's base URL), ANTHROPIC_TIMEOUT_MS, _MAX_ATTEMPTS, _MAX_RETRY_AFTER_MS. */
  ...anthropicApi.settings,
  ANTHROPIC_API_KEY_SECRET: z
    .string()
    .min(1)
    .default('circle-core/anthropic/api-key')
    .describe('Name or ARN of the secret holding the Anthropic API key (sk-ant-...) as plain text'),
  ANTHROPIC_SECRET_MAX_AGE_SECONDS: envInteger(300, { min: 0, max: 86_400 }).describe(
    'How long a fetched secret is served from the container cache, in seconds',
  ),
  ANTHROPIC_CHAT_MODEL: z
    .string()
    .min(1)
    .default('claude-3-5-haiku-latest')
    .describe('The model when an input names none'),
  ANTHROPIC_MAX_TOKENS: envInteger(1024, { min: 1, max: 200_000 }).describe(
    'max_tokens (required by Anthropic) when an input gives no maxTokens',
  ),
  ANTHROPIC_DAILY_TOKEN_BUDGET: tokenBudgetSetting(),
});

/** The parsed settings. */
export type AnthropicSettings = z.output<typeof AnthropicConfig>;
