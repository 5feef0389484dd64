/**
 * The contract fake of Amazon Bedrock Runtime (the Bedrock API Reference: Converse, InvokeModel; the model
 * parameters of Titan Text Embeddings and Cohere Embed), on the contract-fake kit: what the Bedrock
 * connector's tests run against, and the local stack's Bedrock sandbox (`BEDROCK_ENDPOINT_URL`;
 * `npx node scripts/local/sandboxes/bedrock.ts [port]`). Answers come from the deterministic model in
 * `llm-behaviour.ts`, so tests can assert them.
 *
 * What it speaks (REST-JSON, SigV4-signed with the signing name `bedrock`):
 * - `POST /model/{modelId}/converse`: `messages` alternating user/assistant and starting with user, each
 *   with `content` blocks (`text`, `toolUse` `{ toolUseId, name, input }`, `toolResult` `{ toolUseId,
 *   content: [{ text } | { json }] }`), `system` `[{ text }]`, `inferenceConfig` (`maxTokens`,
 *   at most the model's output limit, `temperature` 0-1, `topP` 0-1, `stopSequences` up to 4: refused in
 *   Bedrock's wording, see `inferenceOf`), `toolConfig` (`tools: [{ toolSpec: { name,
 *   description, inputSchema: { json } } }]`, `toolChoice` `{ auto }`, `{ any }` or `{ tool: { name } }`;
 *   required when the messages hold toolUse or toolResult blocks, else a ValidationException);
 *   answers `{ output: { message }, stopReason, usage: { inputTokens, outputTokens, totalTokens },
 *   metrics: { latencyMs } }`;
 * - `POST /model/{modelId}/converse-stream`: the same request; the same answer in the AWS event stream
 *   encoding (`application/vnd.amazon.eventstream`: binary messages with a CRC32-checked prelude, string
 *   headers `:event-type`, `:content-type`, `:message-type` and a JSON payload): `messageStart`, then
 *   `contentBlockDelta` text pieces (or `contentBlockStart` with the toolUse id and name and
 *   `contentBlockDelta` slices of its input), `contentBlockStop`, `messageStop` (`stopReason`) and
 *   `metadata` (`usage`, `metrics`), one message at a time;
 * - `POST /model/{modelId}/invoke`: Titan Text Embeddings (`{ inputText, dimensions, normalize, embeddingTypes }` ->
 *   `{ embedding, inputTextTokenCount, embeddingsByType }`, v2 only 256/512/1024, `normalize: false`
 *   unscaled) and Cohere Embed v3 (`{ texts (<= 96, each
 *   at most 2048 characters, whatever `truncate` says), input_type }` -> `{ id, embeddings, texts,
 *   response_type }`); `X-Amzn-Bedrock-Input-Token-Count`;
 * - errors as Bedrock sends them: the status, `x-amzn-ErrorType: <Name>:http://internal.amazon.com/...`
 *   and `{ "message": ... }`: 400 ValidationException (an unknown model id is "The provided model
 *   identifier is invalid."), 403 AccessDeniedException (a model whose access is not granted),
 *   403 UnrecognizedClientException (unknown access key), 404 ResourceNotFoundException,
 *   429 ThrottlingException, 500 InternalServerException, 503 ServiceUnavailableException.
 *
 * Seed: the access key {@link BEDROCK_SANDBOX_ACCESS_KEY} (the local stack's functions sign with it) and
 * the chat and embedding models in {@link BEDROCK_MODELS}. The signature itself is not checked: the fake
 * reads the access key and the signing scope of the `Authorization` header.
 *
 * @example
 * ```ts
 * const fake = await startBedrockFake();
 * fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'converse' });
 * ```
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { crc32 } from 'node:zlib';
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
  type FakeTurn,
  gatedFrames,
  generate,
  pieces,
  type StreamGate,
  slices,
} from './llm-behaviour.ts';

/** The access key the local stack's functions sign with (`AWS_ACCESS_KEY_ID=test`): not a secret. */
export const BEDROCK_SANDBOX_ACCESS_KEY = 'test';

