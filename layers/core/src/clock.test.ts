import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { monotonicMs } from './clock.ts';

describe('Function: monotonicMs', () => {
  it('never goes back and measures elapsed milliseconds', async () => {
    // Act
    const readings = Array.from({ length: 1_000 }, () => monotonicMs());
    const started = monotonicMs();
    await sleep(25);
    const elapsed = monotonicMs() - started;
    // Assess
    for (let i = 1; i < readings.length; i += 1) {
      expect(readings[i]).toBeGreaterThanOrEqual(readings[i - 1] as number);
    }
    expect(elapsed).toBeGreaterThanOrEqual(20);
    expect(elapsed).toBeLessThan(5_000);
  });
});
