/**
 * The Stripe webhook receiver. Verifies `Stripe-Signature` as `stripe.webhooks.constructEvent` does
 * (`t=<unix seconds>,v1=<hex>[,v1=<hex>...]`; v1 is the HMAC-SHA256 of `${t}.${rawBody}` under the
 * endpoint's secret; any v1 matching passes, as during a secret roll Stripe signs with both secrets;
 * v0 is ignored) with an explicit tolerance (default 300 s), hands each event on once, deduplicated on its
 * `evt_` id through the core's event receiving, and re-fetches the object an event is about, so a
 * consumer acts on the object's current state when events arrive out of order.
 */
import {
  AuthError,
  assertFreshTimestamp,
  type EventReceiving,
  handOn,
  type Logger,
  NotFoundError,
  parseJson,
  type RouteRequest,
  type RouteResponse,
  type Secret,
  ValidationError,
  verifyAnyHmacSignature,
  type WebhookEvent,
} from '@circle-core/core';
import { isStripeObjectType, type StripeApi } from './client.ts';

const EVENT_ID = /^evt_[A-Za-z0-9]{1,250}$/;
const EVENT_TYPE = /^[a-z_]{1,60}(\.[a-z_]{1,60}){1,3}$/;
const OBJECT_ID = /^[a-z]{1,10}_[A-Za-z0-9]{1,250}$/;
/** More than a roll ever needs; a header with hundreds of parts is not worth hashing against. */
const MAX_PARTS = 20;

/** What the receiver needs; built once per container. */
export interface StripeWebhookReceiver {
  secret: Secret;
  receiving: EventReceiving;
  toleranceSeconds: number;
  now?: () => number;
}

/**
 * Checks `Stripe-Signature` against the raw body as `stripe.webhooks.constructEvent(body, header, secret,
 * tolerance)` does: the `t` timestamp, any `v1` signature matching the HMAC-SHA256 of `${t}.${body}`, and
 * the timestamp within `toleranceSeconds` of now (either way: the SDK lets a future one through, this
 * does not). Throws AuthError, never echoing what was received.
 *
 * @example
 * ```ts
 * verifyStripeSignature(request.rawBody, request.headers['stripe-signature'], 'whsec_...', 300);
 * ```
 */
export function verifyStripeSignature(
  rawBody: Buffer,
  header: string | undefined,
  secret: string,
  toleranceSeconds: number,
  now: number = Date.now(),
): void {
  if (header === undefined || header.trim() === '') throw new AuthError('Webhook signature is missing');
  let timestamp: string | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',').slice(0, MAX_PARTS)) {
    const at = part.indexOf('=');
    const key = part.slice(0, at).trim();
    if (key === 't') timestamp = part.slice(at + 1).trim();
    else if (key === 'v1') signatures.push(part.slice(at + 1));
  }
  if (timestamp === undefined || signatures.length === 0) {
    throw new AuthError('Webhook signature is missing');
  }
  verifyAnyHmacSignature({
    secret,
    signedContent: Buffer.concat([Buffer.from(`${timestamp}.`), rawBody]),
    signatures,
  });
  assertFreshTimestamp(timestamp, { toleranceSeconds, now });
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
 * The object's current state, read again from Stripe: `null` when it no longer exists, undefined for a
 * type the connector does not read (the event's own snapshot is then all there is).
 */
async function currentObject(api: StripeApi, type: unknown, id: unknown): Promise<unknown> {
  if (typeof type !== 'string' || !isStripeObjectType(type)) return undefined;
  if (typeof id !== 'string' || !OBJECT_ID.test(id)) return undefined;
  try {
    return await api.fetch(type, id);
  } catch (error) {
    if (error instanceof NotFoundError) return null;
    throw error;
  }
}

/**
 * Serves `POST /stripe/webhook`: 401 unsigned, tampered or outside the tolerance; 400 without an event id
 * or type; 200 `{ duplicate: true }` for an event already accepted; 202 `{ accepted: true, event,
 * deliveryId }` otherwise; 5xx when the secret cannot be read, the object cannot be re-read or handing on
 * failed (nothing recorded, so Stripe's retry gets through). The object is re-read only for a delivery
 * not accepted before: a redelivery is answered 200 duplicate without calling Stripe. The event handed on
 * is Stripe's, with `current`: the object as Stripe has it now (`null` once deleted), which wins over
 * `data.object` when events arrive out of order.
 *
 * @example
 * ```ts
 * route({ method: 'POST', path: '/stripe/webhook', auth: 'signature', description: 'Stripe webhooks',
 *   handle: (request, { client, services, logger }) => receiveStripeWebhook(request, services.webhooks, client, logger) });
 * ```
 */
export async function receiveStripeWebhook(
  request: RouteRequest,
  receiver: StripeWebhookReceiver,
  api: StripeApi,
  logger: Logger,
): Promise<RouteResponse> {
  const secret = (await receiver.secret.text()).trim();
  const now = (receiver.now ?? Date.now)();
  verifyStripeSignature(
    request.rawBody,
    request.headers['stripe-signature'],
    secret,
    receiver.toleranceSeconds,
    now,
  );
  const payload = parseJson(request.rawBody.toString('utf8'), 'webhook payload');
  const id = field(payload, 'id');
  const type = field(payload, 'type');
  if (typeof id !== 'string' || !EVENT_ID.test(id) || typeof type !== 'string' || !EVENT_TYPE.test(type)) {
    throw new ValidationError('The webhook payload is not a Stripe event', [
      { pointer: '', message: 'expected { id: "evt_...", type, data: { object } }' },
    ]);
  }
  const object = field(payload, 'data', 'object');
  const ledger = receiver.receiving.requireLedger();
  const event: WebhookEvent = {
    provider: 'stripe',
    name: type.replaceAll('.', '-').replaceAll('_', '-'),
    event: type,
    deliveryId: id,
    correlationId: request.correlationId,
    receivedAt: new Date(now).toISOString(),
    payload,
  };
  const objectId = field(object, 'id');
  if (typeof objectId === 'string' && OBJECT_ID.test(objectId)) event.source = objectId;
  const sink = receiver.receiving.sinkOr(logger);
  // The object is re-read only once the delivery is claimed: a redelivery of an accepted event is answered
  // as a duplicate at once, without an API call that could fail or be slow.
  const prepare = async (claimed: WebhookEvent): Promise<WebhookEvent> => {
    const current = await currentObject(api, field(object, 'object'), objectId);
    return current === undefined ? claimed : { ...claimed, payload: { ...(payload as object), current } };
  };
  const outcome = await handOn(event, { ledger, sink, logger, prepare });
  if (outcome.status === 'duplicate') return { status: 200, body: { duplicate: true, deliveryId: id } };
  return { status: 202, body: { accepted: true, event: event.name, deliveryId: id, sink: sink.name } };
}
