/**
 * The OpenAI and Anthropic clients' streamChat, on the core's streaming REST client, against each
 * provider's contract fake over real HTTP: frames as the provider produces them (the fake holds its frame 2
 * until the test read the first, no timing assertion), failures before the first byte mapped and retried as
 * complete-chat's, and the chat-stream operation served by the core's streamingHandler to an HTTP caller.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Writable } from 'node:stream';
import {
  AuthError,
  ConfigurationError,
  resetCircuitBreakers,
  type StreamingRuntime,
  streamingHandler,
} from '@circle-core/core';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AnthropicClient, anthropicApi } from '../../functions/ai/anthropic/client.ts';
import { BedrockClient } from '../../functions/ai/bedrock/client.ts';
import { OpenaiClient, openaiApi } from '../../functions/ai/openai/client.ts';
import {
  ANTHROPIC_SANDBOX_TOKEN,
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
import { type ChatStreamFrame, chatStreamOperations, readSse, type SseEvent } from './llm-stream.ts';

let openai: FakeServer<OpenaiFakeState>;
let anthropic: FakeServer<AnthropicFakeState>;
let bedrock: FakeServer<BedrockFakeState>;
const made: { close(): void }[] = [];
const savedEnv = { ...process.env };

beforeAll(async () => {
  [openai, anthropic, bedrock] = await Promise.all([
    startOpenaiFake(),
    startAnthropicFake(),
    startBedrockFake(),
  ]);
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: BEDROCK_SANDBOX_ACCESS_KEY,
    AWS_SECRET_ACCESS_KEY: 'sandbox',
  });
});

afterEach(() => {
  delete openai.state.streamGate;
  delete anthropic.state.streamGate;
  delete bedrock.state.streamGate;
  for (const client of made.splice(0)) client.close();
  openai.reset();
  anthropic.reset();
  bedrock.reset();
  process.env['AWS_ACCESS_KEY_ID'] = BEDROCK_SANDBOX_ACCESS_KEY;
  resetCircuitBreakers();
});

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([openai?.close(), anthropic?.close(), bedrock?.close()]);
});

function openaiClient(token = OPENAI_SANDBOX_TOKEN): OpenaiClient {
  const client = new OpenaiClient(
    openaiApi.client({ baseUrl: `${openai.url}/v1`, credential: token, coordination: false }),
    { chatModel: 'gpt-4o-mini', embeddingModel: 'text-embedding-3-small', maxTokens: 100 },
  );
  made.push(client);
  return client;
}

function anthropicClient(token = ANTHROPIC_SANDBOX_TOKEN): AnthropicClient {
  const client = new AnthropicClient(
    anthropicApi.client({ baseUrl: `${anthropic.url}/v1`, credential: token, coordination: false }),
    { chatModel: 'claude-3-5-haiku-latest', maxTokens: 100 },
  );
  made.push(client);
  return client;
}

const BEDROCK_MODEL = 'anthropic.claude-3-5-haiku-20241022-v1:0';

/**
 * The kit's SDK client against the fake; a wrong key is a wrong access key (the fake reads it; the SDK reads
 * the environment at its first call, and each test ends by restoring it).
 */
async function bedrockClient(accessKey = BEDROCK_SANDBOX_ACCESS_KEY): Promise<BedrockClient> {
  process.env['AWS_ACCESS_KEY_ID'] = accessKey;
  const client = await BedrockClient.create({
    endpoint: bedrock.url,
    chatModel: BEDROCK_MODEL,
    embeddingModel: 'amazon.titan-embed-text-v2:0',
    maxTokens: 100,
    timeoutMs: 5_000,
    maxAttempts: 3,
  });
  made.push(client);
  return client;
}

const PROMPT = [{ role: 'user' as const, content: 'Reply with: hello streaming world' }];

const providers = [
  {
    provider: 'openai',
    client: openaiClient,
    fake: () => openai,
    route: 'create-chat-completion',
    refused: AuthError,
    /** Frame 0 the role chunk, 1 the first word. */
    held: 2,
    sent: () => openai.state.chats.at(-1),
    streamFields: { stream: true, stream_options: { include_usage: true } },
  },
  {
    provider: 'anthropic',
    client: anthropicClient,
    fake: () => anthropic,
    route: 'create-message',
    refused: AuthError,
    /** Frames 0-2 message_start, content_block_start, ping; 3 the first word. */
    held: 4,
    sent: () => anthropic.logFor('create-message').at(-1)?.body,
    streamFields: { stream: true },
  },
  {
    provider: 'bedrock',
    client: bedrockClient,
    fake: () => bedrock,
    route: 'converse-stream',
    /** The AWS kit's row for UnrecognizedClientException: the deployment's credentials are wrong. */
    refused: ConfigurationError,
    /** Message 0 messageStart, 1 the first word. */
    held: 2,
    sent: () => bedrock.logFor('converse-stream').at(-1)?.body,
    streamFields: { inferenceConfig: { maxTokens: 100 } },
  },
];

