/**
 * The Anthropic connector: the LLM interface's operations (complete-chat, generate-object; embed-texts
 * answers 501, Anthropic has no embeddings API) on every trigger from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { llmServices } from '#shared/interfaces/llm-budget.ts';
import { llmOperations } from '#shared/interfaces/llm-operations.ts';
import { chatStreamOperations } from '#shared/interfaces/llm-stream.ts';
import { ANTHROPIC_CAPABILITIES, AnthropicClient, anthropicApi } from './client.ts';
import { AnthropicConfig } from './config.ts';

/**
 * @example
 * ```ts
 * const { content, usage, cost } = await connector.run('complete-chat', {
 *   messages: [{ role: 'user', content: 'Reply with the single word: pong' }],
 * });
 * ```
 */
export const connector = defineConnector({
  name: 'anthropic',
  version: '0.2.4',
  capabilities: [...ANTHROPIC_CAPABILITIES],
  config: AnthropicConfig,
  setup: {
    secrets: (config) => ({ apiKey: config.ANTHROPIC_API_KEY_SECRET }),
    secretMaxAgeSeconds: (config) => config.ANTHROPIC_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new AnthropicClient(anthropicApi.clientFromSettings(config, { credential: secrets.apiKey }), {
        chatModel: config.ANTHROPIC_CHAT_MODEL,
        maxTokens: config.ANTHROPIC_MAX_TOKENS,
      }),
    services: ({ config }) =>
      llmServices('anthropic', 'ANTHROPIC_DAILY_TOKEN_BUDGET', config.ANTHROPIC_DAILY_TOKEN_BUDGET),
  },
  operations: (op) => llmOperations(op),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;

/**
 * The streamed chat (`chat-stream`) for HTTP callers, served by the `anthropic-stream` function (its function URL
 * with response streaming; the build wraps these with the core's `streamingHandler`): the same client,
 * budget and metrics as complete-chat.
 */
export const streamOperations = chatStreamOperations(
  () => connector.runtime.client(),
  async () => (await connector.runtime.built()).services,
);
