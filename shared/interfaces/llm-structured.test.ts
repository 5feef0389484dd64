import { ConfigurationError, ValidationError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { CompleteChatInput, GenerateObjectInput } from '../models/llm.ts';
import { addCosts, estimateCost, loadPriceTable, tokenUsage } from './llm-cost.ts';
import { generateValidated, type StructuredAttempt, StructuredOutputError } from './llm-structured.ts';

const PRICES = loadPriceTable({
  provider: 'Test',
  source: 'https://example.com/pricing',
  asOf: '2026-01-01',
  models: {
    'gpt-4o': { inputPerMillion: 2.5, outputPerMillion: 10 },
    'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 },
  },
});

const request = GenerateObjectInput.parse({
  messages: [{ role: 'user', content: 'label it' }],
  schema: { type: 'object', properties: { label: { enum: ['bug', 'feature'] } }, required: ['label'] },
});

function answering(...texts: string[]) {
  const seen: unknown[][] = [];
  const ask = async (messages: unknown[]): Promise<StructuredAttempt> => {
    seen.push(messages);
    const usage = tokenUsage(10, 5);
    return {
      model: 'gpt-4o-mini',
      text: texts[seen.length - 1] ?? '',
      usage,
      cost: estimateCost(PRICES, 'gpt-4o-mini', usage),
    };
  };
  return { ask, seen };
}

describe('Function: estimateCost', () => {
  it('prices a dated model id by its longest prefix', () => {
    // Act
    const cost = estimateCost(PRICES, 'gpt-4o-mini-2024-07-18', tokenUsage(1000, 200));
    // Assess
    expect(cost).toEqual({ currency: 'USD', estimated: 0.00027, pricedAs: 'gpt-4o-mini' });
  });

  it('returns a null estimate for a model the table does not list', () => {
    // Act
    const cost = estimateCost(PRICES, 'o9-preview', tokenUsage(1000, 200));
    // Assess
    expect(cost).toEqual({ currency: 'USD', estimated: null, pricedAs: null });
    expect(addCosts(cost, estimateCost(PRICES, 'gpt-4o', tokenUsage(1, 1))).estimated).toBeNull();
  });

  it('throws ConfigurationError naming the field of a malformed table', () => {
    // Act
    const attempt = () =>
      loadPriceTable({
        provider: 'x',
        source: 'y',
        asOf: '2026-01-01',
        models: { a: { inputPerMillion: -1, outputPerMillion: 0 } },
      });
    // Assess
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/models\.a\.inputPerMillion/);
  });
});

describe('Function: generateValidated', () => {
  it('returns the first answer when it matches, reading a fenced answer too', async () => {
    // Prepare
    const { ask, seen } = answering('```json\n{"label":"bug"}\n```');
    // Act
    const answer = await generateValidated(request, ask);
    // Assess
    expect(answer).toMatchObject({ object: { label: 'bug' }, attempts: 1, usage: { totalTokens: 15 } });
    expect(seen).toHaveLength(1);
  });

  it('retries once with the validation message and sums usage and cost', async () => {
    // Prepare
    const { ask, seen } = answering('not json', '{"label":"feature"}');
    // Act
    const answer = await generateValidated(request, ask);
    // Assess
    expect(answer).toMatchObject({
      object: { label: 'feature' },
      attempts: 2,
      usage: { inputTokens: 20, totalTokens: 30 },
    });
    expect(answer.cost.estimated).toBe(0.000009);
    const retry = seen[1] as { role: string; content: string }[];
    expect(retry).toHaveLength(3);
    expect(retry[1]).toEqual({ role: 'assistant', content: 'not json' });
    expect(retry[2]?.content).toMatch(/did not match the JSON Schema "answer":\n\/: the answer is not JSON/);
  });

  it('throws StructuredOutputError naming the field, not the value, when the retry misses too', async () => {
    // Prepare
    const { ask } = answering('{"label":"secret-value-1"}', '{"label":"secret-value-2"}');
    // Act
    const attempt = generateValidated(request, ask);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(StructuredOutputError);
    await expect(attempt).rejects.toThrow(/schema "answer" after a retry \(at \/label\)/);
    await expect(attempt).rejects.not.toThrow(/secret-value/);
    await expect(attempt).rejects.toMatchObject({ name: 'StructuredOutputError', status: 502 });
  });

  it('refuses an unreadable schema on /schema, as input validation words it, before asking', async () => {
    // Prepare
    const { ask, seen } = answering('{"label":"bug"}');
    const unreadable = GenerateObjectInput.parse({
      messages: [{ role: 'user', content: 'x' }],
      schema: { type: 'nonsense' },
    });
    // Act
    const attempt = generateValidated(unreadable, ask);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toThrow(/^Invalid input: \/schema: not a usable JSON Schema: /);
    await expect(attempt).rejects.toMatchObject({
      issues: [{ pointer: '/schema', message: expect.stringMatching(/^not a usable JSON Schema: /) }],
    });
    expect(seen).toHaveLength(0);
  });
});

describe('Model: CompleteChatInput', () => {
  const messages = [{ role: 'user', content: 'hi' }];
  const tool = { name: 'get_weather', parameters: { type: 'object' } };

  it('refuses a toolChoice without tools, and duplicate tool names, naming the field', () => {
    // Act
    const noTools = CompleteChatInput.safeParse({ messages, toolChoice: 'required' });
    const twice = CompleteChatInput.safeParse({ messages, tools: [tool, tool] });
    // Assess
    expect(noTools.error?.issues.map((issue) => issue.path)).toEqual([['toolChoice']]);
    expect(twice.error?.issues.map((issue) => issue.path)).toEqual([['tools']]);
  });

  it('accepts tools with a choice naming one of them', () => {
    // Act
    const parsed = CompleteChatInput.safeParse({
      messages,
      tools: [tool],
      toolChoice: { name: 'get_weather' },
    });
    // Assess
    expect(parsed.success).toBe(true);
  });
});