describe.each(providers)(
  '$provider streamChat',
  ({ client, fake, route, sent, streamFields, held, refused }) => {
    it('yields each frame as the provider produces it: the first before the fake made frame 2', async () => {
      // Prepare: the fake holds the frame after the first word until the test read the first frame.
      let readFirst: () => void = () => undefined;
      const firstRead = new Promise<void>((resolve) => {
        readFirst = resolve;
      });
      const produced: number[] = [];
      fake().state.streamGate = async (index) => {
        if (index === held) await firstRead;
        produced.push(index);
      };

      // Act
      const frames: ChatStreamFrame[] = [];
      let producedWhenFirstRead: number[] = [];
      for await (const frame of (await client()).streamChat({ messages: PROMPT })) {
        frames.push(frame);
        if (frames.length === 1) {
          producedWhenFirstRead = [...produced];
          readFirst();
        }
      }
      delete fake().state.streamGate;

      // Assess
      expect(producedWhenFirstRead).not.toContain(held);
      expect(produced).toContain(held);
      expect(frames.slice(0, -1)).toEqual([
        { type: 'delta', text: 'hello' },
        { type: 'delta', text: ' streaming' },
        { type: 'delta', text: ' world' },
      ]);
      expect(frames.at(-1)).toMatchObject({
        type: 'done',
        finishReason: 'stop',
        usage: { outputTokens: 3 },
        cost: { currency: 'USD' },
      });
      expect(sent()).toMatchObject(streamFields);
    });

    it('retries a 503 before the stream started (the call carries an idempotency key), then streams', async () => {
      // Prepare
      fake().inject({ kind: 'server-error', status: 503 }, { route });

      // Act
      const frames: ChatStreamFrame[] = [];
      for await (const frame of (await client()).streamChat({ messages: PROMPT })) frames.push(frame);

      // Assess
      const log = fake().logFor(route);
      expect(log).toHaveLength(2);
      expect(frames.map((frame) => frame.type)).toEqual(['delta', 'delta', 'delta', 'done']);
    });

    it('refuses a wrong key before any frame, without the key in the message', async () => {
      // Act
      const frames: ChatStreamFrame[] = [];
      const error = await (async () => {
        const model = await client('wrong-key-streaming-test');
        for await (const frame of model.streamChat({ messages: PROMPT })) {
          frames.push(frame);
        }
      })().catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(refused);
      expect(String((error as Error).message)).not.toContain('wrong-key-streaming-test');
      expect(frames).toEqual([]);
    });
  },
);

describe('The chat-stream operation behind the core streamingHandler', () => {
  let server: Server | undefined;
  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  async function serve(operations: ReturnType<typeof chatStreamOperations>): Promise<string> {
    const runtime: StreamingRuntime = {
      streamifyResponse: (handler) => handler,
      HttpResponseStream: {
        from(stream, metadata) {
          (stream as ServerResponse).writeHead(metadata.statusCode, metadata.headers);
          return stream;
        },
      },
    };
    const handler = streamingHandler('llm', operations, runtime) as (
      event: APIGatewayProxyEventV2,
      stream: Writable,
      context: Context,
    ) => Promise<void>;
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
    return `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  }

  it.each(providers)(
    'streams $provider as delta and done SSE frames; bad input is a 400 before streaming',
    async ({ client }) => {
      // Prepare
      const url = await serve(chatStreamOperations(client));

      // Act
      const response = await fetch(`${url}/chat-stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: PROMPT }),
      });
      const received: SseEvent[] = [];
      for await (const event of readSse(response.body as AsyncIterable<Uint8Array>)) received.push(event);
      const refused = await fetch(`${url}/chat-stream`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [] }),
      });
      await new Promise((resolve) => server?.close(resolve));

      // Assess
      expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      expect(received.map((event) => event.event)).toEqual(['delta', 'delta', 'delta', 'done']);
      expect(JSON.parse(received[0]?.data ?? '{}')).toEqual({ text: 'hello' });
      expect(JSON.parse(received[3]?.data ?? '{}')).toMatchObject({
        finishReason: 'stop',
        usage: { outputTokens: 3 },
      });
      expect(refused.status).toBe(400);
      expect(await refused.json()).toMatchObject({ status: 400 });
    },
  );
});
