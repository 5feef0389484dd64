/**
 * What each trigger can carry back. Lambda refuses a synchronous response over 6 MB and Step Functions a
 * state over 256 KiB; both fail far from the cause (API Gateway answers a bare 502, the execution fails with
 * `States.DataLimitExceeded`). The connector checks first and answers a problem that names the operation,
 * the size and the limit, so the caller knows to ask for less.
 */
import { PayloadTooLargeError } from '../errors.ts';
import type { Trigger } from './types.ts';

/** A synchronous Lambda invocation's response payload (API Gateway, direct invoke). */
export const LAMBDA_RESPONSE_LIMIT_BYTES = 6_291_456;

/** One Step Functions state's input or output. */
export const STATE_LIMIT_BYTES = 262_144;

/**
 * The most an operation's serialised answer may take for a trigger; `undefined` where nobody receives it
 * (queue records and schedules are asynchronous invocations whose result is discarded).
 *
 * @example
 * ```ts
 * responseLimit('task'); // 262144
 * ```
 */
export function responseLimit(trigger: Trigger): number | undefined {
  switch (trigger) {
    case 'task':
      return STATE_LIMIT_BYTES;
    case 'http':
    case 'direct':
      return LAMBDA_RESPONSE_LIMIT_BYTES;
    default:
      return undefined;
  }
}

/**
 * Throws a {@link PayloadTooLargeError} when `bytes` exceeds what `trigger` can carry.
 *
 * @example
 * ```ts
 * assertResponseFits('query', 'task', Buffer.byteLength(JSON.stringify(output)));
 * ```
 */
export function assertResponseFits(operation: string, trigger: Trigger, bytes: number): void {
  const limit = responseLimit(trigger);
  if (limit === undefined || bytes <= limit) return;
  const carrier = trigger === 'task' ? 'a Step Functions state' : 'a synchronous Lambda response';
  throw new PayloadTooLargeError(limit, {
    message:
      `The answer of ${operation} is ${bytes} bytes, over the ${limit}-byte limit of ${carrier}: ` +
      'ask for less (a smaller page, limit or selection)',
    details: { operation, bytes, limitBytes: limit },
  });
}

/**
 * The size of a value as Lambda serialises it (JSON, UTF-8).
 *
 * @example
 * ```ts
 * serialisedBytes({ a: 'é' }); // 10
 * ```
 */
export function serialisedBytes(value: unknown): number {
  const text = JSON.stringify(value);
  return text === undefined ? 0 : Buffer.byteLength(text);
}
