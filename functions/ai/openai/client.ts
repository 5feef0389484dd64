/**
 * OpenAI's API as data for the core's REST kit, and the LLM interface on it: the only file that talks to
 * OpenAI. Failures are mapped once, by the declaration's error table (`errors.ts`). The kit's client, not
 * the `openai` SDK: one retry policy (the SDK retries on its own), and a smaller bundle.
 */
import { randomUUID } from 'node:crypto';
import { defineRestProvider, parseInput, type RestClient, UnexpectedResponseError } from '@circle-core/core';
import * as z from 'zod';
import type { LanguageModel, LanguageModelCapability } from '#shared/interfaces/llm.ts';
import { estimateCost, loadPriceTable, tokenUsage } from '#shared/interfaces/llm-cost.ts';
import { type ChatStreamFrame, openaiChatStream, readSse } from '#shared/interfaces/llm-stream.ts';
import { generateValidated, type StructuredAttempt } from '#shared/interfaces/llm-structured.ts';
import {
  type ChatMessage,
  CompleteChatInput,
  type CompleteChatOutput,
  EmbedTextsInput,
  type EmbedTextsOutput,
  type FinishReason,
  GenerateObjectInput,
  type GenerateObjectOutput,
  type ToolCall,
} from '#shared/models/llm.ts';
import { OPENAI_ERRORS, OPENAI_FIELDS } from './errors.ts';
import prices from './prices.json' with { type: 'json' };

/** OpenAI as data; its settings are `OPENAI_API_URL`, `OPENAI_TIMEOUT_MS`, ... */
export const openaiApi = defineRestProvider({
  name: 'OpenAI',
  settingsPrefix: 'OPENAI',
  baseUrl: 'https://api.openai.com/v1',
  baseUrlNote: 'Azure OpenAI and compatible gateways differ in paths and auth',
  auth: { kind: 'bearer' },
  errors: { codeIn: 'body', codeField: 'error.code', rows: OPENAI_ERRORS, fields: OPENAI_FIELDS },
  rateLimit: { retryAfter: 'retry-after' },
  // Generations change nothing at OpenAI: each call carries a key so the core's one policy may retry it
  // after a 429 (waiting as Retry-After says) or a 5xx, as the SDK's own retries would.
  idempotencyHeader: 'idempotency-key',
});

const PRICES = loadPriceTable(prices);

const ChatAnswer = z.object({
  model: z.string(),
  choices: z
    .array(
      z.object({
        message: z.object({
          content: z.string().nullish(),
          tool_calls: z
            .array(
              z.object({ id: z.string(), function: z.object({ name: z.string(), arguments: z.string() }) }),
            )
            .nullish(),
        }),
        finish_reason: z.string().nullish(),
      }),
    )
    .min(1),
  usage: z.object({ prompt_tokens: z.int().min(0), completion_tokens: z.int().min(0) }),
});
type ChatAnswer = z.output<typeof ChatAnswer>;

const EmbeddingAnswer = z.object({
  model: z.string(),
  data: z.array(z.object({ index: z.int().min(0), embedding: z.array(z.number()) })),
  usage: z.object({ prompt_tokens: z.int().min(0) }),
});

const FINISH: Readonly<Record<string, FinishReason>> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  function_call: 'tool-calls',
  content_filter: 'content-filter',
};

type Generation = Omit<z.output<typeof CompleteChatInput>, 'tools' | 'toolChoice'> &
  Partial<Pick<z.output<typeof CompleteChatInput>, 'tools' | 'toolChoice'>>;

/** The interface's messages in OpenAI's shape. */
function wireMessages(system: string | undefined, messages: ChatMessage[]): unknown[] {
  const wire: unknown[] = system === undefined ? [] : [{ role: 'system', content: system }];
  for (const message of messages) {
    if (message.role === 'tool') {
      wire.push({ role: 'tool', tool_call_id: message.toolCallId, content: message.content });
    } else if (message.role === 'assistant') {
      wire.push({
        role: 'assistant',
        content: message.content ?? null,
        ...(message.toolCalls === undefined || message.toolCalls.length === 0
          ? {}
          : {
              tool_calls: message.toolCalls.map((call) => ({
                id: call.id,
                type: 'function',
                function: { name: call.name, arguments: JSON.stringify(call.arguments) },
              })),
            }),
      });
    } else wire.push({ role: 'user', content: message.content });
  }
  return wire;
}

function toolCallsOf(answer: ChatAnswer): ToolCall[] {
  return (answer.choices[0]?.message.tool_calls ?? []).map((call) => {
    let args: unknown;
    try {
      args = JSON.parse(call.function.arguments);
    } catch {
      args = undefined;
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) {
      throw new UnexpectedResponseError(
        `OpenAI answered tool call ${call.function.name} with arguments that are not a JSON object`,
      );
    }
    return { id: call.id, name: call.function.name, arguments: args as Record<string, unknown> };
  });
}

/** Connector settings the client needs besides the REST client. */
export interface OpenaiDefaults {
  chatModel: string;
  embeddingModel: string;
  maxTokens: number;
}

/** The optional abilities of the LLM interface this connector offers; `health` lists them. */
export const OPENAI_CAPABILITIES: ReadonlySet<LanguageModelCapability> = new Set([
  'tools',
  'structured-output',
  'embeddings',
  'dimensions',
]);

