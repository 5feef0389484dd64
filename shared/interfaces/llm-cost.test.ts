/**
 * The price table read at cold start: a malformed one is a configuration error naming where it is wrong.
 */
import { ConfigurationError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { estimateCost, loadPriceTable, tokenUsage } from './llm-cost.ts';

describe('Function: loadPriceTable', () => {
  it('throws ConfigurationError naming the fields that are wrong, or the root when it is no table', () => {
    // Prepare
    const missingDate = { provider: 'OpenAI', source: 'https://openai.com/api/pricing', models: {} };

    // Act
    const notATable = (): unknown => loadPriceTable(['gpt-4o']);
    const noDate = (): unknown => loadPriceTable(missingDate);

    // Assess
    expect(notATable).toThrow(ConfigurationError);
    expect(notATable).toThrow('The price table is malformed at (root)');
    expect(noDate).toThrow('The price table is malformed at asOf');
  });
});

describe('Function: estimateCost, on the shipped price tables', () => {
  it('prices a newer model of a family by its own row, not by the older model its id starts with', async () => {
    // Prepare
    const anthropic = loadPriceTable((await import('../../functions/ai/anthropic/prices.json')).default);
    const openai = loadPriceTable((await import('../../functions/ai/openai/prices.json')).default);
    const usage = tokenUsage(1_000_000, 1_000_000);

    // Act
    const opus45 = estimateCost(anthropic, 'claude-opus-4-5-20251101', usage);
    const opus4 = estimateCost(anthropic, 'claude-opus-4-20250514', usage);
    const gpt5mini = estimateCost(openai, 'gpt-5-mini-2025-08-07', usage);

    // Assess: Opus 4.5 is $5 + $25, Opus 4 $15 + $75 (Anthropic's pricing page); gpt-5-mini $0.25 + $2
    expect(opus45).toEqual({ currency: 'USD', estimated: 30, pricedAs: 'claude-opus-4-5' });
    expect(opus4).toEqual({ currency: 'USD', estimated: 90, pricedAs: 'claude-opus-4' });
    expect(gpt5mini).toEqual({ currency: 'USD', estimated: 2.25, pricedAs: 'gpt-5-mini' });
  });
});
