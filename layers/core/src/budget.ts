/**
 * One answer to "how long may this call take": the smaller of its own timeout and the invocation's time
 * left, less a reserve so the connector can still answer (a problem, a queue failure) before Lambda stops
 * it. Every outbound caller (the HTTP client, the AWS kit, connection-based providers, token exchanges)
 * asks here, so the margin is the same everywhere.
 */
import { remainingTimeMs } from './context.ts';
import { TimeoutError } from './errors.ts';

/** Time kept back from every call to answer the caller after it fails. */
export const ANSWER_RESERVE_MS = 200;

/** A call given less than this would only fail at the network layer; it fails here, clearly, instead. */
export const MIN_CALL_MS = 10;

/**
 * The timeout for one call: `min(timeoutMs, time left - reserve)`, in whole milliseconds. Throws a
 * {@link TimeoutError} naming `what` when less than {@link MIN_CALL_MS} is left. Outside an invocation
 * (scripts, library use) the time left is unbounded, so the call's own timeout applies.
 *
 * @example
 * ```ts
 * const budgetMs = callBudget(5_000, 'S3 GetObject');
 * await s3.send(command, { abortSignal: AbortSignal.timeout(budgetMs) });
 * ```
 */
export function callBudget(timeoutMs: number, what: string, remaining: number = remainingTimeMs()): number {
  const budget = Math.floor(Math.min(timeoutMs, remaining - ANSWER_RESERVE_MS));
  if (budget < MIN_CALL_MS) {
    throw new TimeoutError(`${what} was not attempted: the invocation has no time left for it`);
  }
  return budget;
}
