/**
 * The contract fake of OpenAI's API (platform.openai.com/docs/api-reference), on the contract-fake kit:
 * what the OpenAI connector's tests run against, and the local stack's OpenAI sandbox
 * (`npx node scripts/local/sandboxes/openai.ts [port]`). Answers come from the deterministic model in
 * `llm-behaviour.ts`, so tests can assert them.
 *
 * What it speaks, under `/v1`:
 * - `POST /chat/completions`: `model`, `messages` (system/developer, user, assistant with `tool_calls`,
 *   tool with `tool_call_id`), `temperature` 0-2, `max_completion_tokens` (or the deprecated `max_tokens`),
 *   `stop` (a string or up to 4), `tools` (`{ type: 'function', function: { name, description,
 *   parameters } }`), `tool_choice` (`none`/`auto`/`required`/`{ type: 'function', function: { name } }`),
 *   `response_format` `{ type: 'json_schema', json_schema: { name, schema, strict } }`; answers a
 *   `chat.completion` with `choices[0].message` (`content`, `tool_calls` with JSON-string `arguments`),
 *   `finish_reason` (`stop`, `length`, `tool_calls`) and `usage` (`prompt_tokens`, `completion_tokens`,
 *   `total_tokens`); with `stream: true` the same answer as Server-Sent Events: `data: {chat.completion.chunk}`
 *   frames (role, content pieces or the tool call's id/name then argument slices, `finish_reason`; a
 *   `usage` chunk with empty `choices` when `stream_options.include_usage`), then `data: [DONE]`;
 * - `POST /embeddings`: `input` (a string or an array of up to 2048), `model`, `dimensions` (text-embedding-3
 *   models only); answers `{ object: 'list', data: [{ object: 'embedding', index, embedding }], model, usage }`;
 * - `GET /models`, `GET /models/{model}`: the models it knows; an unknown model is a 404 `model_not_found`;
 * - `Authorization: Bearer <key>` on every call, else 401 `invalid_api_key`;
 * - errors as `{ "error": { "message", "type", "param", "code" } }`; `x-ratelimit-*-requests` headers on
 *   every answer; faults (`fake.inject`) add 429 `rate_limit_exceeded` with `retry-after`, 5xx, ...
 *
 * Seed: the key {@link OPENAI_SANDBOX_TOKEN}; models gpt-4o, gpt-4o-mini, gpt-4.1-mini, text-embedding-3-small,
 * text-embedding-3-large, text-embedding-ada-002.
 *
 * @example
 * ```ts
 * const fake = await startOpenaiFake();
 * process.env['OPENAI_API_URL'] = `${fake.url}/v1`;
 * fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'create-chat-completion' });
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
  countTokens,
  embed,
  type FakeOutcome,
  type FakeTurn,
  gatedFrames,
  generate,
  pieces,
  type StreamGate,
  slices,
} from './llm-behaviour.ts';

/** The key the fake accepts unless a test changes `state.tokens`: a sandbox credential, not a secret. */
export const OPENAI_SANDBOX_TOKEN = 'openai-sandbox-token';

/** Model id -> the default embedding length (0: a chat model). */
const MODELS: Readonly<Record<string, number>> = {
  'gpt-4o': 0,
  'gpt-4o-mini': 0,
  'gpt-4.1-mini': 0,
  'text-embedding-3-small': 1536,
  'text-embedding-3-large': 3072,
  'text-embedding-ada-002': 1536,
};

/**
 * Chat model id -> the most completion tokens it generates: a larger `max_completion_tokens` (or
 * `max_tokens`) is refused with a 400 on that param, as OpenAI does ("max_tokens is too large: 32000. This
 * model supports at most 16384 completion tokens, whereas you provided 32000.").
 */
const OUTPUT_LIMITS: Readonly<Record<string, number>> = {
  'gpt-4o': 16_384,
  'gpt-4o-mini': 16_384,
  'gpt-4.1-mini': 32_768,
};