/** Model id -> what it does. */
export const BEDROCK_MODELS: Readonly<Record<string, 'chat' | 'titan-v1' | 'titan-v2' | 'cohere'>> = {
  'anthropic.claude-3-haiku-20240307-v1:0': 'chat',
  'anthropic.claude-3-5-haiku-20241022-v1:0': 'chat',
  'amazon.nova-micro-v1:0': 'chat',
  'amazon.titan-embed-text-v1': 'titan-v1',
  'amazon.titan-embed-text-v2:0': 'titan-v2',
  'cohere.embed-english-v3': 'cohere',
};

export interface BedrockFakeState {
  accessKeys: Set<string>;
  /** Models whose access the account has not been granted: 403 AccessDeniedException. */
  deniedModels: Set<string>;
  /** Holds a streamed answer before each message after the first (tests; see `llm-behaviour.ts`). */
  streamGate?: StreamGate;
  /** Every Converse and InvokeModel body received, newest last, with its model id. */
  requests: { model: string; body: Record<string, unknown> }[];
}

const NAMES: Readonly<Record<ErrorKind, string>> = {
  unauthorized: 'UnrecognizedClientException',
  forbidden: 'AccessDeniedException',
  'not-found': 'ResourceNotFoundException',
  conflict: 'ConflictException',
  throttled: 'ThrottlingException',
  'server-error': 'InternalServerException',
};

