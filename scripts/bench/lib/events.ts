/**
 * The events the variants receive: an API Gateway HTTP API request with the headers a real gateway adds,
 * and an SQS batch of records carrying `{ operation, input }`. Built with the core's own test helpers.
 */
import { httpEvent, sqsEvent } from '../../../layers/core/src/testing/events.ts';
import { OPERATION, SAMPLE_INPUT } from '../variants/operation.ts';

/** Headers API Gateway passes on a typical request (all lower-cased, as the HTTP API sends them). */
export const GATEWAY_HEADERS: Record<string, string> = {
  accept: 'application/json',
  'accept-encoding': 'gzip, deflate, br',
  'content-length': String(JSON.stringify(SAMPLE_INPUT).length),
  'user-agent': 'bench-client/1.0',
  'x-amzn-trace-id': 'Root=1-67a0b1c2-0123456789abcdef01234567',
  'x-forwarded-for': '198.51.100.7',
  'x-forwarded-port': '443',
  'x-forwarded-proto': 'https',
};

/**
 * `POST /bench/create-item` with the sample input, authorised by IAM (the core's operation routes require
 * the gateway authorizer), as JSON text.
 *
 * @example
 * ```ts
 * const event = JSON.parse(httpEventText());
 * ```
 */
export function httpEventText(): string {
  return JSON.stringify(
    httpEvent({ method: 'POST', path: `/bench/${OPERATION}`, body: SAMPLE_INPUT, headers: GATEWAY_HEADERS }),
  );
}

/**
 * An SQS batch of `size` records, each `{ operation: 'create-item', input }`, as JSON text.
 *
 * @example
 * ```ts
 * const event = JSON.parse(sqsEventText(10));
 * ```
 */
export function sqsEventText(size: number): string {
  const messages = Array.from({ length: size }, (_, index) => ({
    body: { operation: OPERATION, input: { ...SAMPLE_INPUT, quantity: index + 1 } },
  }));
  return JSON.stringify(sqsEvent(messages, { queue: 'bench-requests' }));
}
