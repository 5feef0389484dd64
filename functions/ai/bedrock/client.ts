/**
 * Amazon Bedrock as a {@link LanguageModel}, through the core's AWS kit: one SDK client from
 * `createAwsClient` with its own retries off (`maxAttempts: 1`), every call through `awsCall` with the
 * core's retry policy and the rows of `errors.ts`. Chat, tools and structured output speak the Converse
 * API (one request shape for every chat model on Bedrock); embeddings are InvokeModel with the model's own
 * body (Titan Text Embeddings v1/v2, Cohere Embed v3). The only file that talks to Bedrock.
 */
import {
  BedrockRuntimeClient,
  type ContentBlock,
  ConverseCommand,
  type ConverseCommandInput,
  type ConverseCommandOutput,
  ConverseStreamCommand,
  InvokeModelCommand,
  type Message,
  type ToolChoice,
} from '@aws-sdk/client-bedrock-runtime';
import {
  awsCall,
  ConnectorError,
  createAwsClient,
  NotFoundError,
  NotSupportedError,
  parseInput,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import * as z from 'zod';
import type { LanguageModel, LanguageModelCapability } from '#shared/interfaces/llm.ts';
import { estimateCost, loadPriceTable, tokenUsage } from '#shared/interfaces/llm-cost.ts';
import {
  type BedrockStreamEvent,
  bedrockChatStream,
  type ChatStreamFrame,
} from '#shared/interfaces/llm-stream.ts';
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
import { bedrockTarget, bedrockValidation } from './errors.ts';
import prices from './prices.json' with { type: 'json' };

const PRICES = loadPriceTable(prices);

/** What the client needs from the settings. */
export interface BedrockOptions {
  /** Bedrock Runtime's endpoint; undefined: the Region's (or `AWS_ENDPOINT_URL_BEDROCK_RUNTIME`). */
  endpoint?: string | undefined;
  chatModel: string;
  embeddingModel: string;
  maxTokens: number;
  /** One attempt's budget; the invocation's time left may cut it shorter. */
  timeoutMs: number;
  /** Attempts per call by the core's policy. */
  maxAttempts: number;
}

const FINISH: Readonly<Record<string, FinishReason>> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool-calls',
  guardrail_intervened: 'content-filter',
  content_filtered: 'content-filter',
};

/** Titan Text Embeddings v2 returns vectors of these lengths only. */
const TITAN_V2_DIMENSIONS = [256, 512, 1024] as const;
/** Cohere Embed takes up to 96 texts per InvokeModel. */
const COHERE_BATCH = 96;
/** Cohere Embed on Bedrock: characters a text may hold; longer is a ValidationException, `truncate` or not. */
const COHERE_MAX_CHARACTERS = 2048;
/** Titan embeds one text per InvokeModel: this many in flight at once. */
const TITAN_CONCURRENCY = 4;

type EmbeddingFamily = 'titan-v1' | 'titan-v2' | 'cohere';

function familyOf(model: string): EmbeddingFamily | undefined {
  if (/(^|\.)amazon\.titan-embed-text-v2/.test(model)) return 'titan-v2';
  if (/(^|\.)amazon\.titan-embed-text-v1/.test(model)) return 'titan-v1';
  if (/(^|\.)cohere\.embed-/.test(model)) return 'cohere';
  return undefined;
}

const TitanAnswer = z.object({
  embedding: z.array(z.number()).min(1),
  inputTextTokenCount: z.int().min(0),
});
const CohereAnswer = z.object({ embeddings: z.array(z.array(z.number()).min(1)) });

/** The interface's messages as Converse messages: tool results are user blocks, same-role turns merged. */
function converseMessages(messages: ChatMessage[]): Message[] {
  const wire: Message[] = [];
  const add = (role: 'user' | 'assistant', blocks: ContentBlock[]) => {
    const last = wire.at(-1);
    if (last?.role === role) last.content?.push(...blocks);
    else wire.push({ role, content: blocks });
  };
  for (const message of messages) {
    if (message.role === 'tool') {
      add('user', [{ toolResult: { toolUseId: message.toolCallId, content: [{ text: message.content }] } }]);
    } else if (message.role === 'assistant') {
      const text: ContentBlock[] =
        message.content === undefined || message.content === '' ? [] : [{ text: message.content }];
      const calls: ContentBlock[] = (message.toolCalls ?? []).map((call) => ({
        toolUse: { toolUseId: call.id, name: call.name, input: call.arguments as never },
      }));
      add('assistant', [...text, ...calls]);
    } else add('user', [{ text: message.content }]);
  }
  return wire;
}

