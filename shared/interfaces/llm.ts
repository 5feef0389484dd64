/**
 * The LLM interface: what OpenAI, Anthropic, Amazon Bedrock and the other model providers on the roadmap
 * offer in common, so a workflow can switch provider by input without rewriting anything, with the cost
 * of every call visible. Models live in `shared/models/llm.ts`; structured output's validate-and-retry and
 * the cost estimate are shared helpers (`llm-structured.ts`, `llm-cost.ts`), not per provider.
 */
import type {
  CompleteChatInput,
  CompleteChatOutput,
  EmbedTextsInput,
  EmbedTextsOutput,
  GenerateObjectInput,
  GenerateObjectOutput,
} from '../models/llm.ts';
import type { HasCapabilities } from './capabilities.ts';

/**
 * Optional abilities of a model provider:
 * - `tools`: `completeChat` accepts tools and returns typed tool calls;
 * - `structured-output`: `generateObject` answers JSON matching a schema;
 * - `embeddings`: `embedTexts` (Anthropic has no embeddings API);
 * - `dimensions`: `embedTexts` honours `dimensions` (OpenAI's text-embedding-3 models).
 */
export type LanguageModelCapability = 'tools' | 'structured-output' | 'embeddings' | 'dimensions';

/**
 * One model provider. Every method validates its input (`ValidationError`) and fails only with the core
 * error taxonomy: `AuthError` for a bad key, `RateLimitedError` with `retryAfterMs` for 429s,
 * `UnavailableError` for 5xx and overloaded answers, `NotFoundError` for an unknown model,
 * `StructuredOutputError` when an answer does not match the schema twice, `NotSupportedError` for a
 * capability it lacks. Messages never contain prompts, answers or keys.
 *
 * Every answer carries its token usage and an estimated cost from the connector's price table.
 *
 * @example
 * ```ts
 * async function label(model: LanguageModel, title: string): Promise<unknown> {
 *   const { object } = await model.generateObject({
 *     messages: [{ role: 'user', content: `Label this issue: ${title}` }],
 *     schema: { type: 'object', properties: { label: { enum: ['bug', 'feature'] } }, required: ['label'] },
 *   });
 *   return object;
 * }
 * ```
 */
export interface LanguageModel extends HasCapabilities<LanguageModelCapability> {
  /** Continues a conversation: text, and tool calls when tools are given (capability `tools`). */
  completeChat(input: CompleteChatInput): Promise<CompleteChatOutput>;
  /** An answer that is JSON matching `schema`, retried once with the validation message (`structured-output`). */
  generateObject(input: GenerateObjectInput): Promise<GenerateObjectOutput>;
  /** One vector per text, in order (capability `embeddings`; `dimensions` with capability `dimensions`). */
  embedTexts(input: EmbedTextsInput): Promise<EmbedTextsOutput>;
}
