/**
 * Anthropic's Messages API as data for the core's REST kit, and the LLM interface on it: the only file
 * that talks to Anthropic. Failures are mapped once, by the declaration's error table (`errors.ts`). The
 * kit's client, not `@anthropic-ai/sdk`: one retry policy (the SDK retries on its own), a smaller bundle.
 */
import { randomUUID } from 'node:crypto';
import {
  defineRestProvider,
  NotSupportedError,
  parseInput,
  type RestClient,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import type { LanguageModel, LanguageModelCapability } from '#shared/interfaces/llm.ts';
import { estimateCost, loadPriceTable, tokenUsage } from '#shared/interfaces/llm-cost.ts';
import { anthropicChatStream, type ChatStreamFrame, readSse } from '#shared/interfaces/llm-stream.ts';
import { generateValidated } from '#shared/interfaces/llm-structured.ts';
import {
  type ChatMessage,
  CompleteChatInput,
  type CompleteChatOutput,
  EmbedTextsInput,
  type EmbedTextsOutput,
  type FinishReason,
  GenerateObjectInput,
  type GenerateObjectOutput,
} from '#shared/models/llm.ts';
import { ANTHROPIC_ERRORS, ANTHROPIC_FIELDS } from './errors.ts';
import prices from './prices.json' with { type: 'json' };

/** Anthropic as data; its settings are `ANTHROPIC_API_URL`, `ANTHROPIC_TIMEOUT_MS`, ... */
export const anthropicApi = defineRestProvider({
  name: 'Anthropic',
  settingsPrefix: 'ANTHROPIC',
  baseUrl: 'https://api.anthropic.com/v1',
  auth: { kind: 'api-key', header: 'x-api-key' },
  headers: { 'anthropic-version': '2023-06-01' },
  errors: { codeIn: 'body', codeField: 'error.type', rows: ANTHROPIC_ERRORS, fields: ANTHROPIC_FIELDS },
  rateLimit: { retryAfter: 'retry-after' },
  // Messages change nothing at Anthropic: a per-call key lets the core's one policy retry 429/529/5xx.
  idempotencyHeader: 'idempotency-key',
});

const PRICES = loadPriceTable(prices);

const MessageAnswer = z.object({
  model: z.string(),
  content: z.array(
    z.looseObject({
      type: z.string(),
      text: z.string().optional(),
      id: z.string().optional(),
      name: z.string().optional(),
      input: z.unknown().optional(),
    }),
  ),
  stop_reason: z.string().nullish(),
  usage: z.object({ input_tokens: z.int().min(0), output_tokens: z.int().min(0) }),
});
type MessageAnswer = z.output<typeof MessageAnswer>;

const FINISH: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool-calls',
  refusal: 'content-filter',
};

type Block = Record<string, unknown>;
type WireMessage = { role: 'user' | 'assistant'; content: Block[] };

/** The interface's messages in Anthropic's shape: tool results are user blocks, same-role turns merged. */
function wireMessages(messages: ChatMessage[]): WireMessage[] {
  const wire: WireMessage[] = [];
  const add = (role: WireMessage['role'], blocks: Block[]) => {
    const last = wire.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else wire.push({ role, content: blocks });
  };
  for (const message of messages) {
    if (message.role === 'tool') {
      add('user', [{ type: 'tool_result', tool_use_id: message.toolCallId, content: message.content }]);
    } else if (message.role === 'assistant') {
      const text =
        message.content === undefined || message.content === ''
          ? []
          : [{ type: 'text', text: message.content }];
      const calls = (message.toolCalls ?? []).map((call) => ({
        type: 'tool_use',
        id: call.id,
        name: call.name,
        input: call.arguments,
      }));
      add('assistant', [...text, ...calls]);
    } else add('user', [{ type: 'text', text: message.content }]);
  }
  return wire;
}

type Generation = Omit<z.output<typeof CompleteChatInput>, 'tools' | 'toolChoice'> &
  Partial<Pick<z.output<typeof CompleteChatInput>, 'tools' | 'toolChoice'>>;

function toolChoiceOf(choice: Generation['toolChoice']): Block | undefined {
  if (choice === undefined) return undefined;
  if (typeof choice === 'object') return { type: 'tool', name: choice.name };
  return { type: choice === 'required' ? 'any' : choice };
}

/**
 * generate-object sends the caller's `schema` as the one tool it forces (named `schemaName`): Anthropic's
 * refusal of `tools` (the field table's `/tools`) or `tool_choice` is about those input fields, and the
 * issues are pointed there (`tools.0.custom.name` and `tool_choice` at `/schemaName`, the rest at `/schema`).
 */
function schemaRefusal(error: unknown): unknown {
  if (!(error instanceof ValidationError)) return error;
  const issues = error.issues.map((issue) => {
    if (issue.pointer === '/toolChoice') return { ...issue, pointer: '/schemaName' };
    if (issue.pointer !== '/tools') return issue;
    const naming = /^\s*tools\.\d+\.(?:custom\.)?name\b/.test(issue.message);
    return { ...issue, pointer: naming ? '/schemaName' : '/schema' };
  });
  if (issues.every((issue, index) => issue === error.issues[index])) return error;
  return new ValidationError(error.message, issues, {
    cause: error,
    ...(error.details === undefined ? {} : { details: error.details }),
  });
}

/** Connector settings the client needs besides the REST client. */
export interface AnthropicDefaults {
  chatModel: string;
  maxTokens: number;
}

