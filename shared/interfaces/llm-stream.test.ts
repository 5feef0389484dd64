/**
 * Streamed chat read into one frame shape, from each provider's contract fake over real HTTP, and the whole
 * chain an HTTP caller sees: fake -> provider frames read as they arrive -> the core's streamingHandler on a
 * real node:http server -> normalized SSE frames read by fetch. The fakes hold a later frame until the
 * client has read the first normalized frame, so the first arrives before the last is produced (no timing
 * assertion).
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { type StreamingRuntime, streamingHandler } from '@circle-core/core';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  ANTHROPIC_SANDBOX_TOKEN,
  ANTHROPIC_VERSION,
  type AnthropicFakeState,
  startAnthropicFake,
} from '../../scripts/local/sandboxes/anthropic.ts';
import {
  BEDROCK_SANDBOX_ACCESS_KEY,
  type BedrockFakeState,
  startBedrockFake,
} from '../../scripts/local/sandboxes/bedrock.ts';
import type { FakeServer } from '../../scripts/local/sandboxes/kit/index.ts';
import {
  OPENAI_SANDBOX_TOKEN,
  type OpenaiFakeState,
  startOpenaiFake,
} from '../../scripts/local/sandboxes/openai.ts';
import { loadPriceTable } from './llm-cost.ts';
import {
  anthropicChatStream,
  type BedrockStreamEvent,
  bedrockChatStream,
  ChatStreamFrame,
  openaiChatStream,
  readSse,
  type SseEvent,
} from './llm-stream.ts';

const PRICES = loadPriceTable({
  provider: 'test',
  source: 'test prices',
  asOf: '2026-12-06',
  models: {
    'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 },
    'claude-3-5-haiku': { inputPerMillion: 0.8, outputPerMillion: 4 },
    'anthropic.claude-3-5-haiku': { inputPerMillion: 0.8, outputPerMillion: 4 },
  },
});

let openai: FakeServer<OpenaiFakeState>;
let anthropic: FakeServer<AnthropicFakeState>;
let bedrock: FakeServer<BedrockFakeState>;
let bedrockClient: BedrockRuntimeClient;
const BEDROCK_MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';

beforeAll(async () => {
  [openai, anthropic, bedrock] = await Promise.all([
    startOpenaiFake(),
    startAnthropicFake(),
    startBedrockFake(),
  ]);
  bedrockClient = new BedrockRuntimeClient({
    endpoint: bedrock.url,
    region: 'us-east-1',
    credentials: { accessKeyId: BEDROCK_SANDBOX_ACCESS_KEY, secretAccessKey: 'sandbox' },
    requestHandler: new NodeHttpHandler(),
    maxAttempts: 1,
  });
});

afterAll(async () => {
  bedrockClient?.destroy();
  await Promise.all([openai?.close(), anthropic?.close(), bedrock?.close()]);
});

const Chat = z.strictObject({ prompt: z.string().min(1).describe('The user message') });

/** Opens a provider stream and reads it as SSE events. */
async function* providerEvents(url: string, headers: Record<string, string>, body: unknown) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  if (!response.ok || response.body === null) throw new Error(`provider answered ${response.status}`);
  yield* readSse(response.body as AsyncIterable<Uint8Array>);
}

const openaiStream = (prompt: string, extra: Record<string, unknown> = {}) =>
  openaiChatStream(
    providerEvents(
      `${openai.url}/v1/chat/completions`,
      { authorization: `Bearer ${OPENAI_SANDBOX_TOKEN}` },
      {
        model: 'gpt-4o-mini',
        messages: [{ role: 'user', content: prompt }],
        stream: true,
        stream_options: { include_usage: true },
        ...extra,
      },
    ),
    PRICES,
  );

const anthropicStream = (prompt: string, extra: Record<string, unknown> = {}) =>
  anthropicChatStream(
    providerEvents(
      `${anthropic.url}/v1/messages`,
      { 'x-api-key': ANTHROPIC_SANDBOX_TOKEN, 'anthropic-version': ANTHROPIC_VERSION },
      {
        model: 'claude-3-5-haiku-latest',
        max_tokens: 100,
        messages: [{ role: 'user', content: prompt }],
        stream: true,
        ...extra,
      },
    ),
    PRICES,
  );

/** Bedrock through the real AWS SDK: ConverseStream decoded from the fake's event stream messages. */
async function* bedrockStream(prompt: string, extra: Record<string, unknown> = {}) {
  const { stream } = await bedrockClient.send(
    new ConverseStreamCommand({
      modelId: BEDROCK_MODEL,
      messages: [{ role: 'user', content: [{ text: prompt }] }],
      ...extra,
    }),
  );
  yield* bedrockChatStream((stream ?? []) as AsyncIterable<BedrockStreamEvent>, PRICES, BEDROCK_MODEL);
}

async function collect(frames: AsyncIterable<ChatStreamFrame>): Promise<ChatStreamFrame[]> {
  const out: ChatStreamFrame[] = [];
  for await (const frame of frames) out.push(frame);
  return out;
}

async function* events(list: SseEvent[]): AsyncGenerator<SseEvent> {
  yield* list;
}

