import { afterEach, describe, expect, it, vi } from 'vitest';
import { currentCorrelationId, enterInvocation, remainingTimeMs, withInvocation } from './context.ts';

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

  it('lets tasks started inside one scope each enter their own, and restores the caller when it returns', async () => {
    // Prepare: three tasks that read their scope before and after settling in reverse order.
    const read = async (turns: number): Promise<string[]> => {
      const before = String(currentCorrelationId());
      for (let i = 0; i < turns; i += 1) await new Promise((resolve) => setImmediate(resolve));
      return [before, String(currentCorrelationId())];
    };
    // Act
    const outer = await withInvocation({ deadline: Date.now() + 5000, correlationId: 'outer' }, async () => {
      const started = withInvocation({ deadline: Date.now() + 1000, correlationId: 'batch' }, () =>
        [3, 2, 1].map((turns, index) => {
          enterInvocation({ deadline: Date.now() + 1000, correlationId: `r${index}` });
          return read(turns);
        }),
      );
      const between = currentCorrelationId();
      const views = await Promise.all(started);
      return { between, views, after: currentCorrelationId() };
    });
    // Assess
    expect(outer.views).toEqual([
      ['r0', 'r0'],
      ['r1', 'r1'],
      ['r2', 'r2'],
    ]);
    expect(outer.between).toBe('outer');
    expect(outer.after).toBe('outer');
    expect(currentCorrelationId()).toBeUndefined();
  });
});
