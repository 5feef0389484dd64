/**
 * The Amazon Bedrock connector against its contract fake (`scripts/local/sandboxes/bedrock.ts`) through
 * the real AWS SDK client (SigV4, REST-JSON, error headers): each operation on each trigger, what reaches
 * Bedrock on the wire, and the failure paths of CONNECTORS.md as Bedrock has them (its role is the
 * credential: no secret to rotate, an unknown key is AWS's UnrecognizedClientException).
 */

import { BedrockRuntimeClient, ConverseCommand, InvokeModelCommand } from '@aws-sdk/client-bedrock-runtime';
import { resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  BEDROCK_SANDBOX_ACCESS_KEY,
  type BedrockFakeState,
  startBedrockFake,
} from '../../../scripts/local/sandboxes/bedrock.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import { bedrockValidation } from './errors.ts';

/** A distinctive secret access key: it must never appear in an answer or a log line. */
const SECRET_KEY = 'bedrock-marker-secret-Zx81Qw';
const CHAT_MODEL = 'anthropic.claude-3-haiku-20240307-v1:0';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<BedrockFakeState>;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/bedrock/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

/** The SDK straight at the fake (HTTP/1.1, as the connector's client), to check the fake's own answers. */
const sandboxSdk = (): BedrockRuntimeClient =>
  new BedrockRuntimeClient({
    endpoint: fake.url,
    region: 'us-east-1',
    credentials: { accessKeyId: BEDROCK_SANDBOX_ACCESS_KEY, secretAccessKey: 'x' },
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler(),
  });

beforeAll(async () => {
  fake = await startBedrockFake();
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: SECRET_KEY,
    BEDROCK_ENDPOINT_URL: fake.url,
    BEDROCK_CHAT_MODEL: CHAT_MODEL,
    BEDROCK_TIMEOUT_MS: '1000',
  });
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await fake.close();
});