export interface OpenaiFakeState {
  tokens: Set<string>;
  /** Holds a streamed answer before each frame after the first (tests; see `llm-behaviour.ts`). */
  streamGate?: StreamGate;
  /** Every chat request body received, newest last (tests read what was sent). */
  chats: Record<string, unknown>[];
}

const TYPES: Readonly<Record<ErrorKind, [string, string | null, string]>> = {
  unauthorized: ['invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.'],
  forbidden: [
    'invalid_request_error',
    'unsupported_country_region_territory',
    'Country, region, or territory not supported',
  ],
  'not-found': [
    'invalid_request_error',
    'model_not_found',
    'The model does not exist or you do not have access to it.',
  ],
  conflict: ['invalid_request_error', null, 'Conflict.'],
  throttled: ['requests', 'rate_limit_exceeded', 'Rate limit reached for requests.'],
  'server-error': ['server_error', null, 'The server had an error while processing your request.'],
};

function failure(
  status: number,
  type: string,
  code: string | null,
  message: string,
  param: string | null = null,
): Answer {
  return json(status, { error: { message, type, param, code } });
}

/** OpenAI's error bodies. */
export const openaiErrors: ErrorDialect = (kind, { status }) => {
  const [type, code, message] = TYPES[kind];
  return failure(status, type, code, message);
};

function invalid(param: string, message: string): never {
  return refuse(failure(400, 'invalid_request_error', null, message, param));
}

function knownModel(model: unknown, embeddings: boolean): string {
  if (typeof model !== 'string' || model === '') invalid('model', 'you must provide a model parameter');
  if (!(model in MODELS)) {
    refuse(
      failure(
        404,
        'invalid_request_error',
        'model_not_found',
        `The model \`${model}\` does not exist or you do not have access to it.`,
      ),
    );
  }
  if ((MODELS[model] !== 0) !== embeddings) invalid('model', `${model} does not support this endpoint`);
  return model;
}

type Body = Record<string, unknown>;

function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map((part) => String((part as Body)['text'] ?? '')).join('');
  return '';
}

/** Remembers the tool calls of an assistant message, so a later tool result can name its tool. */
function rememberCalls(message: Body, names: Map<string, string>): void {
  for (const call of (message['tool_calls'] ?? []) as Body[]) {
    names.set(String(call['id']), String((call['function'] as Body | undefined)?.['name']));
  }
}

function toolTurn(message: Body, names: Map<string, string>): FakeTurn {
  const id = message['tool_call_id'];
  if (typeof id !== 'string' || !names.has(id)) {
    invalid('messages', 'tool_call_id answers no tool call of an earlier assistant message');
  }
  return { role: 'tool', text: contentText(message['content']), toolName: names.get(id) ?? 'call' };
}

function turnsOf(messages: Body[]): { turns: FakeTurn[]; system?: string } {
  const names = new Map<string, string>();
  const turns: FakeTurn[] = [];
  let system: string | undefined;
  for (const message of messages) {
    const role = message['role'];
    if (role === 'system' || role === 'developer') system = contentText(message['content']);
    else if (role === 'user') turns.push({ role: 'user', text: contentText(message['content']) });
    else if (role === 'assistant') {
      rememberCalls(message, names);
      turns.push({ role: 'assistant', text: contentText(message['content']) });
    } else if (role === 'tool') turns.push(toolTurn(message, names));
    else invalid('messages', `invalid role: ${String(role)}`);
  }
  return system === undefined ? { turns } : { turns, system };
}

function checkTemperature(temperature: unknown): void {
  if (temperature !== undefined && (typeof temperature !== 'number' || temperature < 0 || temperature > 2)) {
    invalid('temperature', 'temperature must be between 0 and 2');
  }
}

function checkMaxTokens(model: string, body: Body): void {
  const param = body['max_completion_tokens'] === undefined ? 'max_tokens' : 'max_completion_tokens';
  const max = body[param];
  const limit = OUTPUT_LIMITS[model];
  if (typeof max === 'number' && limit !== undefined && max > limit) {
    invalid(
      param,
      `${param} is too large: ${max}. This model supports at most ${limit} completion tokens, whereas you provided ${max}.`,
    );
  }
}