/** The optional abilities of the LLM interface this connector offers; `health` lists them. */
export const ANTHROPIC_CAPABILITIES: ReadonlySet<LanguageModelCapability> = new Set([
  'tools',
  'structured-output',
]);

/**
 * The LLM interface on Anthropic's Messages API; structured output through a forced tool call.
 *
 * @example
 * ```ts
 * const model = new AnthropicClient(anthropicApi.client({ credential: defineSecret('circle-core/anthropic/api-key') }), DEFAULTS);
 * const { content } = await model.completeChat({ messages: [{ role: 'user', content: 'Hello' }] });
 * ```
 */
export class AnthropicClient implements LanguageModel {
  readonly capabilities = ANTHROPIC_CAPABILITIES;
  readonly #rest: RestClient;
  readonly #defaults: AnthropicDefaults;

  constructor(rest: RestClient, defaults: AnthropicDefaults) {
    this.#rest = rest;
    this.#defaults = defaults;
  }

  async completeChat(input: CompleteChatInput): Promise<CompleteChatOutput> {
    const answer = await this.#message(parseInput(CompleteChatInput, input));
    const usage = tokenUsage(answer.usage.input_tokens, answer.usage.output_tokens);
    const text = answer.content.filter((block) => block.type === 'text').map((block) => block.text ?? '');
    const toolCalls = answer.content
      .filter((block) => block.type === 'tool_use')
      .map((block) => {
        if (
          block.id === undefined ||
          block.name === undefined ||
          typeof block.input !== 'object' ||
          block.input === null
        ) {
          throw new UnexpectedResponseError(
            'Anthropic answered a tool_use block without id, name or object input',
          );
        }
        return { id: block.id, name: block.name, arguments: block.input as Record<string, unknown> };
      });
    return {
      model: answer.model,
      content: text.join(''),
      toolCalls,
      finishReason: FINISH[answer.stop_reason ?? ''] ?? 'other',
      usage,
      cost: estimateCost(PRICES, answer.model, usage),
    };
  }

  async generateObject(input: GenerateObjectInput): Promise<GenerateObjectOutput> {
    const request = parseInput(GenerateObjectInput, input);
    // Anthropic's way to a JSON answer: one tool whose input schema is the caller's, and a forced call.
    const tool = { name: request.schemaName, description: 'Answer with this', parameters: request.schema };
    return generateValidated(request, async (messages) => {
      const answer = await this.#message({
        ...request,
        messages,
        tools: [tool],
        toolChoice: { name: tool.name },
      }).catch((error: unknown) => {
        throw schemaRefusal(error);
      });
      const usage = tokenUsage(answer.usage.input_tokens, answer.usage.output_tokens);
      const call = answer.content.find((block) => block.type === 'tool_use');
      return {
        model: answer.model,
        text: call === undefined ? '' : JSON.stringify(call.input ?? null),
        usage,
        cost: estimateCost(PRICES, answer.model, usage),
      };
    });
  }

  async embedTexts(input: EmbedTextsInput): Promise<EmbedTextsOutput> {
    parseInput(EmbedTextsInput, input);
    throw new NotSupportedError(
      'Anthropic has no embeddings API: use the openai or bedrock connector for embed-texts',
    );
  }

  /** The cheapest authenticated call: proves the key, the URL and the default model for `health`. */
  async ping(): Promise<void> {
    await this.#rest.get(
      `/models/${encodeURIComponent(this.#defaults.chatModel)}`,
      z.object({ id: z.string() }),
      {
        notFound: `Model ${this.#defaults.chatModel}`,
      },
    );
  }

  /** Closes the connection pool. */
  close(): void {
    this.#rest.close();
  }

  /**
   * complete-chat as a stream (`stream: true`): the frames of {@link ChatStreamFrame} as Anthropic produces
   * them. Failures before the first event are mapped and retried as for complete-chat; an `error` event
   * mid-stream is the taxonomy's error for its type; `signal` ends the stream.
   *
   * @example
   * ```ts
   * for await (const frame of model.streamChat({ messages: [{ role: 'user', content: 'Hi' }] })) console.log(frame);
   * ```
   */
  async *streamChat(input: CompleteChatInput, signal?: AbortSignal): AsyncGenerator<ChatStreamFrame> {
    const request = parseInput(CompleteChatInput, input);
    const { body } = await this.#rest.stream(
      'POST',
      '/messages',
      {
        json: { ...this.#messageBody(request), stream: true },
        headers: { accept: 'text/event-stream' },
        idempotencyKey: randomUUID(),
        what: 'a streamed message',
      },
      signal,
    );
    yield* anthropicChatStream(readSse(body), PRICES);
  }

  #message(request: Generation): Promise<MessageAnswer> {
    return this.#rest.post('/messages', MessageAnswer, {
      json: this.#messageBody(request),
      idempotencyKey: randomUUID(),
      what: 'a message',
    });
  }

  #messageBody(request: Generation): Record<string, unknown> {
    const choice = toolChoiceOf(request.toolChoice);
    return {
      model: request.model ?? this.#defaults.chatModel,
      max_tokens: request.maxTokens ?? this.#defaults.maxTokens,
      messages: wireMessages(request.messages),
      ...(request.system === undefined ? {} : { system: request.system }),
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.stop === undefined ? {} : { stop_sequences: request.stop }),
      ...(request.tools === undefined
        ? {}
        : {
            tools: request.tools.map((tool) => ({
              name: tool.name,
              input_schema: tool.parameters,
              ...(tool.description === undefined ? {} : { description: tool.description }),
            })),
          }),
      ...(choice === undefined ? {} : { tool_choice: choice }),
    };
  }
}
