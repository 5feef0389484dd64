import * as z from 'zod';
import { parseInput } from './runtime.ts';
import type { OperationRequest } from './types.ts';

// Built on the first envelope (z.lazy): an HTTP-only cold start never needs it.
const Envelope = z.lazy(() =>
  z.object({
    operation: z.string().regex(/^[a-z][a-z0-9-]{0,63}$/, 'expected an operation id like put-object'),
    input: z.unknown().optional(),
    correlationId: z.string().optional(),
    idempotencyKey: z.string().min(1).max(256).optional(),
  }),
);

/**
 * Validates an operation request envelope (`{ operation, input, correlationId?, idempotencyKey? }`), as
 * carried by queue records, schedule inputs, Step Functions tasks and direct invokes.
 *
 * @example
 * ```ts
 * const request = parseEnvelope(JSON.parse(record.body));
 * ```
 */
export function parseEnvelope(value: unknown): OperationRequest {
  const envelope = parseInput(Envelope, value);
  const request: OperationRequest = { operation: envelope.operation, input: envelope.input ?? {} };
  if (envelope.correlationId !== undefined) request.correlationId = envelope.correlationId;
  if (envelope.idempotencyKey !== undefined) request.idempotencyKey = envelope.idempotencyKey;
  return request;
}

/**
 * Accepts a caller's correlation id only when it is a plain token (no log injection, bounded length).
 *
 * @example
 * ```ts
 * const id = correlationIdFrom(headers['x-correlation-id']) ?? context.awsRequestId;
 * ```
 */
export function correlationIdFrom(value: unknown): string | undefined {
  return typeof value === 'string' && /^[\w.:-]{1,128}$/.test(value) ? value : undefined;
}
