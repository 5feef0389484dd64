import { describe, expect, it } from 'vitest';
import { currentCorrelationId, remainingTimeMs, withInvocation } from './context.ts';

describe('Module: context', () => {
  it('knows the remaining time and correlation id inside an invocation only', async () => {
    // Prepare
    const deadline = Date.now() + 5000;
    // Act
    const inside = await withInvocation({ deadline, correlationId: 'c-1' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { remaining: remainingTimeMs(), id: currentCorrelationId() };
    });
    // Assess
    expect(inside.id).toBe('c-1');
    expect(inside.remaining).toBeLessThanOrEqual(5000);
    expect(inside.remaining).toBeGreaterThan(4000);
    expect(remainingTimeMs()).toBe(Number.POSITIVE_INFINITY);
    expect(currentCorrelationId()).toBeUndefined();
  });
});