function failure(status: number, name: string, message: string): Answer {
  return json(
    status,
    { message },
    { 'x-amzn-errortype': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
  );
}

/** Bedrock's error answers; a 503 is ServiceUnavailableException, a 403 for a bad key UnrecognizedClient. */
export const bedrockErrors: ErrorDialect = (kind, { status }) => {
  const name = status === 503 ? 'ServiceUnavailableException' : NAMES[kind];
  const status_ = kind === 'unauthorized' ? 403 : status;
  const message =
    kind === 'unauthorized'
      ? 'The security token included in the request is invalid.'
      : `${kind} (${status})`;
  return failure(status_, name, message);
};

function invalid(message: string): never {
  return refuse(failure(400, 'ValidationException', message));
}

type Body = Record<string, unknown>;

/** Cohere Embed on Bedrock: characters a text may hold (the model parameters' "Characters" maximum). */
const COHERE_MAX_CHARACTERS = 2048;

/** The model of the path, checked: unknown is a 400 as Bedrock answers, not granted a 403. */
function modelOf(raw: string | undefined, state: BedrockFakeState, kind: 'chat' | 'embed'): string {
  const model = decodeURIComponent(raw ?? '');
  const does = BEDROCK_MODELS[model];
  if (does === undefined) invalid('The provided model identifier is invalid.');
  if (state.deniedModels.has(model)) {
    refuse(
      failure(
        403,
        'AccessDeniedException',
        "You don't have access to the model with the specified model ID.",
      ),
    );
  }
  if ((does === 'chat') !== (kind === 'chat')) {
    invalid(
      kind === 'chat'
        ? "This action doesn't support the model that you provided."
        : 'Malformed input request',
    );
  }
  return model;
}

function textOf(blocks: Body[]): string {
  return blocks
    .map((block) => (typeof block['text'] === 'string' ? block['text'] : JSON.stringify(block['json'] ?? '')))
    .join('\n');
}

/** One message's blocks as turns: its text, and a tool turn per tool result. */
function readBlocks(message: Body, index: number, names: Map<string, string>, turns: FakeTurn[]): void {
  const content = message['content'];
  if (!Array.isArray(content) || content.length === 0)
    invalid(`messages.${index}.content: must not be empty`);
  const texts: string[] = [];
  for (const block of content as Body[]) {
    const use = block['toolUse'] as Body | undefined;
    const result = block['toolResult'] as Body | undefined;
    if (typeof block['text'] === 'string') texts.push(block['text']);
    else if (use !== undefined) names.set(String(use['toolUseId']), String(use['name']));
    else if (result !== undefined) {
      const id = String(result['toolUseId']);
      if (!names.has(id)) {
        invalid(
          `The toolResult blocks at messages.${index}.content contain ids that do not match a toolUse in the previous turn.`,
        );
      }
      const text = textOf((result['content'] ?? []) as Body[]);
      turns.push({ role: 'tool', text, toolName: names.get(id) ?? 'call' });
    } else invalid(`messages.${index}.content: unknown content block`);
  }
  if (texts.length > 0) turns.push({ role: message['role'] as 'user' | 'assistant', text: texts.join('\n') });
}

/** True when a message holds a toolUse or toolResult block. */
const holdsTools = (message: Body): boolean =>
  Array.isArray(message['content']) &&
  (message['content'] as Body[]).some(
    (block) => block['toolUse'] !== undefined || block['toolResult'] !== undefined,
  );

function turnsOf(messages: Body[]): FakeTurn[] {
  const names = new Map<string, string>();
  const turns: FakeTurn[] = [];
  messages.forEach((message, index) => {
    if (message['role'] !== (index % 2 === 0 ? 'user' : 'assistant')) {
      invalid(
        'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.',
      );
    }
    readBlocks(message, index, names, turns);
  });
  return turns;
}

function choiceOf(choice: unknown): string | undefined {
  const value = choice as { auto?: unknown; any?: unknown; tool?: { name?: string } } | undefined;
  if (value === undefined) return undefined;
  if (value.tool !== undefined) return value.tool.name;
  return value.any !== undefined ? 'required' : 'auto';
}

/**
 * The most tokens each chat model generates in one answer: a larger `maxTokens` is a ValidationException
 * (Claude 3 Haiku 4096, Claude 3.5 Haiku 8192, Nova Micro 10000, from the models' Bedrock cards).
 */
export const BEDROCK_MAX_OUTPUT_TOKENS: Readonly<Record<string, number>> = {
  'anthropic.claude-3-haiku-20240307-v1:0': 4096,
  'anthropic.claude-3-5-haiku-20241022-v1:0': 8192,
  'amazon.nova-micro-v1:0': 10_000,
};

/** A value as Bedrock's (Java) validation messages print it: `1.5`, `2.0`, `[a, b]`. */
function javaValue(value: unknown, float: boolean): string {
  if (Array.isArray(value)) return `[${value.map((item) => javaValue(item, float)).join(', ')}]`;
  if (typeof value === 'number' && float && Number.isInteger(value)) return `${value}.0`;
  return String(value);
}

/**
 * The inference settings, checked as Bedrock checks them, with its wording: the shape's constraints as
 * "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy
 * constraint: Member must have value less than or equal to 1" (several joined with "; " under "N
 * validation errors detected"), then the model's output limit as "The maximum tokens you requested
 * exceeds the model limit of 4096. Try again with a maximum tokens value that is lower than 4096."
 */
function inferenceOf(body: Body, model: string): { max: unknown; stop: string[] | undefined } {
  const config = (body['inferenceConfig'] ?? {}) as Body;
  const errors: string[] = [];
  const check = (field: string, float: boolean, broken: (value: unknown) => string | undefined) => {
    const value = config[field];
    const constraint = value === undefined ? undefined : broken(value);
    if (constraint !== undefined) {
      errors.push(
        `Value '${javaValue(value, float)}' at 'inferenceConfig.${field}' failed to satisfy constraint: ${constraint}`,
      );
    }
  };
  const range = (low: number, high?: number) => (value: unknown) => {
    if (typeof value !== 'number' || value < low)
      return `Member must have value greater than or equal to ${low}`;
    return high !== undefined && value > high
      ? `Member must have value less than or equal to ${high}`
      : undefined;
  };
  check('maxTokens', false, range(1));
  check('temperature', true, range(0, 1));
  check('topP', true, range(0, 1));
  check('stopSequences', false, (value) =>
    Array.isArray(value) && value.length > 4 ? 'Member must have length less than or equal to 4' : undefined,
  );
  if (errors.length > 0) {
    const count = errors.length === 1 ? '1 validation error' : `${errors.length} validation errors`;
    invalid(`${count} detected: ${errors.join('; ')}`);
  }
  const max = config['maxTokens'];
  const limit = BEDROCK_MAX_OUTPUT_TOKENS[model];
  if (typeof max === 'number' && limit !== undefined && max > limit) {
    invalid(
      `The maximum tokens you requested exceeds the model limit of ${limit}. Try again with a maximum tokens value that is lower than ${limit}.`,
    );
  }
  return { max, stop: config['stopSequences'] as string[] | undefined };
}

function converse(body: Body, model: string, state: BedrockFakeState, stream = false): Answer {
  const messages = body['messages'];
  if (!Array.isArray(messages) || messages.length === 0)
    invalid('messages: at least one message is required');
  const { max, stop } = inferenceOf(body, model);
  state.requests.push({ model, body });
  const toolConfig = body['toolConfig'] as { tools?: Body[]; toolChoice?: unknown } | undefined;
  // The Converse reference: toolConfig is required when the messages hold toolUse or toolResult blocks.
  if (toolConfig === undefined && (messages as Body[]).some(holdsTools)) {
    invalid('The toolConfig field must be defined when using toolUse and toolResult content blocks.');
  }
  const tools = (toolConfig?.tools ?? []).map((tool) => {
    const spec = (tool['toolSpec'] ?? {}) as Body;
    return {
      name: String(spec['name']),
      parameters: ((spec['inputSchema'] as Body | undefined)?.['json'] ?? {}) as Body,
    };
  });
  const choice = choiceOf(toolConfig?.toolChoice);
  if (
    choice !== undefined &&
    !['auto', 'required'].includes(choice) &&
    !tools.some((tool) => tool.name === choice)
  ) {
    invalid('toolConfig.toolChoice.tool.name: names no tool in toolConfig.tools');
  }
  const system = Array.isArray(body['system']) ? textOf(body['system'] as Body[]) : undefined;
  const outcome = generate({
    turns: turnsOf(messages as Body[]),
    ...(typeof max === 'number' ? { maxTokens: max } : {}),
    ...(system === undefined || system === '' ? {} : { system }),
    ...(stop === undefined ? {} : { stop }),
    ...(tools.length === 0 ? {} : { tools }),
    ...(choice === undefined ? {} : { toolChoice: choice }),
  });
  const content =
    outcome.kind === 'tool'
      ? [
          {
            toolUse: {
              toolUseId: `tooluse_${randomUUID().replaceAll('-', '').slice(0, 22)}`,
              name: outcome.name,
              input: outcome.arguments,
            },
          },
        ]
      : [{ text: outcome.text }];
  const stopReason = stopReasonOf(outcome);
  const usage = {
    inputTokens: outcome.inputTokens,
    outputTokens: outcome.outputTokens,
    totalTokens: outcome.inputTokens + outcome.outputTokens,
  };
  if (stream) return streamed(content[0] as Body, stopReason, usage, state.streamGate);
  return json(200, {
    output: { message: { role: 'assistant', content } },
    stopReason,
    usage,
    metrics: { latencyMs: 1 },
  });
}

function stopReasonOf(outcome: ReturnType<typeof generate>): string {
  if (outcome.kind === 'tool') return 'tool_use';
  if (outcome.finish === 'length') return 'max_tokens';
  return outcome.stopSequence === undefined ? 'end_turn' : 'stop_sequence';
}

function stringHeader(name: string, value: string): Buffer {
  const key = Buffer.from(name);
  const text = Buffer.from(value);
  const header = Buffer.alloc(4 + key.length + text.length);
  header.writeUInt8(key.length, 0);
  key.copy(header, 1);
  header.writeUInt8(7, 1 + key.length); // 7: a string value
  header.writeUInt16BE(text.length, 2 + key.length);
  text.copy(header, 4 + key.length);
  return header;
}

/**
 * One message of the AWS event stream encoding: total length, headers length and their CRC32 (the
 * prelude), the headers, the payload, and the CRC32 of everything before it.
 *
 * @example
 * ```ts
 * eventStreamMessage({ ':event-type': 'messageStop', ':message-type': 'event' }, Buffer.from('{}'));
 * ```
 */
export function eventStreamMessage(headers: Record<string, string>, payload: Buffer): Buffer {
  const encoded = Buffer.concat(Object.entries(headers).map(([name, value]) => stringHeader(name, value)));
  const prelude = Buffer.alloc(12);
  prelude.writeUInt32BE(12 + encoded.length + payload.length + 4, 0);
  prelude.writeUInt32BE(encoded.length, 4);
  prelude.writeUInt32BE(crc32(prelude.subarray(0, 8)), 8);
  const message = Buffer.concat([prelude, encoded, payload, Buffer.alloc(4)]);
  message.writeUInt32BE(crc32(message.subarray(0, message.length - 4)), message.length - 4);
  return message;
}

function streamEvent(type: string, data: Body): Buffer {
  return eventStreamMessage(
    { ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' },
    Buffer.from(JSON.stringify(data)),
  );
}

/** A ConverseStream answer: the Converse answer as event stream messages, sent one at a time. */
function streamed(block: Body, stopReason: string, usage: Body, gate?: StreamGate): Answer {
  const messages = [streamEvent('messageStart', { role: 'assistant' })];
  const toolUse = block['toolUse'] as { toolUseId: string; name: string; input: unknown } | undefined;
  if (toolUse === undefined) {
    for (const text of pieces(String(block['text']))) {
      messages.push(streamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { text } }));
    }
  } else {
    const start = { toolUse: { toolUseId: toolUse.toolUseId, name: toolUse.name } };
    messages.push(streamEvent('contentBlockStart', { contentBlockIndex: 0, start }));
    for (const input of slices(JSON.stringify(toolUse.input))) {
      messages.push(
        streamEvent('contentBlockDelta', { contentBlockIndex: 0, delta: { toolUse: { input } } }),
      );
    }
  }
  messages.push(
    streamEvent('contentBlockStop', { contentBlockIndex: 0 }),
    streamEvent('messageStop', { stopReason }),
    streamEvent('metadata', { usage, metrics: { latencyMs: 1 } }),
  );
  return {
    status: 200,
    contentType: 'application/vnd.amazon.eventstream',
    chunks: gatedFrames(messages, gate),
  };
}