type Generation = Omit<z.output<typeof CompleteChatInput>, 'tools' | 'toolChoice'> &
  Partial<Pick<z.output<typeof CompleteChatInput>, 'tools' | 'toolChoice'>>;

function toolChoiceOf(choice: Generation['toolChoice']): ToolChoice | undefined {
  if (choice === undefined || choice === 'none') return undefined;
  if (typeof choice === 'object') return { tool: { name: choice.name } };
  return choice === 'required' ? { any: {} } : { auto: {} };
}

/**
 * Converse requires `toolConfig` when the messages hold toolUse or toolResult blocks (else Bedrock's
 * ValidationException): a conversation with tool calls or results needs its tools, and `toolChoice`
 * "none" (which sends none) is not possible for it. Refused with a 400 naming the field before any call.
 */
function refuseToolsMissing(request: Generation): void {
  if (request.tools !== undefined && request.toolChoice !== 'none') return;
  const index = request.messages.findIndex(
    (message) =>
      message.role === 'tool' || (message.role === 'assistant' && (message.toolCalls ?? []).length > 0),
  );
  if (index === -1) return;
  const [pointer, message] =
    request.tools === undefined
      ? [
          '/tools',
          `the conversation holds tool calls or results (/messages/${index}): Bedrock's Converse needs the tools declared with them`,
        ]
      : [
          '/toolChoice',
          `toolChoice "none" sends no tools, but the conversation holds tool calls or results (/messages/${index}) and Bedrock's Converse needs the tools with them: use "auto"`,
        ];
  throw new ValidationError(`Invalid input: ${pointer}: ${message}`, [{ pointer, message }]);
}

/** The answer's tool calls, typed; a toolUse block without id, name or object input is a 502. */
function toolCallsOf(blocks: ContentBlock[]): CompleteChatOutput['toolCalls'] {
  return blocks.flatMap((block) => {
    if (block.toolUse === undefined) return [];
    const { toolUseId, name, input } = block.toolUse;
    if (!toolUseId || !name || typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new UnexpectedResponseError('Bedrock answered a toolUse block without id, name or object input');
    }
    return [{ id: toolUseId, name, arguments: input as Record<string, unknown> }];
  });
}

/** The answer's message blocks, or a 502 when Converse answered none. */
function blocksOf(answer: ConverseCommandOutput): ContentBlock[] {
  const blocks = answer.output?.message?.content;
  if (!Array.isArray(blocks)) throw new UnexpectedResponseError('Bedrock Converse answered no message');
  return blocks;
}

function usageOf(answer: ConverseCommandOutput) {
  const input = answer.usage?.inputTokens;
  const output = answer.usage?.outputTokens;
  if (typeof input !== 'number' || typeof output !== 'number') {
    throw new UnexpectedResponseError('Bedrock Converse answered without token usage');
  }
  return tokenUsage(input, output);
}

/** The optional abilities of the LLM interface this connector offers; `health` lists them. */
export const BEDROCK_CAPABILITIES: ReadonlySet<LanguageModelCapability> = new Set([
  'tools',
  'structured-output',
  'embeddings',
  'dimensions',
]);

/**
 * The LLM interface on Amazon Bedrock. The SDK client is a parameter, so a test can hand in one pointed at
 * a fake.
 *
 * @example
 * ```ts
 * const model = await BedrockClient.create({ chatModel: 'anthropic.claude-3-haiku-20240307-v1:0',
 *   embeddingModel: 'amazon.titan-embed-text-v2:0', maxTokens: 1024, timeoutMs: 25_000, maxAttempts: 3 });
 * const { content } = await model.completeChat({ messages: [{ role: 'user', content: 'Hello' }] });
 * ```
 */
export class BedrockClient implements LanguageModel {
  /** `dimensions` on Titan Text Embeddings v2: 256, 512 or 1024 (other lengths, other models: a 400). */
  readonly capabilities = BEDROCK_CAPABILITIES;
  readonly #sdk: BedrockRuntimeClient;
  readonly #options: BedrockOptions;

  constructor(sdk: BedrockRuntimeClient, options: BedrockOptions) {
    this.#sdk = sdk;
    this.#options = options;
  }

