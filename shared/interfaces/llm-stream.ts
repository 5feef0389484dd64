/**
 * Streamed chat, the same for every model provider: each provider streams in its own frames (OpenAI's chat
 * completion chunks ending in `data: [DONE]`, Anthropic's `message_start` ... `message_stop` events, Bedrock
 * ConverseStream's event stream messages as the AWS SDK decodes them); these
 * read them into one frame shape, which the core's `streamingHandler` sends to an HTTP caller as
 * Server-Sent Events (`event: <type>`):
 * - `delta` `{ text }`: the next piece of the answer text;
 * - `tool-call` `{ index, id?, name?, argumentsDelta }`: the next piece of tool call `index` (its id and name
 *   on the first piece; the arguments' JSON text across the pieces);
 * - `done` `{ model, finishReason, usage, cost }`: the last frame, with the tokens used and the estimated
 *   cost from the connector's price table;
 * - the kit adds `error` when the stream fails after it started.
 * A provider stream that ends without its closing frame is an {@link UnexpectedResponseError}.
 */
import {
  RateLimitedError,
  type StreamEvent,
  type StreamOperation,
  UnavailableError,
  UnexpectedResponseError,
} from '@circle-core/core';
import * as z from 'zod';
import {
  CallCost,
  CompleteChatInput,
  type FinishReason,
  FinishReason as FinishReasonSchema,
  type PriceTable,
  TokenUsage,
} from '../models/llm.ts';
import { type LlmServices, tokenMeasures } from './llm-budget.ts';
import { estimateCost, tokenUsage } from './llm-cost.ts';

/** One frame of a streamed chat, provider-neutral (the `data` of the SSE frame named by `type`). */
export const ChatStreamFrame = z
  .discriminatedUnion('type', [
    z.object({ type: z.literal('delta'), text: z.string().describe('The next piece of the answer text') }),
    z.object({
      type: z.literal('tool-call'),
      index: z.int().min(0).describe('Which tool call of the answer this piece belongs to'),
      id: z.string().optional().describe("The call's id, on its first piece"),
      name: z.string().optional().describe("The tool's name, on its first piece"),
      argumentsDelta: z.string().describe("The next piece of the arguments' JSON text"),
    }),
    z.object({
      type: z.literal('done'),
      model: z.string().describe('The model that answered'),
      finishReason: FinishReasonSchema,
      usage: TokenUsage,
      cost: CallCost,
    }),
  ])
  .describe('A frame of a streamed chat answer');
export type ChatStreamFrame = z.output<typeof ChatStreamFrame>;

/** One Server-Sent Event as received: its event name (`message` when unnamed) and its data text. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Reads Server-Sent Events from a byte stream (a fetch body) as they arrive: frames end at a blank line,
 * `data:` lines of one frame are joined with a newline, comments (`:`) are skipped.
 *
 * @example
 * ```ts
 * for await (const { event, data } of readSse(response.body)) console.log(event, data);
 * ```
 */
export async function* readSse(body: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffered = '';
  const parse = (block: string): SseEvent | undefined => {
    let event = 'message';
    const data: string[] = [];
    for (const line of block.split(/\r?\n/)) {
      if (line.startsWith(':') || line === '') continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'data') data.push(value);
    }
    return data.length === 0 ? undefined : { event, data: data.join('\n') };
  };
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true });
    for (let match = /\r?\n\r?\n/.exec(buffered); match !== null; match = /\r?\n\r?\n/.exec(buffered)) {
      const block = buffered.slice(0, match.index);
      buffered = buffered.slice(match.index + match[0].length);
      const event = parse(block);
      if (event !== undefined) yield event;
    }
  }
  const last = parse(buffered);
  if (last !== undefined) yield last;
}

function json(data: string, provider: string): Record<string, unknown> {
  try {
    return JSON.parse(data) as Record<string, unknown>;
  } catch {
    throw new UnexpectedResponseError(`${provider} sent a stream frame that is not JSON`);
  }
}

const OPENAI_FINISH: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  function_call: 'tool-calls',
  content_filter: 'content-filter',
};

interface OpenaiChunk {
  model?: string;
  choices?: {
    delta?: {
      content?: string | null;
      tool_calls?: { index?: number; id?: string; function?: { name?: string; arguments?: string } }[];
    };
    finish_reason?: string | null;
  }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
}

