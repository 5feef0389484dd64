/**
 * The parts of the Lambda runtime a harness imitates around each invocation: a fresh context object and,
 * as the runtime does before every invocation, a new `_X_AMZN_TRACE_ID`.
 */
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import type { Context } from 'aws-lambda';

const requestIds: string[] = [];

/** Request ids are made once and reused, so no invocation pays for randomness inside the timed span. */
function requestId(invocation: number): string {
  const slot = invocation % 1024;
  requestIds[slot] ??= randomUUID();
  return requestIds[slot];
}

/**
 * A context like the one the runtime passes, with 30 s left.
 *
 * @example
 * ```ts
 * await handler(event, lambdaContext('bench-core', i));
 * ```
 */
export function lambdaContext(functionName: string, invocation: number): Context {
  const deadline = Date.now() + 30_000;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: requestId(invocation),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const hex = (length: number, seed: number): string => seed.toString(16).padStart(length, '0').slice(-length);

/**
 * Sets the trace header the runtime sets before each invocation (a new trace every time).
 *
 * @example
 * ```ts
 * setTraceHeader(i, true); // Root=1-...;Parent=...;Sampled=1
 * ```
 */
export function setTraceHeader(invocation: number, sampled: boolean): void {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  process.env['_X_AMZN_TRACE_ID'] =
    `Root=1-${epoch}-${hex(24, invocation + 1)};Parent=${hex(16, invocation + 7)};Sampled=${sampled ? 1 : 0}`;
}

/**
 * Whether an answer is the success the benchmark expects.
 *
 * @example
 * ```ts
 * succeeded('http', { statusCode: 200 }); // true
 * ```
 */
export function succeeded(kind: 'http' | 'sqs', response: unknown): boolean {
  if (kind === 'http') return (response as { statusCode?: unknown } | undefined)?.statusCode === 200;
  const failures = (response as { batchItemFailures?: unknown[] } | undefined)?.batchItemFailures;
  return Array.isArray(failures) && failures.length === 0;
}

/**
 * Reads the task the parent put in `BENCH_TASK`.
 *
 * @example
 * ```ts
 * const task = readTask<WarmTask>();
 * ```
 */
export function readTask<T>(): T {
  const text = process.env['BENCH_TASK'];
  if (text === undefined) throw new Error('BENCH_TASK is not set: run this through scripts/bench/run.ts');
  return JSON.parse(text) as T;
}

/**
 * Sends the one answer over IPC and exits (open sockets or timers must not keep the child alive).
 *
 * @example
 * ```ts
 * reply({ samples, failures, loopMs });
 * ```
 */
export function reply(message: unknown): void {
  if (process.send === undefined) throw new Error('No IPC channel: run this through scripts/bench/run.ts');
  process.send(message, undefined, {}, () => process.exit(0));
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * Imports a handler bundle (running its init, top-level awaits included).
 *
 * @example
 * ```ts
 * const handler = await loadHandler('/repo/bench/out/functions/core/index.mjs');
 * ```
 */
export async function loadHandler(bundle: string): Promise<Handler> {
  const module = (await import(pathToFileURL(bundle).href)) as { handler?: unknown };
  if (typeof module.handler !== 'function') throw new Error(`${bundle} exports no handler`);
  return module.handler as Handler;
}