  /** Builds the SDK client the kit's way (traced when tracing is on), its own retries off. */
  static async create(options: BedrockOptions): Promise<BedrockClient> {
    const connectionTimeout = Math.min(options.timeoutMs, 3_000);
    const sdk = await createAwsClient(BedrockRuntimeClient, 'bedrock', {
      connectionTimeoutMs: connectionTimeout,
      requestTimeoutMs: options.timeoutMs,
      maxAttempts: 1,
      endpoint: options.endpoint,
      // HTTP/1.1 keep-alive: this client defaults to HTTP/2, which only bidirectional streaming needs.
      extra: {
        requestHandler: new NodeHttpHandler({ connectionTimeout, requestTimeout: options.timeoutMs }),
      },
    });
    return new BedrockClient(sdk, options);
  }

  async completeChat(input: CompleteChatInput): Promise<CompleteChatOutput> {
    const request = parseInput(CompleteChatInput, input);
    const { model, answer } = await this.#converse(request);
    const blocks = blocksOf(answer);
    const usage = usageOf(answer);
    return {
      model,
      content: blocks.map((block) => block.text ?? '').join(''),
      toolCalls: toolCallsOf(blocks),
      finishReason: FINISH[answer.stopReason ?? ''] ?? 'other',
      usage,
      cost: estimateCost(PRICES, model, usage),
    };
  }

