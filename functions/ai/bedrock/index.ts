/**
 * The Amazon Bedrock connector: the LLM interface's operations (complete-chat and generate-object on the
 * Converse API, embed-texts on InvokeModel) on every trigger from one declaration.
 */
import { defineConnector } from '@circle-core/core';
import { llmServices } from '#shared/interfaces/llm-budget.ts';
import { llmOperations } from '#shared/interfaces/llm-operations.ts';
import { chatStreamOperations } from '#shared/interfaces/llm-stream.ts';
import { BEDROCK_CAPABILITIES, BedrockClient } from './client.ts';
import { BedrockConfig, clientOptions } from './config.ts';

/**
 * @example
 * ```ts
 * const { content, usage, cost } = await connector.run('complete-chat', {
 *   messages: [{ role: 'user', content: 'Reply with the single word: pong' }],
 * });
 * ```
 */
export const connector = defineConnector({
  name: 'bedrock',
  version: '0.2.5',
  capabilities: [...BEDROCK_CAPABILITIES],
  config: BedrockConfig,
  // No secret: the function's role is the credential (AWS SDK default chain).
  setup: {
    client: ({ config }) => BedrockClient.create(clientOptions(config)),
    services: ({ config }) =>
      llmServices('bedrock', 'BEDROCK_DAILY_TOKEN_BUDGET', config.BEDROCK_DAILY_TOKEN_BUDGET),
  },
  operations: (op) => llmOperations(op),
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;

/**
 * The streamed chat (`chat-stream`) for HTTP callers, served by the `bedrock-stream` function (its function URL
 * with response streaming; the build wraps these with the core's `streamingHandler`): the same client,
 * budget and metrics as complete-chat.
 */
export const streamOperations = chatStreamOperations(
  () => connector.runtime.client(),
  async () => (await connector.runtime.built()).services,
);
