/**
 * Streamed chat (issue 16) on the running local stack, started as `npm start` starts it (the LLM connectors
 * and their streaming functions only): each connector's `<name>-stream` function behind its function URL,
 * served at `/lambda-url/<function>/chat-stream` with the local API key, answering Server-Sent Events from
 * its sandbox's deterministic model. The daily token budget runs on a second stack of its own (Anthropic
 * only, a budget of 1 token, from the same build), so no test depends on another's spending or on their
 * order. Also the gateway's own streaming, with a stand-in function that writes its second frame only
 * once the test has read the first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpRoute } from '../../scripts/local/config/model.ts';
import type { InvokeOutcome, StreamingInvocation } from '../../scripts/local/functions/function-process.ts';
import { startHttpApi } from '../../scripts/local/gateway/http-api.ts';
import { createStackLog } from '../../scripts/local/log.ts';
import { readSse, type SseEvent } from '../../shared/interfaces/llm-stream.ts';
import { type StackProcess, startStackProcess } from './stack-process.ts';

let stack: StackProcess;
/** Anthropic alone with a daily token budget of 1 (ANTHROPIC_DAILY_TOKEN_BUDGET), for the budget test. */
let budgetStack: StackProcess;
let buildDir: string;

const PROVIDERS = ['openai', 'anthropic', 'bedrock'] as const;

const WEATHER_TOOL = {
  name: 'get_weather',
  description: 'The current weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

interface Streamed {
  status: number;
  contentType: string | null;
  events: { event: string; data: Record<string, unknown> }[];
  text: string;
}

async function stream(
  provider: string,
  input: unknown,
  authorization: string | null = `Bearer ${stack.apiKey}`,
  correlationId?: string,
  on: StackProcess = stack,
): Promise<Streamed> {
  const response = await fetch(`${on.apiUrl}/lambda-url/${provider}-stream/chat-stream`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(authorization === null ? {} : { authorization }),
      ...(correlationId === undefined ? {} : { 'x-correlation-id': correlationId }),
    },
    body: JSON.stringify(input),
  });
  const contentType = response.headers.get('content-type');
  if (!contentType?.startsWith('text/event-stream')) {
    return { status: response.status, contentType, events: [], text: await response.text() };
  }
  const events: SseEvent[] = [];
  for await (const event of readSse(response.body as AsyncIterable<Uint8Array>)) events.push(event);
  return {
    status: response.status,
    contentType,
    events: events.map(({ event, data }) => ({ event, data: JSON.parse(data) as Record<string, unknown> })),
    text: '',
  };
}

const ofType = (streamed: Streamed, type: string) => streamed.events.filter(({ event }) => event === type);