  async generateObject(input: GenerateObjectInput): Promise<GenerateObjectOutput> {
    const request = parseInput(GenerateObjectInput, input);
    // Structured output on Converse: one tool whose input schema is the caller's, and a forced call.
    const tool = { name: request.schemaName, description: 'Answer with this', parameters: request.schema };
    return generateValidated(request, async (messages) => {
      const { model, answer } = await this.#converse({
        ...request,
        messages,
        tools: [tool],
        toolChoice: { name: tool.name },
      });
      const usage = usageOf(answer);
      const call = blocksOf(answer).find((block) => block.toolUse !== undefined)?.toolUse;
      return {
        model,
        text: call === undefined ? '' : JSON.stringify(call.input ?? null),
        usage,
        cost: estimateCost(PRICES, model, usage),
      };
    });
  }

  async embedTexts(input: EmbedTextsInput): Promise<EmbedTextsOutput> {
    const request = parseInput(EmbedTextsInput, input);
    const model = request.model ?? this.#options.embeddingModel;
    const family = familyOf(model);
    if (family === undefined) {
      const message = `embed-texts speaks Titan Text Embeddings and Cohere Embed on Bedrock; "${model}" is neither`;
      // A model the caller names is the caller's mistake; a configured default that embeds nothing is not.
      if (request.model === undefined) throw new NotSupportedError(message);
      throw new ValidationError(`Invalid input: /model: ${message}`, [{ pointer: '/model', message }]);
    }
    const { dimensions } = request;
    if (dimensions !== undefined && family !== 'titan-v2') {
      const message = `${model} has one vector length; dimensions needs amazon.titan-embed-text-v2`;
      throw new ValidationError(`Invalid input: /dimensions: ${message}`, [
        { pointer: '/dimensions', message },
      ]);
    }
    // The model's own limit, as OpenAI's text-embedding-3 has one: the caller's input to fix.
    if (dimensions !== undefined && !(TITAN_V2_DIMENSIONS as readonly number[]).includes(dimensions)) {
      const message = `Titan Text Embeddings v2 answers 256, 512 or 1024 dimensions, not ${dimensions}`;
      throw new ValidationError(`Invalid input: /dimensions: ${message}`, [
        { pointer: '/dimensions', message },
      ]);
    }
    if (family === 'cohere') {
      const long = request.inputs.findIndex((text) => text.length > COHERE_MAX_CHARACTERS);
      if (long !== -1) {
        const pointer = `/inputs/${long}`;
        const message = `${model} on Bedrock takes at most ${COHERE_MAX_CHARACTERS} characters a text, not ${request.inputs[long]?.length}`;
        throw new ValidationError(`Invalid input: ${pointer}: ${message}`, [{ pointer, message }]);
      }
    }
    const { embeddings, inputTokens } =
      family === 'cohere'
        ? await this.#embedCohere(model, request.inputs)
        : await this.#embedTitan(model, request.inputs, family === 'titan-v2' ? dimensions : undefined);
    const length = embeddings[0]?.length ?? 0;
    if (
      embeddings.length !== request.inputs.length ||
      embeddings.some((vector) => vector.length !== length)
    ) {
      throw new UnexpectedResponseError(
        `Bedrock answered ${embeddings.length} vectors of uneven length for ${request.inputs.length} texts`,
      );
    }
    const usage = tokenUsage(inputTokens, 0);
    return { model, dimensions: length, embeddings, usage, cost: estimateCost(PRICES, model, usage) };
  }

  /** Proves the credentials, the endpoint and access to the chat model: a one-token Converse (billed). */
  async ping(): Promise<void> {
    await this.#converse({ messages: [{ role: 'user', content: 'ping' }], maxTokens: 1 });
  }

  /** Closes the SDK client's connections. */
  close(): void {
    this.#sdk.destroy();
  }

  /**
   * complete-chat as a stream (ConverseStream): the frames of {@link ChatStreamFrame} as the model produces
   * them. Until Bedrock's answer headers the call is the kit's (`awsCall`: its budget, retries and error
   * rows); after that only `signal` (the caller went away, the time budget ran out) and the SDK's idle
   * socket timeout end it, and nothing is retried. An exception event mid-stream is the taxonomy's error.
   *
   * @example
   * ```ts
   * for await (const frame of model.streamChat({ messages: [{ role: 'user', content: 'Hi' }] })) console.log(frame);
   * ```
   */
  async *streamChat(input: CompleteChatInput, signal?: AbortSignal): AsyncGenerator<ChatStreamFrame> {
    const request = parseInput(CompleteChatInput, input);
    const { model, input: command } = this.#converseInput(request);
    // The SDK reads the body under the signal it was sent with: the kit's per-call budget must stop at
    // the headers, the caller's signal must not.
    const controller = new AbortController();
    const onCaller = () => controller.abort(signal?.reason);
    if (signal?.aborted === true) onCaller();
    else signal?.addEventListener('abort', onCaller, { once: true });
    try {
      const answer = await this.#call('ConverseStream', model, async (abortSignal) => {
        const onBudget = () => controller.abort(abortSignal.reason);
        abortSignal.addEventListener('abort', onBudget, { once: true });
        try {
          return await this.#sdk.send(new ConverseStreamCommand(command), {
            abortSignal: controller.signal,
          });
        } finally {
          abortSignal.removeEventListener('abort', onBudget);
        }
      });
      if (answer.stream === undefined) {
        throw new UnexpectedResponseError(`Bedrock ConverseStream on ${model} answered without a stream`);
      }
      try {
        yield* bedrockChatStream(answer.stream as AsyncIterable<BedrockStreamEvent>, PRICES, model);
      } catch (error) {
        if (error instanceof ConnectorError) throw error;
        if (signal?.aborted === true) throw signal.reason;
        throw new UnavailableError(
          `Bedrock ConverseStream on ${model} failed mid-stream (${String((error as { name?: unknown })?.name ?? 'error').slice(0, 64)})`,
          { details: { model } },
        );
      }
    } finally {
      signal?.removeEventListener('abort', onCaller);
      // Stops the SDK's read when the consumer ended early.
      controller.abort();
    }
  }

  async #converse(request: Generation): Promise<{ model: string; answer: ConverseCommandOutput }> {
    const { model, input } = this.#converseInput(request);
    const answer = await this.#call('Converse', model, (abortSignal) =>
      this.#sdk.send(new ConverseCommand(input), { abortSignal }),
    );
    return { model, answer };
  }

  #converseInput(request: Generation): { model: string; input: ConverseCommandInput } {
    refuseToolsMissing(request);
    const model = request.model ?? this.#options.chatModel;
    const choice = toolChoiceOf(request.toolChoice);
    const tools = request.toolChoice === 'none' ? undefined : request.tools;
    const input: ConverseCommandInput = {
      modelId: model,
      messages: converseMessages(request.messages),
      ...(request.system === undefined ? {} : { system: [{ text: request.system }] }),
      inferenceConfig: {
        maxTokens: request.maxTokens ?? this.#options.maxTokens,
        ...(request.temperature === undefined ? {} : { temperature: request.temperature }),
        ...(request.stop === undefined ? {} : { stopSequences: request.stop }),
      },
      ...(tools === undefined
        ? {}
        : {
            toolConfig: {
              tools: tools.map((tool) => ({
                toolSpec: {
                  name: tool.name,
                  inputSchema: { json: tool.parameters as never },
                  ...(tool.description === undefined ? {} : { description: tool.description }),
                },
              })),
              ...(choice === undefined ? {} : { toolChoice: choice }),
            },
          }),
    };
    return { model, input };
  }

  /**
   * One InvokeModel with a JSON body; the answer's JSON read with `shape`, and the input tokens Bedrock
   * billed (its `X-Amzn-Bedrock-Input-Token-Count` header, which the SDK's output does not carry).
   */
  async #invoke<S extends z.ZodType>(
    model: string,
    body: unknown,
    shape: S,
  ): Promise<{ data: z.output<S>; inputTokens: number | undefined }> {
    const command = new InvokeModelCommand({
      modelId: model,
      contentType: 'application/json',
      accept: 'application/json',
      body: JSON.stringify(body),
    });
    let inputTokens: number | undefined;
    command.middlewareStack.add(
      (next) => async (args) => {
        const result = await next(args);
        const headers = (result.response as { headers?: Record<string, string | undefined> }).headers;
        const count = Number(headers?.['x-amzn-bedrock-input-token-count'] ?? Number.NaN);
        if (Number.isInteger(count) && count >= 0) inputTokens = count;
        return result;
      },
      { step: 'deserialize', name: 'bedrockInputTokenCount' },
    );
    const answer = await this.#call('InvokeModel', model, (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    );
    let json: unknown;
    try {
      json = JSON.parse(answer.body.transformToString());
    } catch {
      throw new UnexpectedResponseError(`Bedrock InvokeModel on ${model} answered a body that is not JSON`);
    }
    const parsed = shape.safeParse(json);
    if (!parsed.success) {
      throw new UnexpectedResponseError(`Bedrock InvokeModel on ${model} answered an unexpected body`);
    }
    return { data: parsed.data, inputTokens };
  }

  async #embedTitan(model: string, texts: string[], dimensions: number | undefined) {
    const embeddings: number[][] = new Array(texts.length);
    let inputTokens = 0;
    let next = 0;
    const worker = async () => {
      while (next < texts.length) {
        const index = next;
        next += 1;
        const body =
          model.includes('titan-embed-text-v2') || dimensions !== undefined
            ? {
                inputText: texts[index],
                normalize: true,
                ...(dimensions === undefined ? {} : { dimensions }),
              }
            : { inputText: texts[index] };
        const { data } = await this.#invoke(model, body, TitanAnswer);
        embeddings[index] = data.embedding;
        inputTokens += data.inputTextTokenCount;
      }
    };
    await Promise.all(Array.from({ length: Math.min(TITAN_CONCURRENCY, texts.length) }, worker));
    return { embeddings, inputTokens };
  }

  async #embedCohere(model: string, texts: string[]) {
    const embeddings: number[][] = [];
    let inputTokens = 0;
    for (let start = 0; start < texts.length; start += COHERE_BATCH) {
      const batch = texts.slice(start, start + COHERE_BATCH);
      const answer = await this.#invoke(
        model,
        { texts: batch, input_type: 'search_document', truncate: 'END' },
        CohereAnswer,
      );
      embeddings.push(...answer.data.embeddings);
      // Cohere's body carries no count: Bedrock's header does; without it, about 4 characters a token.
      inputTokens += answer.inputTokens ?? batch.reduce((sum, text) => sum + Math.ceil(text.length / 4), 0);
    }
    return { embeddings, inputTokens };
  }

  #call<T>(action: string, model: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    return awsCall(
      {
        ...bedrockTarget(action, model),
        timeoutMs: this.#options.timeoutMs,
        retry: { maxAttempts: this.#options.maxAttempts },
      },
      async (abortSignal) => {
        try {
          return await send(abortSignal);
        } catch (error) {
          // Bedrock answers an unknown model id with a 400 ValidationException, not a 404: named here.
          const { name, message } = error as { name?: unknown; message?: unknown };
          if (name === 'ValidationException' && /model identifier is invalid/i.test(String(message))) {
            throw new NotFoundError(
              `model "${model}" was not found: Bedrock says the model identifier is invalid (check the id and the Region)`,
              { details: { model } },
            );
          }
          // The core's table would drop Bedrock's text: kept, naming the field it is about.
          if (name === 'ValidationException' && typeof message === 'string' && message !== '') {
            throw bedrockValidation(action, model, message);
          }
          throw error;
        }
      },
    );
  }
}