const TOOL = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe.each([
  { provider: 'openai', stream: openaiStream, model: /^gpt-4o-mini/ },
  { provider: 'anthropic', stream: anthropicStream, model: /^claude-3-5-haiku/ },
  { provider: 'bedrock', stream: bedrockStream, model: /^anthropic\.claude-3-5-haiku/ },
])('Streamed chat from the $provider fake', ({ provider, stream, model }) => {
  it('reads text deltas in order and ends with model, finish reason, usage and cost', async () => {
    // Act
    const frames = await collect(stream('Reply with: hello streaming world'));

    // Assess
    expect(frames.slice(0, -1)).toEqual([
      { type: 'delta', text: 'hello' },
      { type: 'delta', text: ' streaming' },
      { type: 'delta', text: ' world' },
    ]);
    const done = frames.at(-1);
    expect(done).toMatchObject({ type: 'done', finishReason: 'stop', model: expect.stringMatching(model) });
    if (done?.type !== 'done') throw new Error('no done frame');
    expect(done.usage.outputTokens).toBe(3);
    expect(done.usage.totalTokens).toBe(done.usage.inputTokens + 3);
    expect(done.cost).toMatchObject({ currency: 'USD', estimated: expect.any(Number) });
    expect(z.array(ChatStreamFrame).parse(frames)).toEqual(frames);
  });

  it('reads a tool call: id and name first, then the arguments in pieces', async () => {
    // Act
    const tools = {
      openai: { tools: [{ type: 'function', function: TOOL }] },
      anthropic: {
        tools: [{ name: TOOL.name, description: TOOL.description, input_schema: TOOL.parameters }],
      },
      bedrock: {
        toolConfig: {
          tools: [
            {
              toolSpec: {
                name: TOOL.name,
                description: TOOL.description,
                inputSchema: { json: TOOL.parameters },
              },
            },
          ],
        },
      },
    }[provider as 'openai' | 'anthropic' | 'bedrock'];
    const frames = await collect(stream('What is get_weather in Paris?', tools));

    // Assess
    const calls = frames.filter((frame) => frame.type === 'tool-call');
    expect(calls[0]).toMatchObject({ index: 0, id: expect.any(String), name: 'get_weather' });
    expect(JSON.parse(calls.map((call) => call.argumentsDelta).join(''))).toEqual({ city: 'Paris' });
    expect(frames.at(-1)).toMatchObject({ type: 'done', finishReason: 'tool-calls' });
  });
});

describe('Bedrock ConverseStream through the AWS SDK', () => {
  it('decodes each event stream message as it arrives: the first delta before the fake made the rest', async () => {
    // Prepare: message 0 is messageStart, 1 the first word; the fake holds message 2 until the client read it.
    let readFirst: () => void = () => undefined;
    const firstRead = new Promise<void>((resolve) => {
      readFirst = resolve;
    });
    const produced: number[] = [];
    bedrock.state.streamGate = async (index) => {
      if (index === 2) await firstRead;
      produced.push(index);
    };

    // Act
    const frames: ChatStreamFrame[] = [];
    let producedWhenFirstRead: number[] = [];
    for await (const frame of bedrockStream('Reply with: hello streaming world')) {
      frames.push(frame);
      if (frames.length === 1) {
        producedWhenFirstRead = [...produced];
        readFirst();
      }
    }
    delete bedrock.state.streamGate;

    // Assess
    expect(producedWhenFirstRead).toEqual([1]);
    expect(frames.map((frame) => frame.type)).toEqual(['delta', 'delta', 'delta', 'done']);
  });

  it('maps exception events to the taxonomy and refuses a stream without metadata', async () => {
    const list = (...items: BedrockStreamEvent[]) =>
      (async function* () {
        yield* items;
      })();
    await expect(
      collect(
        bedrockChatStream(list({ throttlingException: { message: 'slow down' } }), PRICES, BEDROCK_MODEL),
      ),
    ).rejects.toMatchObject({ name: 'RateLimitedError' });
    await expect(
      collect(bedrockChatStream(list({ modelStreamErrorException: {} }), PRICES, BEDROCK_MODEL)),
    ).rejects.toMatchObject({ name: 'UnavailableError' });
    await expect(
      collect(bedrockChatStream(list({ validationException: {} }), PRICES, BEDROCK_MODEL)),
    ).rejects.toMatchObject({ name: 'UnexpectedResponseError' });
    await expect(
      collect(bedrockChatStream(list({ metadata: { usage: {} } }), PRICES, BEDROCK_MODEL)),
    ).rejects.toMatchObject({ message: expect.stringContaining('before messageStop') });
    await expect(
      collect(bedrockChatStream(list({ messageStart: { role: 'assistant' } }), PRICES, BEDROCK_MODEL)),
    ).rejects.toMatchObject({ message: expect.stringContaining('metadata') });
  });
});

