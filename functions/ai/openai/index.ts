/**
 * The OpenAI connector: the LLM interface's operations (complete-chat, generate-object, embed-texts) on
 * every trigger (HTTP, SQS, Step Functions, direct invoke, library use) from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { llmServices } from '#shared/interfaces/llm-budget.ts';
import { llmOperations } from '#shared/interfaces/llm-operations.ts';
import { chatStreamOperations } from '#shared/interfaces/llm-stream.ts';
import { OPENAI_CAPABILITIES, OpenaiClient, openaiApi } from './client.ts';
import { OpenaiConfig } from './config.ts';

/**
 * @example
 * ```ts
 * const { content, usage, cost } = await connector.run('complete-chat', {
 *   messages: [{ role: 'user', content: 'Reply with the single word: pong' }],
 * });
 * ```
 */
export const connector = defineConnector({
  name: 'openai',
  version: '0.2.2',
  capabilities: [...OPENAI_CAPABILITIES],
  config: OpenaiConfig,
  setup: {
    secrets: (config) => ({ apiKey: config.OPENAI_API_KEY_SECRET }),
    secretMaxAgeSeconds: (config) => config.OPENAI_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new OpenaiClient(openaiApi.clientFromSettings(config, { credential: secrets.apiKey }), {
        chatModel: config.OPENAI_CHAT_MODEL,
        embeddingModel: config.OPENAI_EMBEDDING_MODEL,
        maxTokens: config.OPENAI_MAX_TOKENS,
      }),
    services: ({ config }) =>
      llmServices('openai', 'OPENAI_DAILY_TOKEN_BUDGET', config.OPENAI_DAILY_TOKEN_BUDGET),
  },
  operations: (op) => llmOperations(op),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;

/**
 * The streamed chat (`chat-stream`) for HTTP callers, served by the `openai-stream` function (its function URL
 * with response streaming; the build wraps these with the core's `streamingHandler`): the same client,
 * budget and metrics as complete-chat.
 */
export const streamOperations = chatStreamOperations(
  () => connector.runtime.client(),
  async () => (await connector.runtime.built()).services,
);
