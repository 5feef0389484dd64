/**
 * The contract fake of Anthropic's Messages API (docs.anthropic.com/en/api), on the contract-fake kit:
 * what the Anthropic connector's tests run against, and the local stack's Anthropic sandbox
 * (`npx node scripts/local/sandboxes/anthropic.ts [port]`). Answers come from the deterministic model in
 * `llm-behaviour.ts`, so tests can assert them.
 *
 * What it speaks, under `/v1`:
 * - `POST /messages`: `x-api-key` and `anthropic-version` headers; `model`, `max_tokens` (required),
 *   `system`, `messages` alternating user/assistant with string or block content (`text`, `tool_use`,
 *   `tool_result`), `temperature` 0-1, `stop_sequences`, `tools` (`{ name, description, input_schema }`;
 *   an `input_schema` must be an object schema without top-level `oneOf`/`allOf`/`anyOf`, else 400),
 *   `tool_choice` (`auto`, `any`, `tool` with `name`, `none`); answers a `message` with `content` blocks
 *   (`text`, `tool_use` with `input` as an object), `stop_reason` (`end_turn`, `max_tokens`,
 *   `stop_sequence`, `tool_use`) and `usage` (`input_tokens`, `output_tokens`); with `stream: true` the same
 *   answer as Server-Sent Events (`message_start`, `content_block_start`, `ping`, `content_block_delta`
 *   with `text_delta` or `input_json_delta`, `content_block_stop`, `message_delta`, `message_stop`);
 * - `GET /models/{model}`: a model it knows, else 404 `not_found_error`;
 * - errors as `{ "type": "error", "error": { "type", "message" } }`: 400 `invalid_request_error`, 401
 *   `authentication_error`, 403 `permission_error`, 404 `not_found_error`, 429 `rate_limit_error` with
 *   `retry-after`, 500 `api_error`, 529 `overloaded_error`; `anthropic-ratelimit-requests-*` headers.
 *
 * Seed: the key {@link ANTHROPIC_SANDBOX_TOKEN}; models claude-3-5-haiku-latest (answering as
 * claude-3-5-haiku-20241022), claude-sonnet-4-20250514, claude-opus-4-20250514.
 *
 * @example
 * ```ts
 * const fake = await startAnthropicFake();
 * fake.inject({ kind: 'server-error', status: 529 }, { route: 'create-message' });
 * ```
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type Answer,
  type ErrorDialect,
  type ErrorKind,
  type FakeDefinition,
  type FakeServer,
  json,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';
import {
  type FakeOutcome,
  type FakeTurn,
  gatedFrames,
  generate,
  pieces,
  type StreamGate,
  slices,
} from './llm-behaviour.ts';

/** The key the fake accepts unless a test changes `state.tokens`: a sandbox credential, not a secret. */
export const ANTHROPIC_SANDBOX_TOKEN = 'anthropic-sandbox-token';
/** The API version the fake speaks. */
export const ANTHROPIC_VERSION = '2023-06-01';

/** Model id (or alias) -> the id it answers as. */
const MODELS: Readonly<Record<string, string>> = {
  'claude-3-5-haiku-latest': 'claude-3-5-haiku-20241022',
  'claude-3-5-haiku-20241022': 'claude-3-5-haiku-20241022',
  'claude-sonnet-4-20250514': 'claude-sonnet-4-20250514',
  'claude-opus-4-20250514': 'claude-opus-4-20250514',
};

/**
 * Model id (as answered) -> the most output tokens it generates: a larger `max_tokens` is a 400
 * `invalid_request_error`, as Anthropic answers it ("max_tokens: 32000 > 8192, which is the maximum allowed
 * number of output tokens for claude-3-5-haiku-20241022").
 */
const OUTPUT_LIMITS: Readonly<Record<string, number>> = {
  'claude-3-5-haiku-20241022': 8_192,
  'claude-sonnet-4-20250514': 64_000,
  'claude-opus-4-20250514': 32_000,
};

export interface AnthropicFakeState {
  tokens: Set<string>;
  /** Holds a streamed answer before each frame after the first (tests; see `llm-behaviour.ts`). */
  streamGate?: StreamGate;
  /** Every message request body received, newest last. */
  requests: Record<string, unknown>[];
}

const TYPES: Readonly<Record<ErrorKind, string>> = {
  unauthorized: 'authentication_error',
  forbidden: 'permission_error',
  'not-found': 'not_found_error',
  conflict: 'invalid_request_error',
  throttled: 'rate_limit_error',
  'server-error': 'api_error',
};

function failure(status: number, type: string, message: string): Answer {
  return json(status, { type: 'error', error: { type, message } });
}