beforeEach(() => {
  fake.reset();
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

const USER = [{ role: 'user', content: 'Reply with the single word: pong' }];
const WEATHER = {
  name: 'get_weather',
  description: 'The weather in a city',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('Connector: bedrock', () => {
  describe('Operation: complete-chat', () => {
    it('sends a Converse request to the model path and answers text, usage and cost', async () => {
      // Act
      const response = await call('complete-chat', {
        system: 'Be brief.',
        messages: USER,
        temperature: 0.2,
        maxTokens: 50,
        stop: ['END'],
      });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({
        model: CHAT_MODEL,
        content: 'pong',
        toolCalls: [],
        finishReason: 'stop',
        usage: { inputTokens: 14, outputTokens: 1, totalTokens: 15 },
        // (14 x 0.25 + 1 x 1.25) / 1e6, from prices.json
        cost: { currency: 'USD', estimated: 0.00000475, pricedAs: 'anthropic.claude-3-haiku' },
      });
      expect(fake.state.requests.at(-1)).toEqual({
        model: CHAT_MODEL,
        body: {
          messages: [{ role: 'user', content: [{ text: 'Reply with the single word: pong' }] }],
          system: [{ text: 'Be brief.' }],
          inferenceConfig: { maxTokens: 50, temperature: 0.2, stopSequences: ['END'] },
        },
      });
      const sent = fake.logFor('converse')[0];
      expect(sent?.path).toBe(`/model/${encodeURIComponent(CHAT_MODEL)}/converse`);
      expect(sent?.headers['authorization']).toBeUndefined();
    });

    it('returns toolUse blocks as typed tool calls and sends results back as toolResult blocks', async () => {
      // Prepare
      const question = { role: 'user', content: 'Weather in Lisbon please, use get_weather' };

      // Act
      const first = parsed(
        await call('complete-chat', { messages: [question], tools: [WEATHER], toolChoice: 'required' }),
      );
      const calls = first['toolCalls'] as { id: string }[];
      const second = await call('complete-chat', {
        messages: [
          question,
          { role: 'assistant', toolCalls: calls },
          { role: 'tool', toolCallId: calls[0]?.id, content: '{"sky":"sunny"}' },
        ],
        tools: [WEATHER],
      });

      // Assess
      expect(first).toMatchObject({
        finishReason: 'tool-calls',
        toolCalls: [{ name: 'get_weather', arguments: { city: 'Lisbon' } }],
      });
      expect(fake.state.requests[0]?.body).toMatchObject({
        toolConfig: {
          tools: [
            {
              toolSpec: {
                name: 'get_weather',
                description: 'The weather in a city',
                inputSchema: { json: WEATHER.parameters },
              },
            },
          ],
          toolChoice: { any: {} },
        },
      });
      expect(parsed(second)).toMatchObject({
        content: 'Tool get_weather returned: {"sky":"sunny"}',
        finishReason: 'stop',
      });
      expect((fake.state.requests[1]?.body['messages'] as unknown[] | undefined)?.[2]).toEqual({
        role: 'user',
        content: [{ toolResult: { toolUseId: calls[0]?.id, content: [{ text: '{"sky":"sunny"}' }] } }],
      });
    });

    it('sends no toolConfig for toolChoice "none"', async () => {
      // Act
      const response = await call('complete-chat', { messages: USER, tools: [WEATHER], toolChoice: 'none' });

      // Assess
      expect(parsed(response)).toMatchObject({ content: 'pong', toolCalls: [] });
      expect(fake.state.requests.at(-1)?.body['toolConfig']).toBeUndefined();
    });

    it('answers 400 naming /tools or /toolChoice for tool calls in the history without tools, without calling Bedrock', async () => {
      // Prepare: Converse needs toolConfig when the messages hold toolUse or toolResult blocks.
      const history = [
        { role: 'user', content: 'Weather in Lisbon please, use get_weather' },
        {
          role: 'assistant',
          toolCalls: [{ id: 'tooluse_1', name: 'get_weather', arguments: { city: 'Lisbon' } }],
        },
        { role: 'tool', toolCallId: 'tooluse_1', content: '{"sky":"sunny"}' },
      ];

      // Act
      const noTools = await call('complete-chat', { messages: history });
      const none = await call('complete-chat', { messages: history, tools: [WEATHER], toolChoice: 'none' });

      // Assess
      expect(noTools.statusCode).toBe(400);
      expect(parsed(noTools)['errors']).toEqual([
        { pointer: '/tools', message: expect.stringContaining('/messages/1') },
      ]);
      expect(none.statusCode).toBe(400);
      expect(parsed(none)['errors']).toEqual([
        { pointer: '/toolChoice', message: expect.stringContaining('/messages/1') },
      ]);
      expect(fake.log).toEqual([]);
    });

    it('the fake refuses toolUse and toolResult blocks without toolConfig, as Bedrock does', async () => {
      // Prepare
      const sdk = sandboxSdk();
      const messages = [
        { role: 'user' as const, content: [{ text: 'Weather in Lisbon?' }] },
        {
          role: 'assistant' as const,
          content: [{ toolUse: { toolUseId: 't1', name: 'get_weather', input: { city: 'Lisbon' } } }],
        },
        {
          role: 'user' as const,
          content: [{ toolResult: { toolUseId: 't1', content: [{ text: 'sunny' }] } }],
        },
      ];

      // Act
      const refused = await sdk.send(new ConverseCommand({ modelId: CHAT_MODEL, messages })).then(
        () => undefined,
        (error: unknown) => error as { name?: string; message?: string },
      );
      sdk.destroy();

      // Assess
      expect(refused?.name).toBe('ValidationException');
      expect(refused?.message).toBe(
        'The toolConfig field must be defined when using toolUse and toolResult content blocks.',
      );
    });

    it("answers 400 from a ValidationException (temperature above 1) with Bedrock's message, naming /temperature", async () => {
      // Act
      const response = await call('complete-chat', { messages: USER, temperature: 1.5 });

      // Assess
      const bedrockSays =
        "1 validation error detected: Value '1.5' at 'inferenceConfig.temperature' failed to satisfy constraint: Member must have value less than or equal to 1";
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain('Bedrock refused the request for this model');
      expect(parsed(response)['detail']).toContain(bedrockSays);
      expect(parsed(response)['errors']).toEqual([{ pointer: '/temperature', message: bedrockSays }]);
    });

    it("answers 400 naming /maxTokens with Bedrock's message when maxTokens exceeds the model's limit", async () => {
      // Act
      const response = await call('complete-chat', { messages: USER, maxTokens: 100_000 });

      // Assess
      const bedrockSays =
        'The maximum tokens you requested exceeds the model limit of 4096. Try again with a maximum tokens value that is lower than 4096.';
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain(bedrockSays);
      expect(parsed(response)['errors']).toEqual([{ pointer: '/maxTokens', message: bedrockSays }]);
    });

    it('keeps a numeric setting Bedrock quotes, redacts any other quoted value (prompt text), and names no field for topP', async () => {
      // Act
      const error = bedrockValidation(
        'Converse',
        CHAT_MODEL,
        "2 validation errors detected: Value 'my secret plan' at 'messages.1.member.content.1.member.text' failed to satisfy constraint: Member must have length less than or equal to 10; Value '1.2' at 'inferenceConfig.topP' failed to satisfy constraint: Member must have value less than or equal to 1",
      );

      // Assess
      expect(error.message).not.toContain('my secret plan');
      expect(error.message).toContain("Value [redacted] at 'messages.1.member.content.1.member.text'");
      expect(error.message).toContain("Value '1.2' at 'inferenceConfig.topP'");
      expect(error.issues).toEqual([]);
    });

    it('answers 404 naming the model for a model id Bedrock calls invalid', async () => {
      // Act
      const response = await call('complete-chat', { model: 'anthropic.claude-9-v1:0', messages: USER });

      // Assess
      expect(response.statusCode).toBe(404);
      expect(parsed(response)['detail']).toContain('model "anthropic.claude-9-v1:0" was not found');
    });

    it('answers 403 saying model access is not granted', async () => {
      // Prepare
      fake.state.deniedModels.add(CHAT_MODEL);

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(403);
      expect(parsed(response)['detail']).toContain('model access is not granted');
      expect(fake.logFor('converse')).toHaveLength(1);
    });

    it('answers 404 for a ResourceNotFoundException', async () => {
      // Prepare
      fake.inject({ kind: 'not-found' }, { route: 'converse' });

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(404);
      expect(parsed(response)['detail']).toContain(`model "${CHAT_MODEL}" was not found`);
    });

    it('retries a ThrottlingException by the core policy (the SDK does not), honouring Retry-After', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'converse' });

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(200);
      const attempts = fake.logFor('converse');
      expect(attempts.map((entry) => entry.status)).toEqual([429, 200]);
      expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    });

    it('answers 429 when throttling lasts past the attempts', async () => {
      // Prepare
      fake.inject(
        { kind: 'throttled', retryAfterSeconds: 0 },
        { route: 'converse', times: Number.POSITIVE_INFINITY },
      );

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(429);
      expect(fake.logFor('converse')).toHaveLength(3);
    });

    it('retries a 503 ServiceUnavailable, and answers 503 when Bedrock stays unavailable', async () => {
      // Prepare
      fake.inject({ kind: 'server-error', status: 503 }, { route: 'converse' });

      // Act
      const recovered = await call('complete-chat', { messages: USER });
      fake.inject(
        { kind: 'server-error', status: 503 },
        { route: 'converse', times: Number.POSITIVE_INFINITY },
      );
      const failed = await call('complete-chat', { messages: USER });

      // Assess
      expect(recovered.statusCode).toBe(200);
      expect(failed.statusCode).toBe(503);
      expect(parsed(failed)['detail']).toContain('ServiceUnavailableException');
    });

    it.each([
      ['ModelNotReadyException', 429, 503],
      ['ModelErrorException', 424, 503],
      ['InternalServerException', 500, 503],
      ['ModelTimeoutException', 408, 504],
      ['ServiceQuotaExceededException', 400, 429],
    ])('maps %s (%i at Bedrock) to %i', async (name, status, expected) => {
      // Prepare: Bedrock's error shape, its name in x-amzn-ErrorType
      const answer = {
        status,
        json: { message: `${name} from the fake` },
        headers: { 'x-amzn-errortype': `${name}:http://internal.amazon.com/coral/com.amazon.bedrock/` },
      };
      fake.inject({ kind: 'answer', answer }, { route: 'converse', times: Number.POSITIVE_INFINITY });

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess: named in the problem, the provider's message never
      expect(response.statusCode).toBe(expected);
      expect(response.body).not.toContain('from the fake');
    });

    it('answers 504 when Bedrock does not answer in time', async () => {
      // Prepare
      fake.inject({ kind: 'hang' }, { route: 'converse', times: Number.POSITIVE_INFINITY });

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(504);
    });

    it('answers 502 for a malformed answer and for a toolUse block without input', async () => {
      // Prepare
      fake.inject({ kind: 'malformed' }, { route: 'converse' });
      const noInput = {
        output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'f' } }] } },
        stopReason: 'tool_use',
        usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
      };
      fake.inject({ kind: 'answer', answer: { status: 200, json: noInput } }, { route: 'converse' });

      // Act
      const malformed = await call('complete-chat', { messages: USER });
      const missing = await call('complete-chat', { messages: USER });

      // Assess
      expect(malformed.statusCode).toBe(502);
      expect(missing.statusCode).toBe(502);
      expect(parsed(missing)['detail']).toContain('toolUse block without id, name or object input');
    });

    it('sends toolChoice "auto" as { auto }, a tool without description without one, and same-role turns as one message', async () => {
      // Prepare
      const bare = { name: WEATHER.name, parameters: WEATHER.parameters };

      // Act
      const response = await call('complete-chat', {
        messages: [
          { role: 'user', content: 'Hello' },
          { role: 'user', content: 'Reply with the single word: pong' },
        ],
        tools: [bare],
        toolChoice: 'auto',
      });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.state.requests.at(-1)?.body).toMatchObject({
        messages: [
          { role: 'user', content: [{ text: 'Hello' }, { text: 'Reply with the single word: pong' }] },
        ],
        toolConfig: {
          tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: WEATHER.parameters } } }],
          toolChoice: { auto: {} },
        },
      });
      const config = fake.state.requests.at(-1)?.body['toolConfig'] as
        | { tools: { toolSpec: object }[] }
        | undefined;
      const spec = config?.tools[0]?.toolSpec;
      expect(spec).not.toHaveProperty('description');
    });

    it('answers 502 when Converse answers no message or no token usage', async () => {
      // Prepare
      const usage = { inputTokens: 1, outputTokens: 1, totalTokens: 2 };
      const message = { role: 'assistant', content: [{ text: 'pong' }] };
      fake.inject(
        { kind: 'answer', answer: { status: 200, json: { stopReason: 'end_turn', usage } } },
        { route: 'converse' },
      );
      fake.inject(
        { kind: 'answer', answer: { status: 200, json: { output: { message }, stopReason: 'end_turn' } } },
        { route: 'converse' },
      );

      // Act
      const noMessage = await call('complete-chat', { messages: USER });
      const noUsage = await call('complete-chat', { messages: USER });

      // Assess
      expect(noMessage.statusCode).toBe(502);
      expect(parsed(noMessage)['detail']).toContain('answered no message');
      expect(noUsage.statusCode).toBe(502);
      expect(parsed(noUsage)['detail']).toContain('without token usage');
    });

    it('answers finishReason "other" for a stop reason it does not know, or none', async () => {
      // Prepare
      const usage = { inputTokens: 1, outputTokens: 1, totalTokens: 2 };
      const output = { message: { role: 'assistant', content: [{ text: 'pong' }] } };
      fake.inject(
        { kind: 'answer', answer: { status: 200, json: { output, stopReason: 'a_new_reason', usage } } },
        { route: 'converse' },
      );
      fake.inject(
        { kind: 'answer', answer: { status: 200, json: { output, usage } } },
        { route: 'converse' },
      );

      // Act
      const unknown = parsed(await call('complete-chat', { messages: USER }));
      const none = parsed(await call('complete-chat', { messages: USER }));

      // Assess
      expect(unknown).toMatchObject({ content: 'pong', finishReason: 'other' });
      expect(none).toMatchObject({ content: 'pong', finishReason: 'other' });
    });
  });

  describe('Operation: generate-object', () => {
    it('forces a tool whose input schema is the caller schema, and answers its input', async () => {
      // Prepare
      const schema = {
        type: 'object',
        properties: { label: { enum: ['bug', 'feature'] } },
        required: ['label'],
      };

      // Act
      const response = await call('generate-object', {
        messages: [{ role: 'user', content: 'Label: crash on start' }],
        schemaName: 'issue_label',
        schema,
      });

      // Assess
      expect(parsed(response)).toMatchObject({ object: { label: 'bug' }, attempts: 1 });
      expect(fake.state.requests.at(-1)?.body).toMatchObject({
        toolConfig: {
          tools: [{ toolSpec: { name: 'issue_label', inputSchema: { json: schema } } }],
          toolChoice: { tool: { name: 'issue_label' } },
        },
      });
    });

    it('asks again, saying the answer was empty, when the model answers text instead of the tool', async () => {
      // Prepare
      const schema = {
        type: 'object',
        properties: { label: { enum: ['bug', 'feature'] } },
        required: ['label'],
      };
      const textOnly = {
        output: { message: { role: 'assistant', content: [{ text: 'I think it is a bug.' }] } },
        stopReason: 'end_turn',
        usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
      };
      fake.inject({ kind: 'answer', answer: { status: 200, json: textOnly } }, { route: 'converse' });

      // Act
      const response = await call('generate-object', {
        messages: [{ role: 'user', content: 'Label: crash on start' }],
        schemaName: 'issue_label',
        schema,
      });

      // Assess
      expect(parsed(response)).toMatchObject({ object: { label: 'bug' }, attempts: 2 });
      const retry = fake.state.requests.at(-1)?.body['messages'] as {
        role: string;
        content: { text?: string }[];
      }[];
      expect(retry[1]).toEqual({ role: 'assistant', content: [{ text: '(empty)' }] });
      expect(retry[2]?.content[0]?.text).toContain('did not match the JSON Schema "issue_label"');
    });

    it('answers 502 StructuredOutputError when the forced tool call twice carries no input', async () => {
      // Prepare
      const noInput = {
        output: {
          message: { role: 'assistant', content: [{ toolUse: { toolUseId: 't1', name: 'issue_label' } }] },
        },
        stopReason: 'tool_use',
        usage: { inputTokens: 10, outputTokens: 5, totalTokens: 15 },
      };
      fake.inject(
        { kind: 'answer', answer: { status: 200, json: noInput } },
        { route: 'converse', times: 2 },
      );

      // Act
      const response = await call('generate-object', {
        messages: [{ role: 'user', content: 'Label: crash on start' }],
        schemaName: 'issue_label',
        schema: { type: 'object', properties: { label: { type: 'string' } }, required: ['label'] },
      });

      // Assess
      expect(response.statusCode).toBe(502);
      expect(parsed(response)['detail']).toContain(
        'did not match the schema "issue_label" after a retry (at /)',
      );
    });
  });

  describe('Operation: embed-texts', () => {
    it('invokes Titan v2 once per text with its body, and prices the tokens', async () => {
      // Act
      const response = await call('embed-texts', {
        inputs: ['the cat sat', 'quarterly revenue grew fast'],
        dimensions: 256,
      });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({
        model: 'amazon.titan-embed-text-v2:0',
        dimensions: 256,
        usage: { inputTokens: 7, outputTokens: 0 },
        // 7 x 0.02 / 1e6
        cost: { estimated: 0.00000014, pricedAs: 'amazon.titan-embed-text-v2' },
      });
      expect(parsed(response)['embeddings']).toHaveLength(2);
      expect(
        fake.state.requests
          .map((request) => request.body)
          .sort((a, b) => String(a['inputText']).localeCompare(String(b['inputText']))),
      ).toEqual([
        { inputText: 'quarterly revenue grew fast', normalize: true, dimensions: 256 },
        { inputText: 'the cat sat', normalize: true, dimensions: 256 },
      ]);
    });

    it('sends Cohere Embed one batch of texts', async () => {
      // Act
      const response = await call('embed-texts', {
        model: 'cohere.embed-english-v3',
        inputs: ['alpha beta', 'gamma'],
      });

      // Assess: the tokens of Bedrock's X-Amzn-Bedrock-Input-Token-Count header (the fake counts 3 words)
      expect(parsed(response)).toMatchObject({
        model: 'cohere.embed-english-v3',
        dimensions: 1024,
        usage: { inputTokens: 3, outputTokens: 0 },
        cost: { pricedAs: 'cohere.embed-english-v3' },
      });
      expect(fake.state.requests).toEqual([
        {
          model: 'cohere.embed-english-v3',
          body: { texts: ['alpha beta', 'gamma'], input_type: 'search_document', truncate: 'END' },
        },
      ]);
    });

    it('answers 400 naming /dimensions for dimensions Titan v2 does not offer, without calling Bedrock', async () => {
      // Act
      const odd = await call('embed-texts', { inputs: ['x'], dimensions: 100 });

      // Assess
      expect(odd.statusCode).toBe(400);
      expect(parsed(odd)['errors']).toEqual([
        { pointer: '/dimensions', message: expect.stringContaining('256, 512 or 1024') },
      ]);
      expect(fake.log).toEqual([]);
    });

    it('the fake follows Titan v2: normalize false answers the vector unscaled, embeddingsByType always, bad values a ValidationException', async () => {
      // Prepare
      const sdk = sandboxSdk();
      const invoke = (body: Record<string, unknown>) =>
        sdk
          .send(
            new InvokeModelCommand({
              modelId: 'amazon.titan-embed-text-v2:0',
              contentType: 'application/json',
              body: JSON.stringify({ inputText: 'the cat sat on the mat', ...body }),
            }),
          )
          .then(
            (answer): Record<string, unknown> => JSON.parse(answer.body.transformToString()),
            (error: unknown): Record<string, unknown> => ({ error: (error as { name?: string }).name }),
          );
      const length = (v: unknown) => Math.sqrt((v as number[]).reduce((sum, x) => sum + x * x, 0));

      // Act
      const normal = await invoke({ dimensions: 256 });
      const raw = await invoke({ dimensions: 256, normalize: false });
      const both = await invoke({ dimensions: 256, embeddingTypes: ['float', 'binary'] });
      const bad = await Promise.all(
        [{ dimensions: 100 }, { dimensions: '256' }, { normalize: 'no' }, { embeddingTypes: ['int8'] }].map(
          invoke,
        ),
      );
      sdk.destroy();

      // Assess
      expect(length(normal['embedding'])).toBeCloseTo(1, 4);
      expect(normal['embeddingsByType']).toEqual({ float: normal['embedding'] });
      expect((raw['embedding'] as number[]).length).toBe(256);
      expect(length(raw['embedding'])).toBeGreaterThan(1.5);
      const direction = (raw['embedding'] as number[]).map((x) => x / length(raw['embedding']));
      (normal['embedding'] as number[]).forEach((x, i) => {
        expect(direction[i]).toBeCloseTo(x, 4);
      });
      expect((both['embeddingsByType'] as { binary: number[] }).binary).toEqual(
        (both['embedding'] as number[]).map((x) => (x > 0 ? 1 : 0)),
      );
      expect(bad).toEqual(Array(4).fill({ error: 'ValidationException' }));
    });

    it('answers 400 naming /model for a model that is no embedder, without calling Bedrock', async () => {
      // Act
      const chat = await call('embed-texts', { inputs: ['x'], model: CHAT_MODEL });

      // Assess
      expect(chat.statusCode).toBe(400);
      expect(parsed(chat)['errors']).toEqual([
        {
          pointer: '/model',
          message: `embed-texts speaks Titan Text Embeddings and Cohere Embed on Bedrock; "${CHAT_MODEL}" is neither`,
        },
      ]);
      expect(fake.log).toEqual([]);
    });

    it('answers 400 naming /inputs/<i> for a text over the 2048 characters Cohere Embed takes, without calling Bedrock', async () => {
      // Act: Bedrock refuses it ("#/texts/1: expected maxLength: 2048"), truncate END or not
      const response = await call('embed-texts', {
        model: 'cohere.embed-english-v3',
        inputs: ['short', 'x'.repeat(2049)],
      });
      const fits = await call('embed-texts', {
        model: 'cohere.embed-english-v3',
        inputs: ['y'.repeat(2048)],
      });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([
        {
          pointer: '/inputs/1',
          message: 'cohere.embed-english-v3 on Bedrock takes at most 2048 characters a text, not 2049',
        },
      ]);
      expect(fits.statusCode).toBe(200);
      expect(fake.state.requests).toHaveLength(1);
    });

    it('the fake refuses a Cohere text over 2048 characters as Bedrock does, truncate END or not', async () => {
      // Act: InvokeModel straight at the fake (it reads the access key of the SigV4 header, not the signature)
      const answer = await fetch(`${fake.url}/model/cohere.embed-english-v3/invoke`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization:
            'AWS4-HMAC-SHA256 Credential=test/20261207/us-east-1/bedrock/aws4_request, SignedHeaders=host, Signature=0',
        },
        body: JSON.stringify({ texts: ['x'.repeat(2049)], input_type: 'search_document', truncate: 'END' }),
      });

      // Assess
      expect(answer.status).toBe(400);
      expect(answer.headers.get('x-amzn-errortype')).toMatch(/^ValidationException:/);
      expect(await answer.json()).toEqual({
        message:
          'Malformed input request: #/texts/0: expected maxLength: 2048, actual: 2049, please reformat your input and try again.',
      });
    });

    it('estimates Cohere tokens at 4 characters each when the count header is missing', async () => {
      // Prepare
      const answer = {
        id: 'e1',
        embeddings: [[0.6, 0.8]],
        texts: ['abcdefgh'],
        response_type: 'embeddings_floats',
      };
      fake.inject({ kind: 'answer', answer: { status: 200, json: answer } }, { route: 'invoke' });

      // Act
      const response = await call('embed-texts', { model: 'cohere.embed-english-v3', inputs: ['abcdefgh'] });

      // Assess
      expect(parsed(response)).toMatchObject({ dimensions: 2, usage: { inputTokens: 2 } });
    });

    it('answers 502 when InvokeModel answers a body of the wrong shape', async () => {
      // Prepare
      fake.inject({ kind: 'answer', answer: { status: 200, json: { vector: [1] } } }, { route: 'invoke' });

      // Act
      const response = await call('embed-texts', { inputs: ['x'] });

      // Assess
      expect(response.statusCode).toBe(502);
      expect(parsed(response)['detail']).toContain('answered an unexpected body');
    });

    it('invokes Titan v1 with the input text alone, answering its one vector length', async () => {
      // Act
      const response = await call('embed-texts', {
        model: 'amazon.titan-embed-text-v1',
        inputs: ['the cat sat'],
      });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({ model: 'amazon.titan-embed-text-v1', dimensions: 1536 });
      expect(fake.state.requests).toEqual([
        { model: 'amazon.titan-embed-text-v1', body: { inputText: 'the cat sat' } },
      ]);
    });

    it('answers 400 naming /dimensions for dimensions on a model with one vector length, without calling Bedrock', async () => {
      // Act
      const responses = await Promise.all(
        ['cohere.embed-english-v3', 'amazon.titan-embed-text-v1'].map((model) =>
          call('embed-texts', { model, inputs: ['x'], dimensions: 256 }),
        ),
      );

      // Assess
      expect(responses.map((response) => response.statusCode)).toEqual([400, 400]);
      expect(parsed(responses[1] as HttpResult)['errors']).toEqual([
        {
          pointer: '/dimensions',
          message:
            'amazon.titan-embed-text-v1 has one vector length; dimensions needs amazon.titan-embed-text-v2',
        },
      ]);
      expect(fake.log).toEqual([]);
    });

    it('answers 502 when Bedrock answers fewer vectors than texts, or vectors of uneven length', async () => {
      // Prepare
      const answer = (embeddings: number[][]) => ({
        kind: 'answer' as const,
        answer: {
          status: 200,
          json: { id: 'e1', embeddings, texts: [], response_type: 'embeddings_floats' },
        },
      });
      fake.inject(answer([]), { route: 'invoke' });
      fake.inject(answer([[0.6, 0.8], [1]]), { route: 'invoke' });

      // Act
      const none = await call('embed-texts', { model: 'cohere.embed-english-v3', inputs: ['a', 'b'] });
      const uneven = await call('embed-texts', { model: 'cohere.embed-english-v3', inputs: ['a', 'b'] });

      // Assess
      expect(none.statusCode).toBe(502);
      expect(parsed(none)['detail']).toContain('answered 0 vectors of uneven length for 2 texts');
      expect(uneven.statusCode).toBe(502);
      expect(parsed(uneven)['detail']).toContain('answered 2 vectors of uneven length for 2 texts');
    });
  });

  describe('Credentials', () => {
    it('answers a configuration error for a key AWS does not recognise, and never shows the secret key', async () => {
      // Prepare
      fake.state.accessKeys.clear();

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(500);
      expect(parsed(response)['detail']).not.toContain('security token');
      expect(`${response.body}${logs.text()}`).not.toContain(SECRET_KEY);
      expect(fake.logFor('converse')).toHaveLength(1);
    });

    it('keeps the secret key and the prompts out of every answer and log line', async () => {
      // Act
      await call('complete-chat', { messages: [{ role: 'user', content: 'private-prompt-7731: hi' }] });
      fake.inject({ kind: 'server-error', status: 500 }, { route: 'converse', times: 3 });
      const failed = await call('complete-chat', {
        messages: [{ role: 'user', content: 'private-prompt-7731' }],
      });

      // Assess
      expect(failed.statusCode).toBe(503);
      const everything = `${failed.body}${logs.text()}`;
      expect(everything).not.toContain(SECRET_KEY);
      expect(everything).not.toContain('private-prompt-7731');
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and reports no failed record', async () => {
      // Act
      const event = sqsEvent([{ body: { operation: 'complete-chat', input: { messages: USER } } }]);
      const result = await connector.handler(event, lambdaContext());

      // Assess
      expect(result).toEqual({ batchItemFailures: [] });
      expect(fake.logFor('converse')).toHaveLength(1);
    });

    it('runs a Step Functions task envelope and answers health', async () => {
      // Act
      const output = await connector.handler(
        { trigger: 'task', operation: 'embed-texts', input: { inputs: ['hello world'] } },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/bedrock/health' }),
        lambdaContext(),
      );

      // Assess
      expect(output).toMatchObject({ dimensions: 1024 });
      expect((health as HttpResult).statusCode).toBe(200);
      expect(JSON.parse((health as HttpResult).body).capabilities).toEqual([
        'tools',
        'structured-output',
        'embeddings',
        'dimensions',
      ]);
      expect(fake.state.requests.at(-1)?.body).toMatchObject({ inferenceConfig: { maxTokens: 1 } });
    });

    it('runs in library use with connector.run', async () => {
      // Act
      const answer = await connector.run('complete-chat', { messages: USER });

      // Assess
      expect(answer).toMatchObject({ content: 'pong', finishReason: 'stop' });
    });
  });

  describe('Cost and budget', () => {
    it('puts tokens and estimated cost on the invocation line, as EMF metrics', async () => {
      // Act
      const answer = parsed(await call('complete-chat', { messages: USER }));

      // Assess
      const { usage, cost } = answer as { usage: Record<string, number>; cost: { estimated: number } };
      const line = logs.records().find((record) => record['message'] === 'invocation');
      expect(line).toMatchObject({
        inputTokens: usage['inputTokens'],
        outputTokens: usage['outputTokens'],
        estimatedCostUsd: cost.estimated,
      });
      expect(JSON.stringify(line?.['_aws'])).toContain('"Name":"inputTokens"');
    });

    it('refuses calls past BEDROCK_DAILY_TOKEN_BUDGET with a 429 naming it, without calling Bedrock', async () => {
      // Prepare: a fresh container whose budget the second chat crosses
      process.env['BEDROCK_DAILY_TOKEN_BUDGET'] = '20';
      vi.resetModules();
      const budgeted = (await import('./index.ts')).connector;
      const chat = async () =>
        (await budgeted.handler(
          httpEvent({ path: '/bedrock/complete-chat', body: { messages: USER } }),
          lambdaContext(),
        )) as HttpResult;
      try {
        // Act
        const answers = [await chat(), await chat(), await chat()];

        // Assess
        expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 429]);
        expect(parsed(answers[2] as HttpResult)['detail']).toContain('BEDROCK_DAILY_TOKEN_BUDGET');
        expect(fake.logFor('converse')).toHaveLength(2);
      } finally {
        delete process.env['BEDROCK_DAILY_TOKEN_BUDGET'];
      }
    });
  });
});
