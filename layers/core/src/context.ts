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
 * Extra arguments are passed to `fn`, so a hot caller needs no closure per call.
 *
 * @example
 * ```ts
 * await withInvocation({ deadline: Date.now() + context.getRemainingTimeInMillis(), correlationId }, run);
 * ```
 */
export function withInvocation<T, A extends unknown[]>(
  scope: InvocationScope,
  fn: (...args: A) => T,
  ...args: A
): T {
  return storage.run(scope, fn, ...args);
}

/**
 * Switches the invocation scope for the rest of the current synchronous run and for everything it starts
 * (promises, timers), until the next switch. Only inside a {@link withInvocation} callback, which restores
 * the caller's scope when it returns: a batch that starts its records concurrently enters each record's
 * scope in turn, one scope object per record where a `withInvocation` per record makes two (entering and
 * restoring each copy the async context).
 *
 * @example
 * ```ts
 * const pending = withInvocation(batchScope, () =>
 *   records.map((record) => {
 *     enterInvocation({ deadline, correlationId: record.messageId });
 *     return run(record);
 *   }),
 * );
 * ```
 */
export function enterInvocation(scope: InvocationScope): void {
  storage.enterWith(scope);
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
