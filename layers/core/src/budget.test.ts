import { describe, expect, it } from 'vitest';
import { ANSWER_RESERVE_MS, callBudget, MIN_CALL_MS } from './budget.ts';
import { TimeoutError } from './errors.ts';

describe('Function: callBudget', () => {
  it("uses the call's own timeout when the invocation has more time", () => {
    expect(callBudget(5_000, 'x', 60_000)).toBe(5_000);
  });

  it('uses the time left less the reserve when that is shorter', () => {
    expect(callBudget(5_000, 'x', 1_000)).toBe(1_000 - ANSWER_RESERVE_MS);
  });

  it('uses the own timeout outside an invocation', () => {
    expect(callBudget(5_000, 'x')).toBe(5_000);
  });

  it('refuses with a TimeoutError naming the call when less than the minimum is left', () => {
    expect(() => callBudget(5_000, 'S3 GetObject', ANSWER_RESERVE_MS + MIN_CALL_MS - 1)).toThrow(
      new TimeoutError('S3 GetObject was not attempted: the invocation has no time left for it'),
    );
  });
});