function invoke(body: Body, model: string, state: BedrockFakeState): Answer {
  const kind = BEDROCK_MODELS[model];
  state.requests.push({ model, body });
  if (kind === 'cohere') {
    const texts = body['texts'];
    if (!Array.isArray(texts) || texts.length === 0 || texts.length > 96) invalid('texts: 1 to 96 texts');
    if (typeof body['input_type'] !== 'string') invalid('input_type: required');
    // The model parameters' limit: 2048 characters a text; `truncate` only cuts tokens below it.
    const long = (texts as unknown[]).findIndex((text) => String(text).length > COHERE_MAX_CHARACTERS);
    if (long !== -1) {
      invalid(
        `Malformed input request: #/texts/${long}: expected maxLength: ${COHERE_MAX_CHARACTERS}, actual: ${String((texts as unknown[])[long]).length}, please reformat your input and try again.`,
      );
    }
    const tokens = (texts as string[]).reduce((sum, text) => sum + countTokens(text), 0);
    return json(
      200,
      {
        id: randomUUID(),
        embeddings: (texts as string[]).map((text) => embed(text, 1024)),
        texts,
        response_type: 'embeddings_floats',
      },
      { 'x-amzn-bedrock-input-token-count': String(tokens) },
    );
  }
  const text = body['inputText'];
  if (typeof text !== 'string' || text === '') invalid('inputText: required');
  const allowed =
    kind === 'titan-v2' ? ['inputText', 'dimensions', 'normalize', 'embeddingTypes'] : ['inputText'];
  const extra = Object.keys(body).find((key) => !allowed.includes(key));
  if (extra !== undefined) invalid(`Malformed input request: extraneous key [${extra}] is not permitted`);
  const tokens = countTokens(text);
  if (kind === 'titan-v1') {
    return json(
      200,
      { embedding: embed(text, 1536), inputTextTokenCount: tokens },
      { 'x-amzn-bedrock-input-token-count': String(tokens) },
    );
  }
  return titanV2(body, text, tokens);
}

