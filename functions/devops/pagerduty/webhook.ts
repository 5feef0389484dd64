/**
 * The PagerDuty webhook (v3) receiver: verifies `X-PagerDuty-Signature` (`v1=` + hex HMAC-SHA256 of the raw
 * body under the subscription's secret; during a secret rotation PagerDuty sends several, comma-separated,
 * and one match is enough), compared in constant time; refuses stale events; hands each event on once,
 * deduplicated on its `event.id` (a redelivery carries the same one) through the core's event receiving.
 */
import {
  AuthError,
  ConfigurationError,
  type EventReceiving,
  handOn,
  type Logger,
  parseJson,
  type RouteRequest,
  type RouteResponse,
  type Secret,
  ValidationError,
  verifyAnyHmacSignature,
  type WebhookEvent,
} from '@circle-core/core';

const EVENT_ID = /^[\w-]{1,64}$/;
const EVENT_TYPE = /^[a-z_]{1,40}\.[a-z_]{1,40}$/;
const MAX_SIGNATURES = 10;

/** What the receiver needs; built once per container. */
export interface PagerDutyWebhookReceiver {
  secret: Secret;
  receiving: EventReceiving;
  maxAgeSeconds: number;
  now?: () => number;
}

/**
 * Checks `X-PagerDuty-Signature` against the raw body: any of its `v1=` signatures matching passes.
 * Throws AuthError (missing or none matching), never echoing what was received.
 *
 * @example
 * ```ts
 * verifyPagerDutySignature(request.rawBody, request.headers['x-pagerduty-signature'], secret);
 * ```
 */
export function verifyPagerDutySignature(rawBody: Buffer, header: string | undefined, secret: string): void {
  if (secret === '') throw new ConfigurationError('The PagerDuty webhook secret is empty');
  if (header === undefined || header.trim() === '') throw new AuthError('Webhook signature is missing');
  const signatures = header
    .split(',')
    .slice(0, MAX_SIGNATURES)
    .map((part) => part.trim())
    .filter((part) => part.startsWith('v1='))
    .map((part) => part.slice(3));
  if (signatures.length === 0) throw new AuthError('Webhook signature does not match');
  verifyAnyHmacSignature({ secret, signedContent: rawBody, signatures });
}

function field(value: unknown, ...path: string[]): unknown {
  let at = value;
  for (const key of path) {
    if (typeof at !== 'object' || at === null) return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

/**
 * Serves `POST /pagerduty/webhook`: 401 unsigned, tampered or stale; 200 `{ duplicate: true }` for an event
 * already accepted; 202 `{ accepted: true, event, deliveryId }` otherwise; 5xx when the secret cannot be read
 * or handing on failed (not recorded, so PagerDuty's retry gets through).
 *
 * @example
 * ```ts
 * route({ method: 'POST', path: '/pagerduty/webhook', auth: 'signature', description: 'PagerDuty webhooks',
 *   handle: (request, { services, logger }) => receivePagerDutyWebhook(request, services.webhooks, logger) });
 * ```
 */
export async function receivePagerDutyWebhook(
  request: RouteRequest,
  receiver: PagerDutyWebhookReceiver,
  logger: Logger,
): Promise<RouteResponse> {
  const secret = (await receiver.secret.text()).trim();
  verifyPagerDutySignature(request.rawBody, request.headers['x-pagerduty-signature'], secret);
  const payload = parseJson(request.rawBody.toString('utf8'), 'webhook payload');
  const id = field(payload, 'event', 'id');
  const type = field(payload, 'event', 'event_type');
  const occurredAt = Date.parse(String(field(payload, 'event', 'occurred_at')));
  const now = (receiver.now ?? Date.now)();
  if (Number.isNaN(occurredAt) || now - occurredAt > receiver.maxAgeSeconds * 1000) {
    throw new AuthError('Webhook event is stale or has no occurred_at');
  }
  if (typeof id !== 'string' || !EVENT_ID.test(id) || typeof type !== 'string' || !EVENT_TYPE.test(type)) {
    throw new ValidationError('The webhook payload has no event id or event_type', [
      { pointer: '/event', message: 'expected { id, event_type, occurred_at }' },
    ]);
  }
  const event: WebhookEvent = {
    provider: 'pagerduty',
    name: type.replaceAll('.', '-').replaceAll('_', '-'),
    event: type,
    deliveryId: id,
    correlationId: request.correlationId,
    receivedAt: new Date(now).toISOString(),
    payload,
  };
  const resource = field(payload, 'event', 'data', 'id');
  if (typeof resource === 'string') event.source = resource;
  const sink = receiver.receiving.sinkOr(logger);
  const outcome = await handOn(event, { ledger: receiver.receiving.requireLedger(), sink, logger });
  if (outcome.status === 'duplicate') return { status: 200, body: { duplicate: true, deliveryId: id } };
  return { status: 202, body: { accepted: true, event: event.name, deliveryId: id, sink: sink.name } };
}