/** Anthropic's error bodies; a 529 is `overloaded_error`. */
export const anthropicErrors: ErrorDialect = (kind, { status }) =>
  failure(status, status === 529 ? 'overloaded_error' : TYPES[kind], `${kind} (${status})`);

function invalid(message: string): never {
  return refuse(failure(400, 'invalid_request_error', message));
}

type Body = Record<string, unknown>;

function blocksOf(content: unknown): Body[] {
  if (typeof content === 'string') return [{ type: 'text', text: content }];
  if (!Array.isArray(content)) invalid('messages: content must be a string or an array of blocks');
  return content as Body[];
}

/** One message's blocks as turns: its text, and a tool turn per tool result. */
function readBlocks(message: Body, index: number, names: Map<string, string>, turns: FakeTurn[]): void {
  const texts: string[] = [];
  for (const block of blocksOf(message['content'])) {
    if (block['type'] === 'text') texts.push(String(block['text'] ?? ''));
    else if (block['type'] === 'tool_use') names.set(String(block['id']), String(block['name']));
    else if (block['type'] === 'tool_result') {
      const id = String(block['tool_use_id']);
      if (!names.has(id)) {
        invalid(
          `messages.${index}: tool_result block(s) provided when previous message does not contain tool_use`,
        );
      }
      turns.push({ role: 'tool', text: String(block['content'] ?? ''), toolName: names.get(id) ?? 'call' });
    }
  }
  if (texts.length > 0) turns.push({ role: message['role'] as 'user' | 'assistant', text: texts.join('\n') });
}

function turnsOf(messages: Body[]): FakeTurn[] {
  const names = new Map<string, string>();
  const turns: FakeTurn[] = [];
  messages.forEach((message, index) => {
    if (message['role'] !== (index % 2 === 0 ? 'user' : 'assistant')) {
      invalid(
        `messages: roles must alternate between "user" and "assistant", starting with "user" (at ${index})`,
      );
    }
    readBlocks(message, index, names, turns);
  });
  return turns;
}

function choiceOf(choice: unknown): string | undefined {
  const value = choice as { type?: string; name?: string } | undefined;
  if (value === undefined) return undefined;
  if (value.type === 'tool') return value.name;
  return value.type === 'any' ? 'required' : value.type;
}

function stopReason(outcome: FakeOutcome, stopSequence: string | null): string {
  if (outcome.kind === 'tool') return 'tool_use';
  if (outcome.finish === 'length') return 'max_tokens';
  return stopSequence === null ? 'end_turn' : 'stop_sequence';
}

/** A tool's `input_schema` as Anthropic checks it: an object schema, no oneOf/allOf/anyOf at the top. */
function checkTools(tools: unknown): void {
  if (!Array.isArray(tools)) return;
  tools.forEach((tool: Body, index) => {
    const schema = tool['input_schema'] as Body | undefined;
    const at = `tools.${index}.custom.input_schema`;
    if (typeof schema !== 'object' || schema === null) invalid(`${at}: Field required`);
    if (['oneOf', 'allOf', 'anyOf'].some((key) => key in schema)) {
      invalid(`${at}: input_schema does not support oneOf, allOf, or anyOf at the top level`);
    }
    if (schema['type'] !== 'object') invalid(`${at}.type: Input should be 'object'`);
  });
}