/**
 * Titan Text Embeddings v2 as its model parameters describe it: dimensions 1024 (default), 512 or 256;
 * normalize (default true); embeddingTypes "float" and/or "binary"; embeddingsByType always answered.
 */
function titanV2(body: Body, text: string, tokens: number): Answer {
  const dimensions = body['dimensions'] ?? 1024;
  if (![256, 512, 1024].includes(dimensions as number)) {
    invalid(
      'Malformed input request: #/dimensions: 1024, 512 or 256 expected, please reformat your input and try again.',
    );
  }
  const normalize = body['normalize'] ?? true;
  if (typeof normalize !== 'boolean') {
    invalid(
      'Malformed input request: #/normalize: expected type: Boolean, please reformat your input and try again.',
    );
  }
  const types = body['embeddingTypes'] ?? ['float'];
  if (
    !Array.isArray(types) ||
    types.length === 0 ||
    !types.every((type) => type === 'float' || type === 'binary')
  ) {
    invalid(
      'Malformed input request: #/embeddingTypes: "float" or "binary" expected, please reformat your input and try again.',
    );
  }
  const unit = embed(text, dimensions as number);
  // Unnormalised, the vector keeps the direction at a length that grows with the text (never 1).
  const scale = normalize ? 1 : 2 + tokens / 4;
  const embedding = unit.map((x) => Math.round(x * scale * 1e6) / 1e6);
  const byType: Record<string, number[]> = { float: embedding };
  if ((types as string[]).includes('binary')) byType['binary'] = embedding.map((x) => (x > 0 ? 1 : 0));
  return json(
    200,
    { embedding, inputTextTokenCount: tokens, embeddingsByType: byType },
    { 'x-amzn-bedrock-input-token-count': String(tokens) },
  );
}