function completion(body: Body, state: OpenaiFakeState): Answer {
  const model = knownModel(body['model'], false);
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0)
    invalid('messages', "'messages' must be a non-empty array");
  checkTemperature(body['temperature']);
  checkMaxTokens(model, body);
  state.chats.push(body);
  const stop = typeof body['stop'] === 'string' ? [body['stop']] : (body['stop'] as string[] | undefined);
  if (stop !== undefined && stop.length > 4) invalid('stop', 'stop may hold at most 4 sequences');
  const tools = ((body['tools'] ?? []) as Body[]).map(
    (tool) => tool['function'] as { name: string; parameters: Body },
  );
  const choice = body['tool_choice'];
  const format = body['response_format'] as { type?: string; json_schema?: { schema?: Body } } | undefined;
  const max = (body['max_completion_tokens'] ?? body['max_tokens']) as number | undefined;
  const outcome = generate({
    ...turnsOf(messages as Body[]),
    ...(max === undefined ? {} : { maxTokens: max }),
    ...(stop === undefined ? {} : { stop }),
    ...(tools.length === 0 ? {} : { tools }),
    ...(choice === undefined
      ? {}
      : {
          toolChoice:
            typeof choice === 'string' ? choice : String((choice as { function: Body }).function['name']),
        }),
    ...(format?.type === 'json_schema' && format.json_schema?.schema !== undefined
      ? { schema: format.json_schema.schema }
      : {}),
  });
  if (body['stream'] === true) {
    const options = body['stream_options'] as { include_usage?: unknown } | undefined;
    return streamed(`${model}-2024-07-18`, outcome, options?.include_usage === true, state.streamGate);
  }
  const message =
    outcome.kind === 'tool'
      ? {
          role: 'assistant',
          content: null,
          refusal: null,
          tool_calls: [
            {
              id: `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
              type: 'function',
              function: { name: outcome.name, arguments: JSON.stringify(outcome.arguments) },
            },
          ],
        }
      : { role: 'assistant', content: outcome.text, refusal: null };
  return json(200, {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: `${model}-2024-07-18`,
    choices: [
      {
        index: 0,
        message,
        logprobs: null,
        finish_reason: outcome.kind === 'tool' ? 'tool_calls' : outcome.finish,
      },
    ],
    usage: {
      prompt_tokens: outcome.inputTokens,
      completion_tokens: outcome.outputTokens,
      total_tokens: outcome.inputTokens + outcome.outputTokens,
    },
  });
}

/**
 * A streamed chat completion (`stream: true`), as the reference's chat completion chunk object: Server-Sent
 * Events `data: {chunk}` lines, the first delta with the role, then the content (or the tool call: id and
 * name first, then its arguments in slices), a last chunk with `finish_reason`, with `stream_options:
 * { include_usage: true }` a chunk with empty `choices` and the `usage`, and `data: [DONE]`.
 */
function streamed(model: string, outcome: FakeOutcome, includeUsage: boolean, gate?: StreamGate): Answer {
  const base = {
    id: `chatcmpl-${randomUUID()}`,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model,
    system_fingerprint: null,
  };
  const chunk = (delta: Body, finish: string | null = null): string =>
    `data: ${JSON.stringify({
      ...base,
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      ...(includeUsage ? { usage: null } : {}),
    })}\n\n`;
  const frames: string[] = [];
  if (outcome.kind === 'tool') {
    const id = `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
    frames.push(
      chunk({
        role: 'assistant',
        content: null,
        tool_calls: [{ index: 0, id, type: 'function', function: { name: outcome.name, arguments: '' } }],
      }),
    );
    for (const part of slices(JSON.stringify(outcome.arguments))) {
      frames.push(chunk({ tool_calls: [{ index: 0, function: { arguments: part } }] }));
    }
    frames.push(chunk({}, 'tool_calls'));
  } else {
    frames.push(chunk({ role: 'assistant', content: '', refusal: null }));
    for (const part of pieces(outcome.text)) frames.push(chunk({ content: part }));
    frames.push(chunk({}, outcome.finish));
  }
  if (includeUsage) {
    const usage = {
      prompt_tokens: outcome.inputTokens,
      completion_tokens: outcome.outputTokens,
      total_tokens: outcome.inputTokens + outcome.outputTokens,
    };
    frames.push(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
  }
  frames.push('data: [DONE]\n\n');
  return {
    status: 200,
    contentType: 'text/event-stream; charset=utf-8',
    chunks: gatedFrames(frames, gate),
  };
}

function embeddings(body: Body): Answer {
  const model = knownModel(body['model'], true);
  const input = typeof body['input'] === 'string' ? [body['input']] : body['input'];
  if (
    !Array.isArray(input) ||
    input.length === 0 ||
    input.length > 2048 ||
    input.some((text) => typeof text !== 'string' || text === '')
  ) {
    invalid('input', "'input' must be a non-empty string or an array of 1 to 2048 non-empty strings");
  }
  const dimensions = body['dimensions'];
  if (
    dimensions !== undefined &&
    (model === 'text-embedding-ada-002' ||
      typeof dimensions !== 'number' ||
      dimensions < 1 ||
      dimensions > (MODELS[model] ?? 0))
  ) {
    invalid('dimensions', `This model does not support specifying dimensions of ${String(dimensions)}.`);
  }
  const length = (dimensions as number | undefined) ?? MODELS[model] ?? 1536;
  const tokens = (input as string[]).reduce((sum, text) => sum + countTokens(text), 0);
  return json(200, {
    object: 'list',
    data: (input as string[]).map((text, index) => ({
      object: 'embedding',
      index,
      embedding: embed(text, length),
    })),
    model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
  });
}

const describeModel = (id: string) => ({ id, object: 'model', created: 1_715_367_049, owned_by: 'system' });

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(openaiFake());
 * ```
 */
export function openaiFake(): FakeDefinition<OpenaiFakeState> {
  return {
    name: 'OpenAI',
    seed: () => ({ tokens: new Set([OPENAI_SANDBOX_TOKEN]), chats: [] }),
    errors: openaiErrors,
    authorize: ({ request, state }) => (state.tokens.has(request.token ?? '') ? undefined : 'unauthorized'),
    headers: () => ({
      'x-ratelimit-limit-requests': '10000',
      'x-ratelimit-remaining-requests': '9999',
      'x-ratelimit-reset-requests': '6ms',
      'openai-processing-ms': '1',
      'x-request-id': `req_${randomUUID().replaceAll('-', '')}`,
    }),
    unrouted: (request) =>
      failure(404, 'invalid_request_error', null, `Invalid URL (${request.method} ${request.path})`),
    routes: [
      {
        name: 'create-chat-completion',
        method: 'POST',
        path: '/v1/chat/completions',
        handle: ({ request, state }) => completion((request.body ?? {}) as Body, state),
      },
      {
        name: 'create-embeddings',
        method: 'POST',
        path: '/v1/embeddings',
        handle: ({ request }) => embeddings((request.body ?? {}) as Body),
      },
      {
        name: 'list-models',
        method: 'GET',
        path: '/v1/models',
        handle: () => json(200, { object: 'list', data: Object.keys(MODELS).map(describeModel) }),
      },
      {
        name: 'get-model',
        method: 'GET',
        path: '/v1/models/:model',
        handle: ({ request }) => {
          const model = decodeURIComponent(request.params['model'] ?? '');
          if (!(model in MODELS))
            refuse(
              failure(
                404,
                'invalid_request_error',
                'model_not_found',
                `The model \`${model}\` does not exist or you do not have access to it.`,
              ),
            );
          return json(200, describeModel(model));
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
 * const fake = await startOpenaiFake();
 * ```
 */
export function startOpenaiFake(options?: StartOptions): Promise<FakeServer<OpenaiFakeState>> {
  return startFake(openaiFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/openai.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startOpenaiFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`OpenAI sandbox: OPENAI_API_URL=${fake.url}/v1 (key ${OPENAI_SANDBOX_TOKEN})`);
}
