/**
 * The LLM interface's operations, declared once for every model connector (OpenAI, Anthropic, Bedrock):
 * a connector whose client implements {@link LanguageModel} gets `complete-chat`, `generate-object` and
 * `embed-texts` with the interface's models.
 */
import type { OperationBuilder } from '@circle-core/core';
import {
  CompleteChatInput,
  CompleteChatOutput,
  EmbedTextsInput,
  EmbedTextsOutput,
  GenerateObjectInput,
  GenerateObjectOutput,
} from '../models/llm.ts';
import type { LanguageModel } from './llm.ts';
import { type LlmServices, tokenMeasures, withinTokenBudget } from './llm-budget.ts';

/**
 * The operation table of a model connector. Model calls cost money and are not idempotent, but change
 * nothing at the provider: they are reads here (a retried chat is billed twice, which the README says).
 * Every call reports its tokens and estimated cost as metrics and stays within the connector's daily token
 * budget when its services carry one (`llm-budget.ts`).
 *
 * @example
 * ```ts
 * defineConnector({ ..., operations: (op) => llmOperations(op) });
 * ```
 */
export function llmOperations<Config, Client extends LanguageModel, Services extends LlmServices>(
  op: OperationBuilder<Config, Client, Services>,
) {
  return {
    'complete-chat': op({
      description:
        'Continues a conversation (system, messages, temperature, max tokens, stop) and returns the answer, tool calls, token usage and estimated cost',
      input: CompleteChatInput,
      output: CompleteChatOutput,
      measures: tokenMeasures,
      run: (input, { client, services }) => withinTokenBudget(services, () => client.completeChat(input)),
    }),
    'generate-object': op({
      description:
        'Answers with JSON matching a JSON Schema, validated and retried once with the validation message',
      input: GenerateObjectInput,
      output: GenerateObjectOutput,
      measures: tokenMeasures,
      run: (input, { client, services }) => withinTokenBudget(services, () => client.generateObject(input)),
    }),
    'embed-texts': op({
      description: 'Embeds up to 256 texts as vectors, in order, optionally shortened to given dimensions',
      input: EmbedTextsInput,
      output: EmbedTextsOutput,
      measures: tokenMeasures,
      run: (input, { client, services }) => withinTokenBudget(services, () => client.embedTexts(input)),
    }),
  };
}
