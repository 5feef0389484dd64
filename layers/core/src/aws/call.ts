/**
 * Every AWS SDK call a connector or the core makes goes through {@link awsCall}: the call gets the time
 * budget of {@link callBudget} as an abort signal, and its failure is mapped once by {@link awsFailure}.
 */
import { callBudget } from '../budget.ts';
import { type AwsCallTarget, awsFailure } from './errors.ts';

/** A call's own upper bound when it names none. */
export const DEFAULT_AWS_CALL_TIMEOUT_MS = 5_000;

/**
 * Runs one SDK call within the invocation's time left and maps its failure into the taxonomy.
 *
 * @example
 * ```ts
 * const out = await awsCall({ service: 'SQS', action: 'SendMessage' }, (abortSignal) =>
 *   sqs.send(new SendMessageCommand(input), { abortSignal }),
 * );
 * ```
 */
export async function awsCall<T>(
  target: AwsCallTarget & { timeoutMs?: number | undefined },
  send: (abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  const budgetMs = callBudget(
    target.timeoutMs ?? DEFAULT_AWS_CALL_TIMEOUT_MS,
    `${target.service} ${target.action}`,
  );
  try {
    return await send(AbortSignal.timeout(budgetMs));
  } catch (error) {
    throw awsFailure({ ...target, budgetMs }, error);
  }
}