/**
 * OpenAI's streamed chat completion (request it with `stream: true` and `stream_options: { include_usage:
 * true }`, so the last chunk carries the usage) as {@link ChatStreamFrame}s.
 *
 * @example
 * ```ts
 * yield* openaiChatStream(readSse(response.body), PRICES);
 * ```
 */
export async function* openaiChatStream(
  events: AsyncIterable<SseEvent>,
  prices: PriceTable,
): AsyncGenerator<ChatStreamFrame> {
  let model = '';
  let finish: FinishReason | undefined;
  let usage: OpenaiChunk['usage'];
  for await (const { data } of events) {
    if (data === '[DONE]') {
      if (finish === undefined) {
        throw new UnexpectedResponseError('OpenAI ended the stream without a finish reason');
      }
      const tokens = tokenUsage(usage?.prompt_tokens ?? 0, usage?.completion_tokens ?? 0);
      const cost = estimateCost(prices, model, tokens);
      yield { type: 'done', model, finishReason: finish, usage: tokens, cost };
      return;
    }
    const chunk = json(data, 'OpenAI') as OpenaiChunk;
    model = chunk.model ?? model;
    usage = chunk.usage ?? usage;
    for (const choice of chunk.choices ?? []) {
      yield* openaiChoiceFrames(choice);
      if (typeof choice.finish_reason === 'string') finish = OPENAI_FINISH[choice.finish_reason] ?? 'other';
    }
  }
  throw new UnexpectedResponseError('OpenAI ended the stream without data: [DONE]');
}

/** The frames of one choice of a chunk: its content piece and its tool call pieces. */
function openaiChoiceFrames(choice: NonNullable<OpenaiChunk['choices']>[number]): ChatStreamFrame[] {
  const frames: ChatStreamFrame[] = [];
  const content = choice.delta?.content;
  if (typeof content === 'string' && content !== '') frames.push({ type: 'delta', text: content });
  for (const call of choice.delta?.tool_calls ?? []) {
    frames.push({
      type: 'tool-call',
      index: call.index ?? 0,
      ...(call.id === undefined ? {} : { id: call.id }),
      ...(call.function?.name === undefined ? {} : { name: call.function.name }),
      argumentsDelta: call.function?.arguments ?? '',
    });
  }
  return frames;
}

function anthropicStreamError(error: unknown): Error {
  const type = String((error as { type?: unknown } | undefined)?.type ?? 'error').slice(0, 64);
  const message = `Anthropic failed the stream (${type})`;
  if (type === 'overloaded_error' || type === 'api_error') return new UnavailableError(message);
  if (type === 'rate_limit_error') return new RateLimitedError(message);
  return new UnexpectedResponseError(message);
}

const ANTHROPIC_FINISH: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool-calls',
  refusal: 'content-filter',
};

/**
 * Anthropic's streamed message (`stream: true`) as {@link ChatStreamFrame}s: text deltas, tool_use blocks
 * numbered in the order they start, the usage from `message_start` (input) and `message_delta` (output).
 * An `error` event mid-stream is the taxonomy's error for its type: `overloaded_error` and `api_error` an
 * {@link UnavailableError}, `rate_limit_error` a {@link RateLimitedError}, others an
 * {@link UnexpectedResponseError}; the message names the type, never the provider's text.
 *
 * @example
 * ```ts
 * yield* anthropicChatStream(readSse(response.body), PRICES);
 * ```
 */
export async function* anthropicChatStream(
  events: AsyncIterable<SseEvent>,
  prices: PriceTable,
): AsyncGenerator<ChatStreamFrame> {
  const reader = new AnthropicStreamReader(prices);
  for await (const { data } of events) {
    const frames = reader.read(json(data, 'Anthropic'));
    yield* frames;
    if (frames.at(-1)?.type === 'done') return;
  }
  throw new UnexpectedResponseError('Anthropic ended the stream without message_stop');
}

/** The state of one Anthropic stream: the model, the usage so far, the tool blocks seen. */
class AnthropicStreamReader {
  readonly #prices: PriceTable;
  #model = '';
  #inputTokens = 0;
  #outputTokens = 0;
  #finish: FinishReason = 'other';
  /** Content block index -> tool call index. */
  readonly #tools = new Map<number, number>();

