/**
 * Every AWS SDK call a connector or the core makes goes through {@link awsCall}: the call gets the time
 * budget of {@link callBudget} as an abort signal, and its failure is mapped once by {@link awsFailure}.
 * A connector whose SDK client retries nothing (`maxAttempts: 1`) passes `retry`, so the core's one policy
 * decides: retryable failures only, the wait AWS asked for (`Retry-After`) or full-jitter backoff, and never
 * a wait the invocation's time left cannot hold.
 */
import { ANSWER_RESERVE_MS, callBudget, MIN_CALL_MS } from '../budget.ts';
import { remainingTimeMs } from '../context.ts';
import { backoffDelayMs } from '../http/backoff.ts';
import { type AwsCallTarget, awsFailure } from './errors.ts';

/** A call's own upper bound when it names none. */
export const DEFAULT_AWS_CALL_TIMEOUT_MS = 5_000;

/** The core's retry policy for one AWS call (the SDK client's own retries off). */
export interface AwsRetry {
  /** Attempts including the first. */
  maxAttempts: number;
  /** The cap of the first retry's delay; default 200 ms. */
  baseDelayMs?: number | undefined;
  /** No delay (backoff or Retry-After) exceeds this; default 5000 ms. */
  maxDelayMs?: number | undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs one SDK call within the invocation's time left and maps its failure into the taxonomy; with
 * `retry`, retries a retryable failure (throttling, 5xx, timeouts) as the core's policy says.
 *
 * @example
 * ```ts
 * const out = await awsCall({ service: 'SQS', action: 'SendMessage' }, (abortSignal) =>
 *   sqs.send(new SendMessageCommand(input), { abortSignal }),
 * );
 * ```
 */
export async function awsCall<T>(
  target: AwsCallTarget & { timeoutMs?: number | undefined; retry?: AwsRetry | undefined },
  send: (abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  const { retry, ...rest } = target;
  const maxAttempts = retry?.maxAttempts ?? 1;
  for (let attempt = 1; ; attempt += 1) {
    const budgetMs = callBudget(
      rest.timeoutMs ?? DEFAULT_AWS_CALL_TIMEOUT_MS,
      `${rest.service} ${rest.action}`,
    );
    try {
      return await send(AbortSignal.timeout(budgetMs));
    } catch (error) {
      const failure = awsFailure({ ...rest, budgetMs }, error);
      if (!failure.retryable || attempt >= maxAttempts) throw failure;
      const maxDelayMs = retry?.maxDelayMs ?? 5_000;
      const asked = (failure as { retryAfterMs?: number | undefined }).retryAfterMs;
      const waitMs = asked ?? backoffDelayMs(attempt, { baseDelayMs: retry?.baseDelayMs ?? 200, maxDelayMs });
      // A wait longer than allowed, or than the time left can hold with a try after it, is the failure.
      if (waitMs > maxDelayMs || waitMs + MIN_CALL_MS + ANSWER_RESERVE_MS > remainingTimeMs()) throw failure;
      await sleep(waitMs);
    }
  }
}