describe('Provider streams that break', () => {
  it('refuses an OpenAI stream without [DONE], and a frame that is not JSON', async () => {
    const chunk = (delta: unknown, finish: string | null = null) =>
      JSON.stringify({ model: 'gpt-4o-mini', choices: [{ delta, finish_reason: finish }] });
    await expect(
      collect(openaiChatStream(events([{ event: 'message', data: chunk({ content: 'Hi' }) }]), PRICES)),
    ).rejects.toMatchObject({ name: 'UnexpectedResponseError', message: expect.stringContaining('[DONE]') });
    await expect(
      collect(openaiChatStream(events([{ event: 'message', data: '{' }]), PRICES)),
    ).rejects.toMatchObject({ name: 'UnexpectedResponseError' });
    await expect(
      collect(openaiChatStream(events([{ event: 'message', data: '[DONE]' }]), PRICES)),
    ).rejects.toMatchObject({ message: expect.stringContaining('finish reason') });
  });

  it('maps an Anthropic error event to the taxonomy, and refuses a stream without message_stop', async () => {
    const error = (type: string): SseEvent => ({
      event: 'error',
      data: JSON.stringify({ type: 'error', error: { type, message: 'provider text' } }),
    });
    await expect(
      collect(anthropicChatStream(events([error('overloaded_error')]), PRICES)),
    ).rejects.toMatchObject({
      name: 'UnavailableError',
      message: 'Anthropic failed the stream (overloaded_error)',
    });
    await expect(
      collect(anthropicChatStream(events([error('rate_limit_error')]), PRICES)),
    ).rejects.toMatchObject({ name: 'RateLimitedError' });
    await expect(
      collect(anthropicChatStream(events([error('invalid_request_error')]), PRICES)),
    ).rejects.toMatchObject({ name: 'UnexpectedResponseError' });
    await expect(collect(anthropicChatStream(events([]), PRICES))).rejects.toMatchObject({
      message: expect.stringContaining('message_stop'),
    });
  });

  it('reads SSE blocks split anywhere, with comments and CRLF line ends', async () => {
    // Prepare
    const text = ': keep-alive\r\n\r\nevent: a\r\ndata: 1\r\n\r\ndata: x\ndata: y\n\nevent: b\ndata: 2';
    async function* bytes() {
      for (const char of text) yield new TextEncoder().encode(char);
    }

    // Act
    const read: SseEvent[] = [];
    for await (const event of readSse(bytes())) read.push(event);

    // Assess
    expect(read).toEqual([
      { event: 'a', data: '1' },
      { event: 'message', data: 'x\ny' },
      { event: 'b', data: '2' },
    ]);
  });
});

describe('An HTTP caller streaming a chat through the core streamingHandler', () => {
  let server: Server | undefined;
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it('gets normalized SSE frames, the first before the fake has produced the rest', async () => {
    // Prepare: the fake holds its frame 2 (after the role chunk and the first word) until the client has
    // read the first normalized frame.
    let readFirst: () => void = () => undefined;
    const firstRead = new Promise<void>((resolve) => {
      readFirst = resolve;
    });
    const produced: number[] = [];
    openai.state.streamGate = async (index) => {
      if (index === 2) await firstRead;
      produced.push(index);
    };
    const runtime: StreamingRuntime = {
      streamifyResponse: (handler) => handler,
      HttpResponseStream: {
        from(stream, metadata) {
          (stream as ServerResponse).writeHead(metadata.statusCode, metadata.headers);
          return stream;
        },
      },
    };
    const handler = streamingHandler(
      'openai',
      {
        'chat-stream': {
          input: Chat,
          run: async function* ({ prompt }: z.output<typeof Chat>) {
            for await (const frame of openaiStream(prompt)) yield { event: frame.type, data: frame };
          },
        },
      },
      runtime,
    ) as (event: APIGatewayProxyEventV2, stream: Writable, context: Context) => Promise<void>;
    const listening = createServer(async (request, response) => {
      const chunks: Buffer[] = [];
      for await (const chunk of request) chunks.push(chunk as Buffer);
      const event = {
        rawPath: request.url,
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        requestContext: { http: { method: request.method } },
      } as unknown as APIGatewayProxyEventV2;
      await handler(event, response, {
        awsRequestId: 'req-1',
        getRemainingTimeInMillis: () => 30_000,
      } as Context);
    });
    server = listening;
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;

    // Act
    const response = await fetch(`${url}/openai/chat-stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt: 'Reply with: hello streaming world' }),
    });
    const received: SseEvent[] = [];
    let producedWhenFirstRead: number[] = [];
    for await (const event of readSse(response.body as AsyncIterable<Uint8Array>)) {
      received.push(event);
      if (received.length === 1) {
        producedWhenFirstRead = [...produced];
        readFirst();
      }
    }
    delete openai.state.streamGate;

    // Assess
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(producedWhenFirstRead).toEqual([1]);
    expect(received.map((event) => event.event)).toEqual(['delta', 'delta', 'delta', 'done']);
    expect(received.slice(0, 3).map((event) => JSON.parse(event.data).text)).toEqual([
      'hello',
      ' streaming',
      ' world',
    ]);
    expect(JSON.parse(received[3]?.data ?? '{}')).toMatchObject({
      type: 'done',
      finishReason: 'stop',
      usage: { outputTokens: 3 },
      cost: { currency: 'USD' },
    });
  });
});