beforeAll(async () => {
  for (const name of ['OPENAI_API_URL', 'ANTHROPIC_API_URL', 'BEDROCK_ENDPOINT_URL', 'CIRCLE_LOCAL_REAL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  const only = PROVIDERS.flatMap((provider) => [provider, `${provider}-stream`]).join(',');
  // One build for both stacks (it builds every function: minutes on a loaded two-core machine).
  buildDir = await mkdtemp(join(tmpdir(), 'circle-llm-streaming-build-'));
  stack = await startStackProcess({ CIRCLE_BUILD_DIR: buildDir }, ['--only', only]);
  // One token a day for Anthropic (both its functions count together): its first stream spends it.
  budgetStack = await startStackProcess({ CIRCLE_BUILD_DIR: buildDir, ANTHROPIC_DAILY_TOKEN_BUDGET: '1' }, [
    '--no-build',
    '--only',
    'anthropic,anthropic-stream',
  ]);
}, 420_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
  if (budgetStack !== undefined) await budgetStack.stop();
  if (buildDir !== undefined) await rm(buildDir, { recursive: true, force: true });
});

describe('Local stack: streamed chat through the function URLs', () => {
  it.each(PROVIDERS)(
    '%s-stream streams the sandbox answer as delta frames and a done frame with usage and cost',
    async (provider) => {
      // Act
      const streamed = await stream(provider, {
        messages: [{ role: 'user', content: 'Reply with the words: hello streaming world' }],
      });

      // Assess
      expect(streamed.status).toBe(200);
      expect(streamed.contentType).toMatch(/^text\/event-stream/);
      const deltas = ofType(streamed, 'delta');
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.map(({ data }) => data['text']).join('')).toBe('hello streaming world');
      expect(streamed.events.at(-1)?.event).toBe('done');
      expect(streamed.events.at(-1)?.data).toMatchObject({
        finishReason: 'stop',
        usage: { outputTokens: 3, totalTokens: expect.any(Number) },
        cost: { currency: 'USD', estimated: expect.any(Number) },
      });
      expect(ofType(streamed, 'error')).toEqual([]);
    },
  );

  it.each(PROVIDERS)('%s-stream streams a tool call as tool-call frames', async (provider) => {
    // Act
    const streamed = await stream(provider, {
      messages: [{ role: 'user', content: 'What is the weather in Paris? Use get_weather.' }],
      tools: [WEATHER_TOOL],
    });

    // Assess
    expect(streamed.status).toBe(200);
    const calls = ofType(streamed, 'tool-call');
    expect(calls[0]?.data).toMatchObject({ index: 0, name: 'get_weather', id: expect.any(String) });
    const argumentsText = calls.map(({ data }) => data['argumentsDelta']).join('');
    expect(JSON.parse(argumentsText)).toEqual({ city: 'Paris' });
    expect(streamed.events.at(-1)).toMatchObject({ event: 'done', data: { finishReason: 'tool-calls' } });
  });

  it.each(PROVIDERS)(
    '%s-stream answers 429 (a problem, no frames) when its sandbox answers 429 before the first frame',
    async (provider) => {
      // Act
      const streamed = await stream(provider, {
        messages: [{ role: 'user', content: 'Reply with the word: [fake:throttled] pong' }],
      });

      // Assess: the provider refused before anything was streamed, so the status says so.
      expect(streamed.status).toBe(429);
      expect(streamed.contentType).toBe('application/problem+json');
      expect(streamed.events).toEqual([]);
      expect(JSON.parse(streamed.text)).toMatchObject({ status: 429, code: 'rate_limited' });
    },
    60_000,
  );

  it('refuses a request without the local API key (401) and bad input (400) before any frame', async () => {
    // Act
    const anonymous = await stream('openai', { messages: [{ role: 'user', content: 'hi' }] }, null);
    const wrongKey = await stream('openai', { messages: [{ role: 'user', content: 'hi' }] }, 'Bearer nope');
    const empty = await stream('openai', { messages: [] });

    // Assess
    expect(anonymous.status).toBe(401);
    expect(wrongKey.status).toBe(401);
    expect(empty.status).toBe(400);
    expect(empty.contentType).toBe('application/problem+json');
    expect(JSON.parse(empty.text)).toMatchObject({ status: 400 });
  });

  it("writes the invocation line with the stream's tokens and cost, as complete-chat does", async () => {
    // Prepare
    const correlationId = `stream-${Date.now()}`;
    const written = () =>
      stack.lines.find((line) => line['message'] === 'invocation' && line['correlationId'] === correlationId);

    // Act
    await stream(
      'openai',
      { messages: [{ role: 'user', content: 'Reply with the word: counted' }] },
      `Bearer ${stack.apiKey}`,
      correlationId,
    );
    // The function writes its line once the stream has ended, which the caller may see first.
    for (let wait = 0; written() === undefined && wait < 100; wait += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const line = written();

    // Assess
    expect(line).toMatchObject({
      function: 'openai-stream',
      service: 'openai',
      trigger: 'stream',
      operation: 'chat-stream',
      status: 200,
      inputTokens: expect.any(Number),
      outputTokens: 1,
      estimatedCostUsd: expect.any(Number),
      _aws: { CloudWatchMetrics: [{ Namespace: 'CircleCore' }] },
    });
    const aws = line?.['_aws'] as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } | undefined;
    const metrics = aws?.CloudWatchMetrics?.[0]?.Metrics.map((metric) => metric.Name);
    expect(metrics).toEqual(expect.arrayContaining(['inputTokens', 'outputTokens', 'estimatedCostUsd']));
  });

  it('charges the daily token budget from the done frame: once spent, streams and chats are refused (429)', async () => {
    // Prepare: on the budget's own stack, a first stream is admitted (nothing spent yet) and spends more
    // than the budget of 1 token with its done frame.
    const bearer = `Bearer ${budgetStack.apiKey}`;
    const first = await stream(
      'anthropic',
      { messages: [{ role: 'user', content: 'Reply with the word: first' }] },
      bearer,
      undefined,
      budgetStack,
    );
    const spent = () =>
      budgetStack.lines.filter(
        (line) =>
          line['function'] === 'anthropic-stream' &&
          line['message'] === 'invocation' &&
          line['status'] === 200,
      );
    // The function writes its line once the stream has ended, which the caller may see first.
    for (let wait = 0; spent().length === 0 && wait < 100; wait += 1) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // Act
    const refused = await stream(
      'anthropic',
      { messages: [{ role: 'user', content: 'Reply with the word: second' }] },
      bearer,
      undefined,
      budgetStack,
    );
    const chat = await fetch(`${budgetStack.apiUrl}/anthropic/complete-chat`, {
      method: 'POST',
      headers: { authorization: bearer, 'content-type': 'application/json' },
      body: JSON.stringify({ messages: [{ role: 'user', content: 'Reply with the word: third' }] }),
    });

    // Assess
    expect(first.events.at(-1)?.event).toBe('done');
    expect(spent()).toHaveLength(1);
    expect(Number(spent()[0]?.['inputTokens']) + Number(spent()[0]?.['outputTokens'])).toBeGreaterThan(1);
    expect(refused.status).toBe(429);
    expect(refused.contentType).toBe('application/problem+json');
    expect(JSON.parse(refused.text)).toMatchObject({ status: 429, code: 'rate_limited' });
    expect(JSON.parse(refused.text)['detail']).toContain('ANTHROPIC_DAILY_TOKEN_BUDGET');
    expect(chat.status).toBe(429);
  });
});

