/**
 * The OpenAI, Anthropic and Amazon Bedrock connectors on the running local stack
 * (`npm start -- --only openai,anthropic,bedrock`),
 * against their sandboxes:
 * the README examples as a newcomer runs them through the HTTP API, answered by the contract fake's
 * deterministic model.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from './stack-process.ts';

let stack: StackProcess;

async function post(path: string, input: unknown) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  for (const name of ['OPENAI_API_URL', 'ANTHROPIC_API_URL', 'BEDROCK_ENDPOINT_URL', 'CIRCLE_LOCAL_REAL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  stack = await startStackProcess({}, ['--only', 'openai,anthropic,bedrock']);
}, 240_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

describe('Local stack: OpenAI sandbox', () => {
  it('says OpenAI talks to its sandbox, and health reaches it', async () => {
    // Act
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      connectors: { connector: string; kind: string }[];
    };
    const own = await fetch(`${stack.apiUrl}/openai/health`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });

    // Assess
    expect(health.connectors.find((reach) => reach.connector === 'openai')?.kind).toBe('sandbox');
    expect(own.status).toBe(200);
  });

  it('runs the README examples as written: chat, tool call, structured output, embeddings', async () => {
    // Act
    const chat = await post('/openai/complete-chat', {
      system: 'You answer in one word.',
      messages: [{ role: 'user', content: 'Reply with the single word: pong' }],
      temperature: 0,
    });
    const tool = await post('/openai/complete-chat', {
      messages: [{ role: 'user', content: 'What is the weather in Paris? Use get_weather.' }],
      tools: [
        {
          name: 'get_weather',
          description: 'The current weather in a city',
          parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
        },
      ],
    });
    const object = await post('/openai/generate-object', {
      messages: [{ role: 'user', content: 'Label this issue: the app crashes on start' }],
      schemaName: 'issue_label',
      schema: {
        type: 'object',
        properties: { label: { type: 'string', enum: ['bug', 'feature', 'question'] } },
        required: ['label'],
      },
    });
    const vectors = await post('/openai/embed-texts', {
      inputs: ['the cat sat on the mat', 'quarterly revenue grew'],
      dimensions: 256,
    });

    // Assess
    expect(chat).toMatchObject({
      status: 200,
      body: { content: 'pong', finishReason: 'stop', cost: { currency: 'USD', pricedAs: 'gpt-4o-mini' } },
    });
    expect(tool).toMatchObject({
      status: 200,
      body: {
        finishReason: 'tool-calls',
        toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }],
      },
    });
    expect(object).toMatchObject({ status: 200, body: { object: { label: 'bug' }, attempts: 1 } });
    expect(vectors).toMatchObject({
      status: 200,
      body: { dimensions: 256, model: 'text-embedding-3-small' },
    });
    expect(vectors.body['embeddings']).toHaveLength(2);
  });

  it('answers a 400 naming the field for a bad input', async () => {
    // Act
    const response = await post('/openai/complete-chat', { messages: [], temperature: 5 });

    // Assess
    expect(response.status).toBe(400);
    const pointers = (response.body['errors'] as { pointer: string }[]).map((issue) => issue.pointer);
    expect(pointers).toEqual(expect.arrayContaining(['/messages', '/temperature']));
  });

  it('refuses a JSON Schema zod cannot read with a 400 on /schema, before asking the model', async () => {
    // Act: the built function converts it with the layer's zod/json-schema, loaded on first use.
    const response = await post('/openai/generate-object', {
      messages: [{ role: 'user', content: 'Label this issue' }],
      schema: { type: 'nonsense' },
    });

    // Assess
    expect(response.status, JSON.stringify(response.body)).toBe(400);
    expect(response.body['errors']).toEqual([
      { pointer: '/schema', message: expect.stringMatching(/^not a usable JSON Schema: /) },
    ]);
  });
});

describe('Local stack: Anthropic sandbox', () => {
  it('says Anthropic talks to its sandbox, and health reaches it', async () => {
    // Act
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      connectors: { connector: string; kind: string }[];
    };
    const own = await fetch(`${stack.apiUrl}/anthropic/health`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });

    // Assess
    expect(health.connectors.find((reach) => reach.connector === 'anthropic')?.kind).toBe('sandbox');
    expect(own.status).toBe(200);
  });

  it('runs the README examples as written, and refuses embeddings with a 501', async () => {
    // Act
    const chat = await post('/anthropic/complete-chat', {
      system: 'You answer in one word.',
      messages: [{ role: 'user', content: 'Reply with the single word: pong' }],
      temperature: 0,
    });
    const object = await post('/anthropic/generate-object', {
      messages: [{ role: 'user', content: 'Label this issue: the app crashes on start' }],
      schemaName: 'issue_label',
      schema: {
        type: 'object',
        properties: { label: { type: 'string', enum: ['bug', 'feature', 'question'] } },
        required: ['label'],
      },
    });
    const vectors = await post('/anthropic/embed-texts', { inputs: ['x'] });

    // Assess
    expect(chat).toMatchObject({
      status: 200,
      body: { content: 'pong', model: 'claude-3-5-haiku-20241022', cost: { pricedAs: 'claude-3-5-haiku' } },
    });
    expect(object).toMatchObject({ status: 200, body: { object: { label: 'bug' }, attempts: 1 } });
    expect(vectors.status).toBe(501);
  });
});

describe('Local stack: Amazon Bedrock sandbox', () => {
  it('says Bedrock talks to its sandbox, and health reaches it', async () => {
    // Act
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      connectors: { connector: string; kind: string }[];
    };
    const own = await fetch(`${stack.apiUrl}/bedrock/health`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });

    // Assess
    expect(health.connectors.find((reach) => reach.connector === 'bedrock')?.kind).toBe('sandbox');
    expect(own.status).toBe(200);
  });

  it('runs the README examples as written: chat, structured output, embeddings', async () => {
    // Act
    const chat = await post('/bedrock/complete-chat', {
      system: 'You answer in one word.',
      messages: [{ role: 'user', content: 'Reply with the single word: pong' }],
    });
    const object = await post('/bedrock/generate-object', {
      messages: [{ role: 'user', content: 'Label this issue: the app crashes on start' }],
      schemaName: 'issue_label',
      schema: {
        type: 'object',
        properties: { label: { type: 'string', enum: ['bug', 'feature', 'question'] } },
        required: ['label'],
      },
    });
    const vectors = await post('/bedrock/embed-texts', {
      inputs: ['the cat sat on the mat', 'quarterly revenue grew'],
      dimensions: 256,
    });

    // Assess
    expect(chat).toMatchObject({
      status: 200,
      body: {
        content: 'pong',
        model: 'anthropic.claude-3-haiku-20240307-v1:0',
        cost: { pricedAs: 'anthropic.claude-3-haiku' },
      },
    });
    expect(object).toMatchObject({ status: 200, body: { object: { label: 'bug' }, attempts: 1 } });
    expect(vectors).toMatchObject({
      status: 200,
      body: { dimensions: 256, model: 'amazon.titan-embed-text-v2:0' },
    });
    expect(vectors.body['embeddings']).toHaveLength(2);
  });
});
