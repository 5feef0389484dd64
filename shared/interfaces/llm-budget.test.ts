/**
 * What an LLM call adds to its invocation line: its tokens always, its estimated cost only when known.
 */
import { describe, expect, it } from 'vitest';
import { tokenMeasures } from './llm-budget.ts';
import { tokenUsage } from './llm-cost.ts';

describe('Function: tokenMeasures', () => {
  it('measures the tokens, and the cost only when the model is priced', () => {
    // Act
    const priced = tokenMeasures({ usage: tokenUsage(10, 2), cost: { estimated: 0.000_01 } });
    const unpriced = tokenMeasures({ usage: tokenUsage(10, 2), cost: { estimated: null } });

    // Assess
    expect(priced).toEqual({ inputTokens: 10, outputTokens: 2, estimatedCostUsd: 0.000_01 });
    expect(unpriced).toEqual({ inputTokens: 10, outputTokens: 2 });
  });
});
