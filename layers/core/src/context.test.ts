import { afterEach, describe, expect, it, vi } from 'vitest';
import { currentCorrelationId, remainingTimeMs, withInvocation } from './context.ts';

describe('Module: context', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('knows the remaining time and correlation id inside an invocation only', async () => {
    // Prepare: a frozen clock, so the time left is exact however long the await below takes.
    const now = Date.now();
    vi.spyOn(Date, 'now').mockReturnValue(now);
    const deadline = now + 5000;
    // Act
    const inside = await withInvocation({ deadline, correlationId: 'c-1' }, async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return {
        remaining: remainingTimeMs(),
        later: remainingTimeMs(now + 1_234),
        id: currentCorrelationId(),
      };
    });
    // Assess
    expect(inside.id).toBe('c-1');
    expect(inside.remaining).toBe(5000);
    expect(inside.later).toBe(3766);
    expect(remainingTimeMs()).toBe(Number.POSITIVE_INFINITY);
    expect(currentCorrelationId()).toBeUndefined();
  });
});