/**
 * The LLM interface on OpenAI's chat completions and embeddings.
 *
 * @example
 * ```ts
 * const model = new OpenaiClient(openaiApi.client({ credential: defineSecret('circle-core/openai/api-key') }), DEFAULTS);
 * const { content, cost } = await model.completeChat({ messages: [{ role: 'user', content: 'Hello' }] });
 * ```
 */
export class OpenaiClient implements LanguageModel {
  readonly capabilities = OPENAI_CAPABILITIES;
  readonly #rest: RestClient;
  readonly #defaults: OpenaiDefaults;

  constructor(rest: RestClient, defaults: OpenaiDefaults) {
    this.#rest = rest;
    this.#defaults = defaults;
  }

  async completeChat(input: CompleteChatInput): Promise<CompleteChatOutput> {
    const request = parseInput(CompleteChatInput, input);
    const answer = await this.#chat(request);
    const usage = tokenUsage(answer.usage.prompt_tokens, answer.usage.completion_tokens);
    return {
      model: answer.model,
      content: answer.choices[0]?.message.content ?? '',
      toolCalls: toolCallsOf(answer),
      finishReason: FINISH[answer.choices[0]?.finish_reason ?? ''] ?? 'other',
      usage,
      cost: estimateCost(PRICES, answer.model, usage),
    };
  }

  async generateObject(input: GenerateObjectInput): Promise<GenerateObjectOutput> {
    const request = parseInput(GenerateObjectInput, input);
    // strict: false, so any JSON Schema is accepted (strict mode demands every property required and
    // additionalProperties false); the answer is validated here either way.
    const format = {
      type: 'json_schema',
      json_schema: { name: request.schemaName, schema: request.schema, strict: false },
    };
    return generateValidated(request, async (messages): Promise<StructuredAttempt> => {
      const answer = await this.#chat({ ...request, messages }, format);
      const usage = tokenUsage(answer.usage.prompt_tokens, answer.usage.completion_tokens);
      return {
        model: answer.model,
        text: answer.choices[0]?.message.content ?? '',
        usage,
        cost: estimateCost(PRICES, answer.model, usage),
      };
    });
  }

  async embedTexts(input: EmbedTextsInput): Promise<EmbedTextsOutput> {
    const request = parseInput(EmbedTextsInput, input);
    const answer = await this.#rest.post('/embeddings', EmbeddingAnswer, {
      json: {
        model: request.model ?? this.#defaults.embeddingModel,
        input: request.inputs,
        encoding_format: 'float',
        ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
      },
      idempotencyKey: randomUUID(),
      what: 'an embeddings request',
    });
    const embeddings = [...answer.data].sort((a, b) => a.index - b.index).map((item) => item.embedding);
    const dimensions = embeddings[0]?.length ?? 0;
    if (
      embeddings.length !== request.inputs.length ||
      embeddings.some((vector) => vector.length !== dimensions)
    ) {
      throw new UnexpectedResponseError(
        `OpenAI answered ${embeddings.length} embeddings of uneven length for ${request.inputs.length} inputs`,
      );
    }
    const usage = tokenUsage(answer.usage.prompt_tokens, 0);
    return {
      model: answer.model,
      dimensions,
      embeddings,
      usage,
      cost: estimateCost(PRICES, answer.model, usage),
    };
  }

  /** The cheapest authenticated call: proves the key, the URL and the default chat model for `health`. */
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
   * complete-chat as a stream (`stream: true`, the usage in the last chunk): the frames of
   * {@link ChatStreamFrame} as OpenAI produces them. Failures before the first chunk are mapped and retried
   * as for complete-chat; `signal` ends the stream (the caller went away, the time budget ran out).
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
      '/chat/completions',
      {
        json: { ...this.#chatBody(request), stream: true, stream_options: { include_usage: true } },
        headers: { accept: 'text/event-stream' },
        idempotencyKey: randomUUID(),
        what: 'a streamed chat completion',
      },
      signal,
    );
    yield* openaiChatStream(readSse(body), PRICES);
  }

  async #chat(request: Generation, responseFormat?: unknown): Promise<ChatAnswer> {
    return this.#rest.post('/chat/completions', ChatAnswer, {
      json: this.#chatBody(request, responseFormat),
      idempotencyKey: randomUUID(),
      what: 'a chat completion',
    });
  }

  #chatBody(request: Generation, responseFormat?: unknown): Record<string, unknown> {
    const choice = request.toolChoice;
    return {
      model: request.model ?? this.#defaults.chatModel,
      messages: wireMessages(request.system, request.messages),
      max_completion_tokens: request.maxTokens ?? this.#defaults.maxTokens,
      ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
      ...(request.stop === undefined ? {} : { stop: request.stop }),
      ...(request.tools === undefined
        ? {}
        : {
            tools: request.tools.map((tool) => ({
              type: 'function',
              function: {
                name: tool.name,
                parameters: tool.parameters,
                ...(tool.description === undefined ? {} : { description: tool.description }),
              },
            })),
          }),
      ...(choice === undefined
        ? {}
        : {
            tool_choice:
              typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } },
          }),
      ...(responseFormat === undefined ? {} : { response_format: responseFormat }),
    };
  }
}