function message(body: Body, state: AnthropicFakeState): Answer {
  const model = body['model'];
  if (typeof model !== 'string') invalid('model: Field required');
  const answeredAs = MODELS[model];
  if (answeredAs === undefined) refuse(failure(404, 'not_found_error', `model: ${model}`));
  const max = body['max_tokens'];
  if (typeof max !== 'number' || max < 1) invalid('max_tokens: Field required');
  const limit = OUTPUT_LIMITS[answeredAs];
  if (limit !== undefined && max > limit) {
    invalid(
      `max_tokens: ${max} > ${limit}, which is the maximum allowed number of output tokens for ${answeredAs}`,
    );
  }
  const temperature = body['temperature'];
  if (temperature !== undefined && (typeof temperature !== 'number' || temperature < 0 || temperature > 1)) {
    invalid('temperature: Input should be less than or equal to 1');
  }
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0)
    invalid('messages: at least one message is required');
  checkTools(body['tools']);
  state.requests.push(body);
  const tools = ((body['tools'] ?? []) as Body[]).map((tool) => ({
    name: String(tool['name']),
    parameters: (tool['input_schema'] ?? {}) as Body,
  }));
  const stop = body['stop_sequences'] as string[] | undefined;
  const choice = choiceOf(body['tool_choice']);
  const outcome = generate({
    turns: turnsOf(messages as Body[]),
    maxTokens: max,
    ...(typeof body['system'] === 'string' ? { system: body['system'] } : {}),
    ...(stop === undefined ? {} : { stop }),
    ...(tools.length === 0 ? {} : { tools }),
    ...(choice === undefined ? {} : { toolChoice: choice }),
  });
  const content =
    outcome.kind === 'tool'
      ? [
          {
            type: 'tool_use',
            id: `toolu_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
            name: outcome.name,
            input: outcome.arguments,
          },
        ]
      : [{ type: 'text', text: outcome.text }];
  const stopSequence = outcome.kind === 'text' ? (outcome.stopSequence ?? null) : null;
  const reason = stopReason(outcome, stopSequence);
  const id = `msg_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
  if (body['stream'] === true) {
    const stopped = { stop_reason: reason, stop_sequence: stopSequence };
    return streamed(
      { id, model: answeredAs, content: content[0] as Body, stopped, outcome },
      state.streamGate,
    );
  }
  return json(200, {
    id,
    type: 'message',
    role: 'assistant',
    model: answeredAs,
    content,
    stop_reason: reason,
    stop_sequence: stopSequence,
    usage: { input_tokens: outcome.inputTokens, output_tokens: outcome.outputTokens },
  });
}

/** One Server-Sent Event as Anthropic sends it: the event name and its data, which repeats it as `type`. */
function sse(type: string, data: Body): string {
  return `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
}

/**
 * A streamed message (`stream: true`), as the reference's streaming events: `message_start` (the message
 * with empty content and the input usage), `content_block_start`, a `ping`, `content_block_delta`s
 * (`text_delta` pieces, or `input_json_delta` slices of a tool call's input), `content_block_stop`,
 * `message_delta` (stop reason and the output usage) and `message_stop`.
 */
function streamed(
  answer: { id: string; model: string; content: Body; stopped: Body; outcome: FakeOutcome },
  gate?: StreamGate,
): Answer {
  const { id, model, content, stopped, outcome } = answer;
  const tool = content['type'] === 'tool_use';
  const frames = [
    sse('message_start', {
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { input_tokens: outcome.inputTokens, output_tokens: 1 },
      },
    }),
    sse('content_block_start', {
      index: 0,
      content_block: tool ? { ...content, input: {} } : { type: 'text', text: '' },
    }),
    sse('ping', {}),
    ...(tool
      ? slices(JSON.stringify(content['input'])).map((part) =>
          sse('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: part } }),
        )
      : pieces(String(content['text'])).map((part) =>
          sse('content_block_delta', { index: 0, delta: { type: 'text_delta', text: part } }),
        )),
    sse('content_block_stop', { index: 0 }),
    sse('message_delta', { delta: stopped, usage: { output_tokens: outcome.outputTokens } }),
    sse('message_stop', {}),
  ];
  return { status: 200, contentType: 'text/event-stream; charset=utf-8', chunks: gatedFrames(frames, gate) };
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(anthropicFake());
 * ```
 */
export function anthropicFake(): FakeDefinition<AnthropicFakeState> {
  return {
    name: 'Anthropic',
    seed: () => ({ tokens: new Set([ANTHROPIC_SANDBOX_TOKEN]), requests: [] }),
    errors: anthropicErrors,
    token: (request) => request.headers['x-api-key'],
    authorize: ({ request, state }) => (state.tokens.has(request.token ?? '') ? undefined : 'unauthorized'),
    before: ({ request }) =>
      request.headers['anthropic-version'] === undefined
        ? failure(400, 'invalid_request_error', 'anthropic-version: header is required')
        : undefined,
    headers: () => ({
      'anthropic-ratelimit-requests-limit': '4000',
      'anthropic-ratelimit-requests-remaining': '3999',
      'anthropic-ratelimit-requests-reset': new Date(Date.now() + 60_000).toISOString(),
      'request-id': `req_${randomUUID().replaceAll('-', '')}`,
    }),
    secretHeaders: ['x-api-key'],
    routes: [
      {
        name: 'create-message',
        method: 'POST',
        path: '/v1/messages',
        handle: ({ request, state }) => message((request.body ?? {}) as Body, state),
      },
      {
        name: 'get-model',
        method: 'GET',
        path: '/v1/models/:model',
        handle: ({ request }) => {
          const model = decodeURIComponent(request.params['model'] ?? '');
          const id = MODELS[model];
          if (id === undefined) refuse(failure(404, 'not_found_error', `model: ${model}`));
          return json(200, { type: 'model', id, display_name: id, created_at: '2025-05-22T00:00:00Z' });
        },
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startAnthropicFake();
 * ```
 */
export function startAnthropicFake(options?: StartOptions): Promise<FakeServer<AnthropicFakeState>> {
  return startFake(anthropicFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/anthropic.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startAnthropicFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`Anthropic sandbox: ANTHROPIC_API_URL=${fake.url}/v1 (key ${ANTHROPIC_SANDBOX_TOKEN})`);
}
