import * as z from 'zod';
import { parseInput } from './runtime.ts';
import type { OperationRequest } from './types.ts';

const OPERATION_ID = /^[a-z][a-z0-9-]{0,63}$/;

// Built on the first envelope (z.lazy): an HTTP-only cold start never needs it.
const Envelope = z.lazy(() =>
  z.object({
    operation: z.string().regex(OPERATION_ID, 'expected an operation id like put-object'),
    input: z.unknown().optional(),
    correlationId: z.string().optional(),
    idempotencyKey: z.string().min(1).max(256).optional(),
  }),
);

type EnvelopeFields = {
  operation: string;
  input?: unknown;
  correlationId?: string | undefined;
  idempotencyKey?: string | undefined;
};

/**
 * The request when a plain object passes every rule of `Envelope` (checked by hand: a zod parse costs a
 * third of a microsecond per queue record); undefined otherwise, and zod then names what is wrong.
 */
function plainEnvelope(value: unknown): OperationRequest | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  const { operation, input, correlationId, idempotencyKey } = value as Record<string, unknown>;
  if (typeof operation !== 'string' || !OPERATION_ID.test(operation)) return undefined;
  if (correlationId !== undefined && typeof correlationId !== 'string') return undefined;
  if (
    idempotencyKey !== undefined &&
    (typeof idempotencyKey !== 'string' || idempotencyKey.length < 1 || idempotencyKey.length > 256)
  ) {
    return undefined;
  }
  return request(operation, input, correlationId, idempotencyKey);
}

/** The request as handlers see it: `input` defaults to `{}`, absent ids are left out. */
function request(
  operation: string,
  input: unknown,
  correlationId: string | undefined,
  idempotencyKey: string | undefined,
): OperationRequest {
  const built: OperationRequest = { operation, input: input ?? {} };
  if (correlationId !== undefined) built.correlationId = correlationId;
  if (idempotencyKey !== undefined) built.idempotencyKey = idempotencyKey;
  return built;
}

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
  const plain = plainEnvelope(value);
  if (plain !== undefined) return plain;
  const envelope: EnvelopeFields = parseInput(Envelope, value);
  return request(envelope.operation, envelope.input, envelope.correlationId, envelope.idempotencyKey);
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
