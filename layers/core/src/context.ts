import { AsyncLocalStorage } from 'node:async_hooks';

/** What the core knows about the invocation in progress; read by the HTTP client and the logger. */
export interface InvocationScope {
  /** Epoch milliseconds at which Lambda will stop this invocation. */
  deadline: number;
  correlationId: string;
}

const storage = new AsyncLocalStorage<InvocationScope>();

/**
 * Runs `fn` with an invocation scope, so code deep in a call (the HTTP client) knows the time left.
 *
 * @example
 * ```ts
 * await withInvocation({ deadline: Date.now() + context.getRemainingTimeInMillis(), correlationId }, run);
 * ```
 */
export function withInvocation<T>(scope: InvocationScope, fn: () => T): T {
  return storage.run(scope, fn);
}

/**
 * Milliseconds left in the current invocation, or `Infinity` outside one (library use, scripts).
 *
 * @example
 * ```ts
 * const budget = Math.min(remainingTimeMs() - 500, 10_000);
 * ```
 */
export function remainingTimeMs(now: number = Date.now()): number {
  const scope = storage.getStore();
  return scope === undefined ? Number.POSITIVE_INFINITY : scope.deadline - now;
}

/**
 * The correlation id of the current invocation, if any.
 *
 * @example
 * ```ts
 * headers['x-correlation-id'] = currentCorrelationId() ?? randomUUID();
 * ```
 */
export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}