  constructor(prices: PriceTable) {
    this.#prices = prices;
  }

  /** The frames one event gives. */
  read(event: Record<string, unknown>): ChatStreamFrame[] {
    switch (event['type']) {
      case 'message_start': {
        const message = (event['message'] ?? {}) as { model?: string; usage?: { input_tokens?: number } };
        this.#model = message.model ?? this.#model;
        this.#inputTokens = message.usage?.input_tokens ?? 0;
        return [];
      }
      case 'content_block_start':
        return this.#blockStart(Number(event['index']), event['content_block']);
      case 'content_block_delta':
        return this.#blockDelta(Number(event['index']), event['delta']);
      case 'message_delta': {
        const delta = (event['delta'] ?? {}) as { stop_reason?: string | null };
        this.#finish = ANTHROPIC_FINISH[delta.stop_reason ?? ''] ?? 'other';
        const usage = (event['usage'] ?? {}) as { output_tokens?: number };
        this.#outputTokens = usage.output_tokens ?? this.#outputTokens;
        return [];
      }
      case 'message_stop': {
        const usage = tokenUsage(this.#inputTokens, this.#outputTokens);
        const cost = estimateCost(this.#prices, this.#model, usage);
        return [{ type: 'done', model: this.#model, finishReason: this.#finish, usage, cost }];
      }
      case 'error':
        throw anthropicStreamError(event['error']);
      default:
        return [];
    }
  }

  #blockStart(block: number, content: unknown): ChatStreamFrame[] {
    const start = (content ?? {}) as { type?: string; id?: string; name?: string };
    if (start.type !== 'tool_use') return [];
    const index = this.#tools.size;
    this.#tools.set(block, index);
    return [{ type: 'tool-call', index, id: start.id ?? '', name: start.name ?? '', argumentsDelta: '' }];
  }

  #blockDelta(block: number, value: unknown): ChatStreamFrame[] {
    const delta = (value ?? {}) as { type?: string; text?: string; partial_json?: string };
    if (delta.type === 'text_delta' && delta.text) return [{ type: 'delta', text: delta.text }];
    if (delta.type !== 'input_json_delta') return [];
    const index = this.#tools.get(block) ?? 0;
    return [{ type: 'tool-call', index, argumentsDelta: delta.partial_json ?? '' }];
  }
}

const BEDROCK_FINISH: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  max_tokens: 'length',
  tool_use: 'tool-calls',
  content_filtered: 'content-filter',
  guardrail_intervened: 'content-filter',
};

/** One event of Bedrock's ConverseStream as the AWS SDK hands it over (one key set per event). */
export interface BedrockStreamEvent {
  messageStart?: { role?: string };
  contentBlockStart?: {
    contentBlockIndex?: number;
    start?: { toolUse?: { toolUseId?: string; name?: string } };
  };
  contentBlockDelta?: { contentBlockIndex?: number; delta?: { text?: string; toolUse?: { input?: string } } };
  contentBlockStop?: { contentBlockIndex?: number };
  messageStop?: { stopReason?: string };
  metadata?: { usage?: { inputTokens?: number; outputTokens?: number } };
  throttlingException?: { message?: string };
  serviceUnavailableException?: { message?: string };
  internalServerException?: { message?: string };
  modelStreamErrorException?: { message?: string };
  validationException?: { message?: string };
}

function bedrockStreamError(event: BedrockStreamEvent): Error | undefined {
  if (event.throttlingException) return new RateLimitedError('Bedrock throttled the stream');
  if (event.serviceUnavailableException || event.internalServerException || event.modelStreamErrorException) {
    return new UnavailableError('Bedrock failed the stream');
  }
  if (event.validationException) return new UnexpectedResponseError('Bedrock refused the stream');
  return undefined;
}

/**
 * Bedrock's ConverseStream (the AWS SDK's `ConverseStreamCommand` output `stream`) as
 * {@link ChatStreamFrame}s: text deltas, tool calls numbered in the order their blocks start, the stop
 * reason from `messageStop` and the usage from `metadata`, which comes last. The stream names no model:
 * `model` is the id the call asked for.
 *
 * @example
 * ```ts
 * const { stream } = await bedrock.send(new ConverseStreamCommand({ modelId, messages }));
 * yield* bedrockChatStream(stream ?? [], PRICES, modelId);
 * ```
 */
export async function* bedrockChatStream(
  events: AsyncIterable<BedrockStreamEvent>,
  prices: PriceTable,
  model: string,
): AsyncGenerator<ChatStreamFrame> {
  let finish: FinishReason | undefined;
  const tools = new Map<number, number>();
  for await (const event of events) {
    const error = bedrockStreamError(event);
    if (error !== undefined) throw error;
    yield* bedrockContentFrames(event, tools);
    if (event.messageStop !== undefined)
      finish = BEDROCK_FINISH[event.messageStop.stopReason ?? ''] ?? 'other';
    if (event.metadata !== undefined) {
      if (finish === undefined)
        throw new UnexpectedResponseError('Bedrock sent the usage before messageStop');
      const usage = tokenUsage(
        event.metadata.usage?.inputTokens ?? 0,
        event.metadata.usage?.outputTokens ?? 0,
      );
      yield { type: 'done', model, finishReason: finish, usage, cost: estimateCost(prices, model, usage) };
      return;
    }
  }
  throw new UnexpectedResponseError('Bedrock ended the stream without its metadata event');
}

/** The text and tool-call frames of one event; `tools` maps content blocks to tool call indexes. */
function bedrockContentFrames(event: BedrockStreamEvent, tools: Map<number, number>): ChatStreamFrame[] {
  const frames: ChatStreamFrame[] = [];
  const start = event.contentBlockStart?.start?.toolUse;
  if (start !== undefined) {
    const index = tools.size;
    tools.set(event.contentBlockStart?.contentBlockIndex ?? 0, index);
    frames.push({
      type: 'tool-call',
      index,
      id: start.toolUseId ?? '',
      name: start.name ?? '',
      argumentsDelta: '',
    });
  }
  const delta = event.contentBlockDelta?.delta;
  if (delta?.text) frames.push({ type: 'delta', text: delta.text });
  if (delta?.toolUse !== undefined) {
    const index = tools.get(event.contentBlockDelta?.contentBlockIndex ?? 0) ?? 0;
    frames.push({ type: 'tool-call', index, argumentsDelta: delta.toolUse.input ?? '' });
  }
  return frames;
}

/** A model that streams complete-chat ({@link ChatStreamFrame}s); the OpenAI and Anthropic clients. */
export interface StreamingChatModel {
  streamChat(input: CompleteChatInput, signal?: AbortSignal): AsyncIterable<ChatStreamFrame>;
}

/** A frame as the core's streaming handler sends it: `event: <type>`, the rest as its data. */
export function chatStreamEvent(frame: ChatStreamFrame): StreamEvent {
  const { type, ...data } = frame;
  return { event: type, data };
}

/**
 * The `chat-stream` operation for the core's `streamingHandler`: complete-chat's input, the answer as
 * `delta` / `tool-call` frames and a closing `done` frame (usage, cost). `model` gives the connector's
 * client (built once, with its secrets); the handler's signal ends the provider stream. With `services`
 * (the connector's, from `llmServices`) the stream is held to the daily token budget as complete-chat is:
 * refused with a 429 before the stream starts once today's tokens are spent, its tokens (from the `done`
 * frame) added before that frame is sent; the tokens and estimated cost are the stream's measures (EMF and
 * the invocation line), as complete-chat's `tokenMeasures`.
 *
 * @example
 * ```ts
 * export const streamOperations = chatStreamOperations(
 *   () => connector.runtime.client(),
 *   async () => (await connector.runtime.built()).services,
 * );
 * ```
 */
export function chatStreamOperations(
  model: () => Promise<StreamingChatModel> | StreamingChatModel,
  services: () => Promise<LlmServices> | LlmServices = () => ({}),
): Record<'chat-stream', StreamOperation<typeof CompleteChatInput>> {
  return {
    'chat-stream': {
      input: CompleteChatInput,
      async admit() {
        await (await services()).tokenBudget?.ensureRoom();
      },
      async *run(input, { signal, measure }) {
        const [client, { tokenBudget }] = await Promise.all([model(), services()]);
        for await (const frame of client.streamChat(input, signal)) {
          if (frame.type === 'done') {
            measure(tokenMeasures(frame));
            await tokenBudget?.spend(frame.usage.totalTokens);
          }
          yield chatStreamEvent(frame);
        }
      },
    },
  };
}