describe('Local gateway: a RESPONSE_STREAM function URL', () => {
  it('writes each chunk to the caller as the function writes it, before the function has finished', async () => {
    // Prepare: a function that writes its second frame only once the caller has read the first
    let readFirst: () => void = () => undefined;
    const firstRead = new Promise<void>((resolve) => {
      readFirst = resolve;
    });
    const invoke = async (
      _key: string,
      _event: unknown,
      streaming?: StreamingInvocation,
    ): Promise<InvokeOutcome> => {
      const head = JSON.stringify({ statusCode: 200, headers: { 'content-type': 'text/event-stream' } });
      streaming?.onChunk(Buffer.concat([Buffer.from(head), Buffer.alloc(8), Buffer.from('data: one\n\n')]));
      await firstRead;
      streaming?.onChunk(Buffer.from('data: two\n\n'));
      return { requestId: 'r', durationMs: 1, logTail: '', payload: 'null' };
    };
    const route: HttpRoute = {
      functionKey: 'echo-stream',
      method: 'ANY',
      path: '/lambda-url/echo-stream/{proxy+}',
      routeKey: '$default',
      authorized: true,
      functionUrl: { prefix: '/lambda-url/echo-stream', invokeMode: 'RESPONSE_STREAM' },
    };
    const api = await startHttpApi({
      port: 0,
      apiKey: 'k',
      invoke,
      timeoutMsOf: () => 5_000,
      health: () => ({}),
      log: createStackLog({ pretty: false, write: () => undefined }),
    });
    api.setRoutes([route]);

    try {
      // Act
      const response = await fetch(`${api.url}/lambda-url/echo-stream/go`, {
        method: 'POST',
        headers: { authorization: 'Bearer k' },
      });
      const reader = readSse(response.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      const first = await reader.next();
      readFirst();
      const second = await reader.next();
      const end = await reader.next();

      // Assess
      expect(response.headers.get('content-type')).toBe('text/event-stream');
      expect(first.value).toEqual({ event: 'message', data: 'one' });
      expect(second.value).toEqual({ event: 'message', data: 'two' });
      expect(end.done).toBe(true);
    } finally {
      await api.close();
    }
  });

  it('hands the function the path after /lambda-url/<function>, as on its own host', async () => {
    // Prepare
    const seen: { rawPath?: string; routeKey?: string }[] = [];
    const api = await startHttpApi({
      port: 0,
      apiKey: 'k',
      invoke: async (_key, event, streaming) => {
        seen.push(event as { rawPath?: string });
        streaming?.onChunk(Buffer.concat([Buffer.from('{"statusCode":204}'), Buffer.alloc(8)]));
        return { requestId: 'r', durationMs: 1, logTail: '', payload: 'null' };
      },
      timeoutMsOf: () => 5_000,
      health: () => ({}),
      log: createStackLog({ pretty: false, write: () => undefined }),
    });
    api.setRoutes([
      {
        functionKey: 'echo-stream',
        method: 'ANY',
        path: '/lambda-url/echo-stream/{proxy+}',
        routeKey: '$default',
        authorized: true,
        functionUrl: { prefix: '/lambda-url/echo-stream', invokeMode: 'RESPONSE_STREAM' },
      },
    ]);
    try {
      // Act
      const response = await fetch(`${api.url}/lambda-url/echo-stream/chat-stream`, {
        method: 'POST',
        headers: { authorization: 'Bearer k' },
      });
      await response.arrayBuffer();

      // Assess
      expect(response.status).toBe(204);
      expect(seen[0]).toMatchObject({ rawPath: '/chat-stream', routeKey: '$default' });
    } finally {
      await api.close();
    }
  });
});
