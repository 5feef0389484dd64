/**
 * The OpenAI and Anthropic READMEs' failure tables on the running stack (`npm start -- --only
 * openai,anthropic`): a `maxTokens` over the model's output limit is refused by the provider with a 400 the
 * connector points at `/maxTokens` ("`max_completion_tokens` is `/maxTokens`", "`max_tokens` `/maxTokens`"),
 * as OpenAI ("max_tokens is too large: ... This model supports at most 16384 completion tokens") and
 * Anthropic ("max_tokens: ... > 8192, which is the maximum allowed number of output tokens for ...") answer
 * it. The sandboxes answered 200 before, so the README's row could not be seen offline.
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
  for (const name of ['OPENAI_API_URL', 'ANTHROPIC_API_URL', 'CIRCLE_LOCAL_REAL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  stack = await startStackProcess({}, ['--only', 'openai,anthropic']);
}, 240_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

const USER = [{ role: 'user', content: 'Reply with the single word: pong' }];

describe('Local stack: a maxTokens over the model’s output limit', () => {
  it('OpenAI: 400 on /maxTokens with the limit; the limit itself is served', async () => {
    // Act
    const over = await post('/openai/complete-chat', { messages: USER, maxTokens: 16_385 });
    const at = await post('/openai/complete-chat', { messages: USER, maxTokens: 16_384 });
    const larger = await post('/openai/complete-chat', {
      model: 'gpt-4.1-mini',
      messages: USER,
      maxTokens: 32_768,
    });

    // Assess
    expect(over.status).toBe(400);
    expect(over.body['code']).toBe('validation_error');
    expect(over.body['errors']).toEqual([
      { pointer: '/maxTokens', message: expect.stringContaining('at most 16384 completion tokens') },
    ]);
    expect(at).toMatchObject({ status: 200, body: { content: 'pong' } });
    expect(larger).toMatchObject({ status: 200, body: { content: 'pong' } });
  });

  it('Anthropic: 400 on /maxTokens with the limit; the limit itself is served', async () => {
    // Act
    const over = await post('/anthropic/complete-chat', { messages: USER, maxTokens: 8_193 });
    const at = await post('/anthropic/complete-chat', { messages: USER, maxTokens: 8_192 });

    // Assess
    expect(over.status).toBe(400);
    expect(over.body['code']).toBe('validation_error');
    expect(over.body['errors']).toEqual([
      {
        pointer: '/maxTokens',
        message: expect.stringMatching(
          /^max_tokens: 8193 > 8192, which is the maximum allowed number of output tokens/,
        ),
      },
    ]);
    expect(at).toMatchObject({ status: 200, body: { content: 'pong' } });
  });
});
