/**
 * The OpenAI connector against its contract fake (`scripts/local/sandboxes/openai.ts`) and the local
 * stack's Secrets Manager: each operation on each trigger, what reaches OpenAI on the wire, and the
 * failure paths every connector must survive.
 */
import { configureSecrets, resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import {
  OPENAI_SANDBOX_TOKEN,
  type OpenaiFakeState,
  startOpenaiFake,
} from '../../../scripts/local/sandboxes/openai.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';

const TOKEN_SECRET = `test/openai/api-key-${Math.random().toString(36).slice(2)}`;
const ROTATED_TOKEN = 'openai-rotated-token';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<OpenaiFakeState>;
let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(
  operation: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const event = httpEvent({ path: `/openai/${operation}`, body, headers });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

beforeAll(async () => {
  fake = await startOpenaiFake();
  secrets = await startSecretsManager({ [TOKEN_SECRET]: OPENAI_SANDBOX_TOKEN });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    OPENAI_API_URL: `${fake.url}/v1`,
    OPENAI_API_KEY_SECRET: TOKEN_SECRET,
    OPENAI_TIMEOUT_MS: '1000',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await fake.close();
  await secrets.close();
});

beforeEach(async () => {
  fake.reset();
  await secrets.set(TOKEN_SECRET, OPENAI_SANDBOX_TOKEN);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

const USER = [{ role: 'user', content: 'Reply with the single word: pong' }];

describe('Connector: openai', () => {
  describe('Operation: complete-chat', () => {
    it("sends a chat completion in OpenAI's shape and answers text, usage and cost", async () => {
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
        model: 'gpt-4o-mini-2024-07-18',
        content: 'pong',
        toolCalls: [],
        finishReason: 'stop',
        usage: { inputTokens: 14, outputTokens: 1, totalTokens: 15 },
        // (14 x 0.15 + 1 x 0.60) / 1e6, from prices.json
        cost: { currency: 'USD', estimated: 0.0000027, pricedAs: 'gpt-4o-mini' },
      });
      expect(fake.state.chats.at(-1)).toEqual({
        model: 'gpt-4o-mini',
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'Reply with the single word: pong' },
        ],
        max_completion_tokens: 50,
        temperature: 0.2,
        stop: ['END'],
      });
    });

    it('sends tools and a named tool choice as OpenAI functions and reads tool calls typed', async () => {
      // Act
      const response = await call('complete-chat', {
        messages: [{ role: 'user', content: 'Weather in Lisbon please' }],
        tools: [
          { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
        ],
        toolChoice: { name: 'get_weather' },
      });

      // Assess
      expect(parsed(response)).toMatchObject({
        finishReason: 'tool-calls',
        toolCalls: [{ name: 'get_weather', arguments: { city: 'Lisbon' } }],
      });
      expect(fake.state.chats.at(-1)).toMatchObject({
        tools: [{ type: 'function', function: { name: 'get_weather' } }],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
      });
    });

    it('refuses an unknown field with a 400 naming it, without calling OpenAI', async () => {
      // Act
      const response = await call('complete-chat', { messages: USER, temprature: 1 });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([{ pointer: '/temprature', message: 'unknown field' }]);
      expect(fake.log).toEqual([]);
    });

    it("points OpenAI's 400 at the input field its param names (max_completion_tokens is /maxTokens)", async () => {
      // Prepare
      const refusal = (param: string, message: string) => ({
        kind: 'answer' as const,
        answer: {
          status: 400,
          json: { error: { message, type: 'invalid_request_error', param, code: 'invalid_value' } },
        },
      });
      fake.inject(
        refusal(
          'max_completion_tokens',
          'max_completion_tokens is too large: 100000. This model supports at most 16384 completion tokens.',
        ),
        { route: 'create-chat-completion' },
      );

      // Act
      const tokens = await call('complete-chat', { messages: USER, maxTokens: 100_000 });
      fake.inject(refusal('temperature', 'temperature must be between 0 and 2'), {
        route: 'create-chat-completion',
      });
      const temperature = await call('complete-chat', { messages: USER, temperature: 1.5 });
      fake.inject(refusal('logit_bias', 'Invalid logit_bias.'), { route: 'create-chat-completion' });
      const unknown = await call('complete-chat', { messages: USER });

      // Assess
      expect(tokens.statusCode).toBe(400);
      expect(parsed(tokens)['errors']).toEqual([
        {
          pointer: '/maxTokens',
          message:
            'max_completion_tokens is too large: 100000. This model supports at most 16384 completion tokens.',
        },
      ]);
      expect(parsed(tokens)['detail']).toContain('at most 16384 completion tokens');
      expect(temperature.statusCode).toBe(400);
      expect(parsed(temperature)['errors']).toEqual([
        { pointer: '/temperature', message: 'temperature must be between 0 and 2' },
      ]);
      expect(unknown.statusCode).toBe(400);
      expect(parsed(unknown)['errors'] ?? []).toEqual([]);
      expect(parsed(unknown)['detail']).toContain('Invalid logit_bias.');
    });

    it('answers 404 naming the row for a model OpenAI does not know', async () => {
      // Act
      const response = await call('complete-chat', { model: 'gpt-9', messages: USER });

      // Assess
      expect(response.statusCode).toBe(404);
      expect(parsed(response)['detail']).toContain('the model does not exist or this key may not use it');
    });

    it('waits as Retry-After says after a 429, then answers', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'create-chat-completion' });

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(200);
      const attempts = fake.logFor('create-chat-completion');
      expect(attempts.map((entry) => entry.status)).toEqual([429, 200]);
      expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    });

    it('answers 429 with the wait when Retry-After exceeds the longest wait', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 120 }, { route: 'create-chat-completion' });

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(429);
      expect(parsed(response)['retryAfterMs']).toBe(120_000);
      expect(fake.logFor('create-chat-completion')).toHaveLength(1);
    });

    it('answers 403, without waiting, when the account is out of quota (a 429 waiting cannot cure)', async () => {
      // Prepare
      fake.inject(
        {
          kind: 'answer',
          answer: {
            status: 429,
            json: {
              error: {
                message: 'You exceeded your current quota',
                type: 'insufficient_quota',
                param: null,
                code: 'insufficient_quota',
              },
            },
          },
        },
        { route: 'create-chat-completion', times: Number.POSITIVE_INFINITY },
      );

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(403);
      expect(parsed(response)['detail']).toContain('exceeded its quota');
      // A 403 reads the key again once (rotation), then stops: no Retry-After wait, no backoff series.
      expect(fake.logFor('create-chat-completion').map((entry) => entry.status)).toEqual([429, 429]);
    });

    it('retries a 5xx, and answers 503 when OpenAI keeps failing', async () => {
      // Prepare
      fake.inject({ kind: 'server-error' }, { route: 'create-chat-completion' });

      // Act
      const recovered = await call('complete-chat', { messages: USER });
      fake.inject(
        { kind: 'server-error', status: 503 },
        { route: 'create-chat-completion', times: Number.POSITIVE_INFINITY },
      );
      const failed = await call('complete-chat', { messages: USER });

      // Assess
      expect(recovered.statusCode).toBe(200);
      expect(failed.statusCode).toBe(503);
      expect(parsed(failed)['code']).toBe('provider_unavailable');
    });

    it('answers 502 for a malformed or wrong-shaped answer, and for tool arguments that are not JSON', async () => {
      // Prepare
      fake.inject({ kind: 'malformed' }, { route: 'create-chat-completion' });
      fake.inject({ kind: 'wrong-shape' }, { route: 'create-chat-completion' });
      fake.inject(
        {
          kind: 'answer',
          answer: {
            status: 200,
            json: {
              model: 'gpt-4o-mini',
              choices: [
                {
                  message: {
                    content: null,
                    tool_calls: [{ id: 'c1', type: 'function', function: { name: 'f', arguments: '{oops' } }],
                  },
                  finish_reason: 'tool_calls',
                },
              ],
              usage: { prompt_tokens: 1, completion_tokens: 1 },
            },
          },
        },
        { route: 'create-chat-completion' },
      );

      // Act
      const responses = [
        await call('complete-chat', { messages: USER }),
        await call('complete-chat', { messages: USER }),
        await call('complete-chat', { messages: USER }),
      ];

      // Assess
      expect(responses.map((response) => response.statusCode)).toEqual([502, 502, 502]);
      expect(parsed(responses[2] as HttpResult)['detail']).toContain(
        'tool call f with arguments that are not a JSON object',
      );
    });

    it('answers 502 for an oversized answer', async () => {
      // Prepare
      fake.inject({ kind: 'oversized', bytes: 12 * 1024 * 1024 }, { route: 'create-chat-completion' });

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(502);
    });

    it('answers 504 when OpenAI hangs past the timeout', async () => {
      // Prepare
      fake.inject({ kind: 'hang' }, { route: 'create-chat-completion', times: Number.POSITIVE_INFINITY });

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect([504, 503]).toContain(response.statusCode);
    });

    it("sends a toolChoice word as OpenAI's tool_choice word", async () => {
      // Act
      const response = await call('complete-chat', {
        messages: [{ role: 'user', content: 'Weather in Lisbon please' }],
        tools: [
          { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
        ],
        toolChoice: 'required',
      });

      // Assess
      expect(parsed(response)).toMatchObject({ finishReason: 'tool-calls' });
      expect(fake.state.chats.at(-1)?.['tool_choice']).toBe('required');
    });

    it('answers finishReason "other" for a finish reason it does not map, or none', async () => {
      // Prepare
      const answer = (finish: string | null) => ({
        kind: 'answer' as const,
        answer: {
          status: 200,
          json: {
            id: 'chatcmpl-1',
            object: 'chat.completion',
            model: 'gpt-4o-mini-2024-07-18',
            choices: [{ index: 0, message: { role: 'assistant', content: 'pong' }, finish_reason: finish }],
            usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
          },
        },
      });
      fake.inject(answer('insufficient_system_resource'), { route: 'create-chat-completion' });
      fake.inject(answer(null), { route: 'create-chat-completion' });

      // Act
      const unknown = parsed(await call('complete-chat', { messages: USER }));
      const none = parsed(await call('complete-chat', { messages: USER }));

      // Assess
      expect(unknown).toMatchObject({ content: 'pong', finishReason: 'other' });
      expect(none).toMatchObject({ content: 'pong', finishReason: 'other' });
    });
  });

  describe('Operation: generate-object', () => {
    it('asks with response_format json_schema and answers the validated object', async () => {
      // Act
      const response = await call('generate-object', {
        messages: [{ role: 'user', content: 'Label: crash on start' }],
        schemaName: 'issue_label',
        schema: { type: 'object', properties: { label: { enum: ['bug', 'feature'] } }, required: ['label'] },
      });

      // Assess
      expect(parsed(response)).toMatchObject({ object: { label: 'bug' }, attempts: 1 });
      expect(fake.state.chats.at(-1)?.['response_format']).toEqual({
        type: 'json_schema',
        json_schema: {
          name: 'issue_label',
          schema: {
            type: 'object',
            properties: { label: { enum: ['bug', 'feature'] } },
            required: ['label'],
          },
          strict: false,
        },
      });
    });

    it('asks again, saying the answer was empty, when the model refuses with no content', async () => {
      // Prepare
      const refusal = {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        model: 'gpt-4o-mini-2024-07-18',
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content: null, refusal: 'I cannot help with that.' },
            finish_reason: 'stop',
          },
        ],
        usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
      };
      fake.inject(
        { kind: 'answer', answer: { status: 200, json: refusal } },
        { route: 'create-chat-completion' },
      );

      // Act
      const response = await call('generate-object', {
        messages: [{ role: 'user', content: 'Label: crash on start' }],
        schemaName: 'issue_label',
        schema: { type: 'object', properties: { label: { enum: ['bug', 'feature'] } }, required: ['label'] },
      });

      // Assess
      expect(parsed(response)).toMatchObject({ object: { label: 'bug' }, attempts: 2 });
      const retry = fake.state.chats.at(-1)?.['messages'] as { role: string; content: string }[];
      expect(retry[1]).toEqual({ role: 'assistant', content: '(empty)' });
      expect(retry[2]?.content).toContain('did not match the JSON Schema "issue_label"');
    });
  });

  describe('Operation: embed-texts', () => {
    it('embeds a batch with dimensions and prices it', async () => {
      // Act
      const response = await call('embed-texts', { inputs: ['one two', 'three'], dimensions: 8 });

      // Assess
      const answer = parsed(response) as {
        dimensions: number;
        embeddings: number[][];
        usage: unknown;
        cost: unknown;
      };
      expect(answer.dimensions).toBe(8);
      expect(answer.embeddings).toHaveLength(2);
      expect(answer.usage).toEqual({ inputTokens: 3, outputTokens: 0, totalTokens: 3 });
      expect(answer.cost).toEqual({
        currency: 'USD',
        estimated: 0.00000006,
        pricedAs: 'text-embedding-3-small',
      });
      expect(fake.logFor('create-embeddings')[0]?.body).toMatchObject({
        model: 'text-embedding-3-small',
        dimensions: 8,
      });
    });

    it('answers 400 from OpenAI for dimensions on a model without them', async () => {
      // Act
      const response = await call('embed-texts', {
        model: 'text-embedding-ada-002',
        inputs: ['x'],
        dimensions: 8,
      });
      fake.inject(
        {
          kind: 'answer',
          answer: {
            status: 400,
            json: {
              error: {
                message: "'$.input' is invalid. Please check the API reference.",
                type: 'invalid_request_error',
                param: null,
                code: null,
              },
            },
          },
        },
        { route: 'create-embeddings' },
      );
      const noParam = await call('embed-texts', { inputs: ['x'] });
      fake.inject(
        {
          kind: 'answer',
          answer: {
            status: 400,
            json: {
              error: {
                message:
                  "This model's maximum context length is 8192 tokens, however you requested 9000 tokens.",
                type: 'invalid_request_error',
                param: 'input',
                code: null,
              },
            },
          },
        },
        { route: 'create-embeddings' },
      );
      const long = await call('embed-texts', { inputs: ['x'] });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([
        { pointer: '/dimensions', message: 'This model does not support specifying dimensions of 8.' },
      ]);
      expect(noParam.statusCode).toBe(400);
      expect(parsed(noParam)['errors'] ?? []).toEqual([]);
      expect(parsed(long)['errors']).toEqual([
        { pointer: '/inputs', message: expect.stringContaining('maximum context length is 8192 tokens') },
      ]);
    });

    it('answers 502 when OpenAI answers fewer embeddings than inputs, or embeddings of uneven length', async () => {
      // Prepare
      const answer = (data: { index: number; embedding: number[] }[]) => ({
        kind: 'answer' as const,
        answer: {
          status: 200,
          json: {
            object: 'list',
            model: 'text-embedding-3-small',
            data: data.map((item) => ({ object: 'embedding', ...item })),
            usage: { prompt_tokens: 2, total_tokens: 2 },
          },
        },
      });
      fake.inject(answer([]), { route: 'create-embeddings' });
      fake.inject(
        answer([
          { index: 1, embedding: [1] },
          { index: 0, embedding: [0.6, 0.8] },
        ]),
        { route: 'create-embeddings' },
      );

      // Act
      const none = await call('embed-texts', { inputs: ['a', 'b'] });
      const uneven = await call('embed-texts', { inputs: ['a', 'b'] });

      // Assess
      expect(none.statusCode).toBe(502);
      expect(parsed(none)['detail']).toContain('answered 0 embeddings of uneven length for 2 inputs');
      expect(uneven.statusCode).toBe(502);
      expect(parsed(uneven)['detail']).toContain('answered 2 embeddings of uneven length for 2 inputs');
    });
  });

  describe('Credentials', () => {
    it('reads the secret again after a 401 (rotation) and succeeds with the new key', async () => {
      // Prepare
      await connector.run('complete-chat', { messages: USER });
      fake.state.tokens.clear();
      fake.state.tokens.add(ROTATED_TOKEN);
      await secrets.set(TOKEN_SECRET, ROTATED_TOKEN);

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('create-chat-completion').map((entry) => entry.status)).toEqual([200, 401, 200]);
    });

    it('answers 401 when the key stays refused, and never shows it', async () => {
      // Prepare
      fake.state.tokens.clear();

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(401);
      expect(parsed(response)['detail']).toContain('the API key is missing, wrong or revoked');
      expect(`${response.body}${logs.text()}`).not.toContain(OPENAI_SANDBOX_TOKEN);
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and reports no failed record', async () => {
      // Act
      const event = sqsEvent([{ body: { operation: 'complete-chat', input: { messages: USER } } }]);
      const result = await connector.handler(event, lambdaContext());

      // Assess
      expect(result).toEqual({ batchItemFailures: [] });
      expect(fake.logFor('create-chat-completion')).toHaveLength(1);
    });

    it('runs a Step Functions task envelope and answers health', async () => {
      // Act
      const output = await connector.handler(
        { trigger: 'task', operation: 'embed-texts', input: { inputs: ['a b'] } },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/openai/health' }),
        lambdaContext(),
      );

      // Assess
      expect(output).toMatchObject({ dimensions: 1536, model: 'text-embedding-3-small' });
      expect((health as HttpResult).statusCode).toBe(200);
      expect(JSON.parse((health as HttpResult).body).capabilities).toEqual([
        'tools',
        'structured-output',
        'embeddings',
        'dimensions',
      ]);
      expect(fake.logFor('get-model')[0]?.path).toBe('/v1/models/gpt-4o-mini');
    });
  });

  describe('Cost and budget', () => {
    it('puts tokens and estimated cost on the invocation line, as EMF metrics', async () => {
      // Act
      const answer = parsed(await call('complete-chat', { messages: USER }));

      // Assess: the answer's own figures, on the line
      const { usage, cost } = answer as { usage: Record<string, number>; cost: { estimated: number } };
      const line = logs.records().find((record) => record['message'] === 'invocation');
      expect(usage['inputTokens']).toBeGreaterThan(0);
      expect(line).toMatchObject({
        inputTokens: usage['inputTokens'],
        outputTokens: usage['outputTokens'],
        estimatedCostUsd: cost.estimated,
      });
      expect(JSON.stringify(line?.['_aws'])).toContain('"Name":"inputTokens"');
    });

    it('refuses calls past OPENAI_DAILY_TOKEN_BUDGET with a 429 naming it, without calling OpenAI', async () => {
      // Prepare: a fresh container whose budget the second chat crosses
      process.env['OPENAI_DAILY_TOKEN_BUDGET'] = '20';
      vi.resetModules();
      const budgeted = (await import('./index.ts')).connector;
      const chat = async () =>
        (await budgeted.handler(
          httpEvent({ path: '/openai/complete-chat', body: { messages: USER } }),
          lambdaContext(),
        )) as HttpResult;
      try {
        // Act: under, then crossing, then refused
        const answers = [await chat(), await chat(), await chat()];

        // Assess
        expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 429]);
        const used = answers
          .slice(0, 2)
          .reduce((sum, answer) => sum + (parsed(answer)['usage'] as { totalTokens: number }).totalTokens, 0);
        expect(used).toBeGreaterThanOrEqual(20);
        expect(parsed(answers[2] as HttpResult)['detail']).toMatch(
          new RegExp(
            `^The daily tokens budget of openai is spent: ${used} of 20 used today \\(UTC, OPENAI_DAILY_TOKEN_BUDGET\\); it resets at \\d{4}-\\d{2}-\\d{2}T00:00:00.000Z$`,
          ),
        );
        expect(Number(answers[2]?.headers['retry-after'])).toBeGreaterThan(0);
        expect(fake.logFor('create-chat-completion')).toHaveLength(2);
      } finally {
        delete process.env['OPENAI_DAILY_TOKEN_BUDGET'];
      }
    });
  });
});
