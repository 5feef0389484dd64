/**
 * The Anthropic connector against its contract fake (`scripts/local/sandboxes/anthropic.ts`) and the local
 * stack's Secrets Manager: each operation on each trigger, what reaches Anthropic on the wire, and the
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
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ANTHROPIC_SANDBOX_TOKEN,
  type AnthropicFakeState,
  startAnthropicFake,
} from '../../../scripts/local/sandboxes/anthropic.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';

const TOKEN_SECRET = `test/anthropic/api-key-${Math.random().toString(36).slice(2)}`;
const ROTATED_TOKEN = 'anthropic-rotated-token';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<AnthropicFakeState>;
let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(
  operation: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const event = httpEvent({ path: `/anthropic/${operation}`, body, headers });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

beforeAll(async () => {
  fake = await startAnthropicFake();
  secrets = await startSecretsManager({ [TOKEN_SECRET]: ANTHROPIC_SANDBOX_TOKEN });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    ANTHROPIC_API_URL: `${fake.url}/v1`,
    ANTHROPIC_API_KEY_SECRET: TOKEN_SECRET,
    ANTHROPIC_TIMEOUT_MS: '1000',
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
  await secrets.set(TOKEN_SECRET, ANTHROPIC_SANDBOX_TOKEN);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

const USER = [{ role: 'user', content: 'Reply with the single word: pong' }];
const WEATHER = {
  name: 'get_weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

describe('Connector: anthropic', () => {
  describe('Operation: complete-chat', () => {
    it('sends a Messages API request with its headers and answers text, usage and cost', async () => {
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
        model: 'claude-3-5-haiku-20241022',
        content: 'pong',
        toolCalls: [],
        finishReason: 'stop',
        usage: { inputTokens: 14, outputTokens: 1, totalTokens: 15 },
        // (14 x 0.80 + 1 x 4.00) / 1e6, from prices.json
        cost: { currency: 'USD', estimated: 0.0000152, pricedAs: 'claude-3-5-haiku' },
      });
      expect(fake.state.requests.at(-1)).toEqual({
        model: 'claude-3-5-haiku-latest',
        max_tokens: 50,
        system: 'Be brief.',
        messages: [{ role: 'user', content: [{ type: 'text', text: 'Reply with the single word: pong' }] }],
        temperature: 0.2,
        stop_sequences: ['END'],
      });
      const sent = fake.logFor('create-message')[0]?.headers ?? {};
      expect(sent['anthropic-version']).toBe('2023-06-01');
      expect(sent['authorization']).toBeUndefined();
    });

    it('returns tool_use blocks as typed tool calls and sends results back as tool_result blocks', async () => {
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
      expect(fake.state.requests[0]).toMatchObject({
        tools: [{ name: 'get_weather', input_schema: WEATHER.parameters }],
        tool_choice: { type: 'any' },
      });
      expect(parsed(second)).toMatchObject({
        content: 'Tool get_weather returned: {"sky":"sunny"}',
        finishReason: 'stop',
      });
      expect((fake.state.requests[1]?.['messages'] as unknown[] | undefined)?.[2]).toEqual({
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: calls[0]?.id, content: '{"sky":"sunny"}' }],
      });
    });

    it('answers 400 from Anthropic for a temperature above 1', async () => {
      // Act
      const response = await call('complete-chat', { messages: USER, temperature: 1.5 });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain('Anthropic refused the request');
    });

    it("points Anthropic's 400 at the input field its message starts with, and says Anthropic's message", async () => {
      // Prepare
      const refusal = (message: string) => ({
        kind: 'answer' as const,
        answer: { status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message } } },
      });

      // Act
      const temperature = await call('complete-chat', { messages: USER, temperature: 1.5 });
      fake.inject(
        refusal(
          'messages: roles must alternate between "user" and "assistant", but found multiple "user" roles in a row',
        ),
        { route: 'create-message' },
      );
      const roles = await call('complete-chat', { messages: USER });
      fake.inject(
        refusal('max_tokens: 300000 > 64000, which is the maximum allowed number of output tokens'),
        {
          route: 'create-message',
        },
      );
      const tokens = await call('complete-chat', { messages: USER, maxTokens: 100_000 });
      fake.inject(refusal('metadata.user_id: String should have at most 256 characters'), {
        route: 'create-message',
      });
      const unknown = await call('complete-chat', { messages: USER });

      // Assess
      expect(temperature.statusCode).toBe(400);
      expect(parsed(temperature)['errors']).toEqual([
        { pointer: '/temperature', message: 'temperature: Input should be less than or equal to 1' },
      ]);
      expect(parsed(temperature)['detail']).toContain('temperature: Input should be less than or equal to 1');
      expect(parsed(roles)['errors']).toEqual([
        { pointer: '/messages', message: expect.stringContaining('messages: roles must alternate') },
      ]);
      expect(parsed(tokens)['errors']).toEqual([
        { pointer: '/maxTokens', message: expect.stringContaining('max_tokens: 300000 > 64000') },
      ]);
      expect(unknown.statusCode).toBe(400);
      expect(parsed(unknown)['errors'] ?? []).toEqual([]);
      expect(parsed(unknown)['detail']).toContain(
        'metadata.user_id: String should have at most 256 characters',
      );
    });

    it('answers 404 naming the row for a model Anthropic does not know', async () => {
      // Act
      const response = await call('complete-chat', { model: 'claude-9', messages: USER });

      // Assess
      expect(response.statusCode).toBe(404);
      expect(parsed(response)['detail']).toContain('the model does not exist or this key may not use it');
    });

    it('waits as Retry-After says after a 429, then answers', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'create-message' });

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(200);
      const attempts = fake.logFor('create-message');
      expect(attempts.map((entry) => entry.status)).toEqual([429, 200]);
      expect((attempts[1]?.at ?? 0) - (attempts[0]?.at ?? 0)).toBeGreaterThanOrEqual(900);
    });

    it('retries a 529 overloaded, and answers 503 when Anthropic stays overloaded', async () => {
      // Prepare
      fake.inject({ kind: 'server-error', status: 529 }, { route: 'create-message' });

      // Act
      const recovered = await call('complete-chat', { messages: USER });
      fake.inject(
        { kind: 'server-error', status: 529 },
        { route: 'create-message', times: Number.POSITIVE_INFINITY },
      );
      const failed = await call('complete-chat', { messages: USER });

      // Assess
      expect(recovered.statusCode).toBe(200);
      expect(failed.statusCode).toBe(503);
      expect(parsed(failed)['detail']).toContain('Anthropic is overloaded (529)');
    });

    it('answers 403 for a 402 billing_error (no credit left), not retried as a failure', async () => {
      // Prepare: Anthropic's ErrorType billing_error, as its error body, on every attempt
      const billing = {
        type: 'error',
        error: { type: 'billing_error', message: 'Your credit balance is too low' },
      };
      fake.inject(
        { kind: 'answer', answer: { status: 402, json: billing } },
        { route: 'create-message', times: Number.POSITIVE_INFINITY },
      );
      const before = fake.logFor('create-message').length;

      // Act
      const refused = await call('complete-chat', { messages: USER });

      // Assess: like any 403, one more attempt with the key read again (a rotation), then no retries
      expect(refused.statusCode).toBe(403);
      expect(parsed(refused)['detail']).toContain('billing');
      expect(fake.logFor('create-message').length - before).toBe(2);
    });

    it('answers 502 for a malformed answer and for a tool_use block without input', async () => {
      // Prepare
      fake.inject({ kind: 'malformed' }, { route: 'create-message' });
      const noInputAnswer = {
        model: 'claude-3-5-haiku-20241022',
        content: [{ type: 'tool_use', id: 't1', name: 'f' }],
        stop_reason: 'tool_use',
        usage: { input_tokens: 1, output_tokens: 1 },
      };
      fake.inject(
        { kind: 'answer', answer: { status: 200, json: noInputAnswer } },
        { route: 'create-message' },
      );

      // Act
      const malformed = await call('complete-chat', { messages: USER });
      const noInput = await call('complete-chat', { messages: USER });

      // Assess
      expect(malformed.statusCode).toBe(502);
      expect(noInput.statusCode).toBe(502);
      expect(parsed(noInput)['detail']).toContain('tool_use block without id, name or object input');
    });

    it('sends toolChoice "auto" and "none" as their own types, and same-role turns as one message', async () => {
      // Act
      const auto = await call('complete-chat', {
        messages: [
          { role: 'user', content: 'Hello' },
          { role: 'user', content: 'Reply with the single word: pong' },
        ],
        tools: [WEATHER],
        toolChoice: 'auto',
      });
      const none = await call('complete-chat', { messages: USER, tools: [WEATHER], toolChoice: 'none' });

      // Assess
      expect(auto.statusCode).toBe(200);
      expect(none.statusCode).toBe(200);
      expect(fake.state.requests[0]).toMatchObject({
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'Hello' },
              { type: 'text', text: 'Reply with the single word: pong' },
            ],
          },
        ],
        tool_choice: { type: 'auto' },
      });
      expect(fake.state.requests[1]).toMatchObject({ tool_choice: { type: 'none' } });
    });

    it('answers finishReason "other" for a stop reason it does not map, or none, and a text block without text as ""', async () => {
      // Prepare
      const answer = (stop: string | null, content: object[]) => ({
        kind: 'answer' as const,
        answer: {
          status: 200,
          json: {
            model: 'claude-3-5-haiku-20241022',
            content,
            stop_reason: stop,
            usage: { input_tokens: 1, output_tokens: 1 },
          },
        },
      });
      fake.inject(answer('pause_turn', [{ type: 'text', text: 'pong' }]), { route: 'create-message' });
      fake.inject(answer(null, [{ type: 'text' }]), { route: 'create-message' });

      // Act
      const paused = parsed(await call('complete-chat', { messages: USER }));
      const empty = parsed(await call('complete-chat', { messages: USER }));

      // Assess
      expect(paused).toMatchObject({ content: 'pong', finishReason: 'other' });
      expect(empty).toMatchObject({ content: '', finishReason: 'other' });
    });
  });

  describe('Operation: generate-object', () => {
    it('forces a tool whose input schema is the caller schema, and answers its input', async () => {
      // Act
      const schema = {
        type: 'object',
        properties: { label: { enum: ['bug', 'feature'] } },
        required: ['label'],
      };
      const response = await call('generate-object', {
        messages: [{ role: 'user', content: 'Label: crash on start' }],
        schemaName: 'issue_label',
        schema,
      });

      // Assess
      expect(parsed(response)).toMatchObject({ object: { label: 'bug' }, attempts: 1 });
      expect(fake.state.requests.at(-1)).toMatchObject({
        tools: [{ name: 'issue_label', input_schema: schema }],
        tool_choice: { type: 'tool', name: 'issue_label' },
      });
    });

    it("points Anthropic's refusal of the tool it sends for the schema at /schema (or /schemaName), not /tools", async () => {
      // Prepare
      const messages = [{ role: 'user', content: 'Labels of: crash on start' }];
      const refusal = (message: string) => ({
        kind: 'answer' as const,
        answer: { status: 400, json: { type: 'error', error: { type: 'invalid_request_error', message } } },
      });

      // Act
      const array = await call('generate-object', {
        messages,
        schema: { type: 'array', items: { type: 'string' } },
      });
      const anyOf = await call('generate-object', {
        messages,
        schema: { anyOf: [{ type: 'object' }, { type: 'string' }] },
      });
      fake.inject(refusal("tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'"), {
        route: 'create-message',
      });
      const name = await call('generate-object', { messages, schema: { type: 'object' } });
      const chatTool = await call('complete-chat', {
        messages,
        tools: [{ name: 'labels', description: 'Labels', parameters: { type: 'array' } }],
      });

      // Assess
      expect([array.statusCode, anyOf.statusCode, name.statusCode, chatTool.statusCode]).toEqual([
        400, 400, 400, 400,
      ]);
      expect(parsed(array)['errors']).toEqual([
        { pointer: '/schema', message: expect.stringContaining('input_schema.type') },
      ]);
      expect(parsed(anyOf)['errors']).toEqual([
        { pointer: '/schema', message: expect.stringContaining('does not support oneOf, allOf, or anyOf') },
      ]);
      expect(parsed(name)['errors']).toEqual([
        { pointer: '/schemaName', message: expect.stringContaining('tools.0.custom.name') },
      ]);
      expect(parsed(chatTool)['errors']).toEqual([
        { pointer: '/tools', message: expect.stringContaining('input_schema.type') },
      ]);
    });

    it('asks again, saying the answer was empty, when the model answers text instead of the tool', async () => {
      // Prepare
      const textOnly = {
        model: 'claude-3-5-haiku-20241022',
        content: [{ type: 'text', text: 'I think it is a bug.' }],
        stop_reason: 'end_turn',
        usage: { input_tokens: 10, output_tokens: 5 },
      };
      fake.inject({ kind: 'answer', answer: { status: 200, json: textOnly } }, { route: 'create-message' });

      // Act
      const response = await call('generate-object', {
        messages: [{ role: 'user', content: 'Label: crash on start' }],
        schemaName: 'issue_label',
        schema: { type: 'object', properties: { label: { enum: ['bug', 'feature'] } }, required: ['label'] },
      });

      // Assess
      expect(parsed(response)).toMatchObject({ object: { label: 'bug' }, attempts: 2 });
      const retry = fake.state.requests.at(-1)?.['messages'] as {
        role: string;
        content: { text?: string }[];
      }[];
      expect(retry[1]).toEqual({ role: 'assistant', content: [{ type: 'text', text: '(empty)' }] });
      expect(retry[2]?.content[0]?.text).toContain('did not match the JSON Schema "issue_label"');
    });

    it('answers 502 StructuredOutputError when the forced tool call twice carries no input', async () => {
      // Prepare
      const noInput = {
        model: 'claude-3-5-haiku-20241022',
        content: [{ type: 'tool_use', id: 't1', name: 'issue_label' }],
        stop_reason: 'tool_use',
        usage: { input_tokens: 10, output_tokens: 5 },
      };
      fake.inject(
        { kind: 'answer', answer: { status: 200, json: noInput } },
        { route: 'create-message', times: 2 },
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
    it('answers 501: Anthropic has no embeddings API', async () => {
      // Act
      const response = await call('embed-texts', { inputs: ['x'] });

      // Assess
      expect(response.statusCode).toBe(501);
      expect(fake.log).toEqual([]);
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
      expect(fake.logFor('create-message').map((entry) => entry.status)).toEqual([200, 401, 200]);
    });

    it('answers 401 when the key stays refused, and never shows it', async () => {
      // Prepare
      fake.state.tokens.clear();

      // Act
      const response = await call('complete-chat', { messages: USER });

      // Assess
      expect(response.statusCode).toBe(401);
      expect(parsed(response)['detail']).toContain('the API key is missing, wrong or revoked');
      expect(`${response.body}${logs.text()}`).not.toContain(ANTHROPIC_SANDBOX_TOKEN);
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and reports no failed record', async () => {
      // Act
      const event = sqsEvent([{ body: { operation: 'complete-chat', input: { messages: USER } } }]);
      const result = await connector.handler(event, lambdaContext());

      // Assess
      expect(result).toEqual({ batchItemFailures: [] });
      expect(fake.logFor('create-message')).toHaveLength(1);
    });

    it('runs a Step Functions task envelope and answers health', async () => {
      // Act
      const output = await connector.handler(
        { trigger: 'task', operation: 'complete-chat', input: { messages: USER } },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/anthropic/health' }),
        lambdaContext(),
      );

      // Assess
      expect(output).toMatchObject({ content: 'pong' });
      expect((health as HttpResult).statusCode).toBe(200);
      expect(JSON.parse((health as HttpResult).body).capabilities).toEqual(['tools', 'structured-output']);
      expect(fake.logFor('get-model')[0]?.path).toBe('/v1/models/claude-3-5-haiku-latest');
    });
  });
});