/** The access key of a SigV4 `Authorization` header for the `bedrock` signing name, if it is one. */
function accessKeyOf(authorization: string | undefined): string | undefined {
  const match = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/[a-z0-9-]+\/bedrock\/aws4_request,/.exec(
    authorization ?? '',
  );
  return match?.[1];
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(bedrockFake());
 * ```
 */
export function bedrockFake(): FakeDefinition<BedrockFakeState> {
  return {
    name: 'Amazon Bedrock',
    seed: () => ({
      accessKeys: new Set([BEDROCK_SANDBOX_ACCESS_KEY]),
      deniedModels: new Set(),
      requests: [],
    }),
    errors: bedrockErrors,
    token: (request) => accessKeyOf(request.headers['authorization']),
    authorize: ({ request, state }) =>
      state.accessKeys.has(request.token ?? '') ? undefined : 'unauthorized',
    unrouted: () =>
      failure(404, 'UnknownOperationException', 'The requested operation is not recognized by the service.'),
    headers: () => ({ 'x-amzn-requestid': randomUUID() }),
    secretHeaders: ['x-amz-security-token'],
    routes: [
      {
        name: 'converse',
        method: 'POST',
        path: '/model/:model/converse',
        handle: ({ request, state }) =>
          converse((request.body ?? {}) as Body, modelOf(request.params['model'], state, 'chat'), state),
      },
      {
        name: 'converse-stream',
        method: 'POST',
        path: '/model/:model/converse-stream',
        handle: ({ request, state }) =>
          converse(
            (request.body ?? {}) as Body,
            modelOf(request.params['model'], state, 'chat'),
            state,
            true,
          ),
      },
      {
        name: 'invoke',
        method: 'POST',
        path: '/model/:model/invoke',
        handle: ({ request, state }) =>
          invoke((request.body ?? {}) as Body, modelOf(request.params['model'], state, 'embed'), state),
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startBedrockFake();
 * ```
 */
export function startBedrockFake(options?: StartOptions): Promise<FakeServer<BedrockFakeState>> {
  return startFake(bedrockFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/bedrock.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startBedrockFake({ port: Number(process.argv[2] ?? 0) });
  console.log(
    `Amazon Bedrock sandbox: BEDROCK_ENDPOINT_URL=${fake.url} (access key ${BEDROCK_SANDBOX_ACCESS_KEY})`,
  );
}
