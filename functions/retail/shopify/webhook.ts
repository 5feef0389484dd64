/**
 * The Shopify webhook receiver. Verifies `X-Shopify-Hmac-Sha256` (the base64 HMAC-SHA256 of the raw body
 * under the app's client secret, or during a rotation under the new or the old one, compared in constant
 * time by the core's verifier) and hands each event on
 * once, deduplicated on `X-Shopify-Event-Id` through the core's event receiving. Shopify may deliver one
 * event more than once and out of order; `X-Shopify-Triggered-At` travels with it so a consumer can tell.
 */
import {
  type EventReceiving,
  handOn,
  type Logger,
  parseJson,
  type RouteRequest,
  type RouteResponse,
  type Secret,
  ValidationError,
  verifyHmacSignature,
  type WebhookEvent,
  webhookSecrets,
} from '@circle-core/core';

/** Event ids are Shopify's own (a UUID or a number); anything else is not used as a ledger key. */
const EVENT_ID = /^[A-Za-z0-9-]{1,100}$/;
/** `orders/paid`, `products/update`, `app/uninstalled`, `inventory_levels/update`, ... */
const TOPIC = /^[a-z_]{1,60}\/[a-z_]{1,60}$/;
const SHOP = /^[a-z0-9][a-z0-9-]{0,99}\.myshopify\.com$/;

/** What the receiver needs; built once per container. */
export interface ShopifyWebhookReceiver {
  secret: Secret;
  receiving: EventReceiving;
  now?: () => number;
}

/**
 * Serves `POST /shopify/webhook`: 401 unsigned or tampered (before anything else is read); 400 without an
 * event id or topic, or a body that is not JSON; 200 `{ duplicate: true }` for an event already accepted;
 * 202 `{ accepted: true, event, deliveryId }` otherwise; 5xx when the secret cannot be read or handing on
 * failed (nothing recorded, so Shopify's retry gets through).
 *
 * @example
 * ```ts
 * route({ method: 'POST', path: '/shopify/webhook', auth: 'signature', description: 'Shopify webhooks',
 *   handle: (request, { services, logger }) => receiveShopifyWebhook(request, services.webhooks, logger) });
 * ```
 */
export async function receiveShopifyWebhook(
  request: RouteRequest,
  receiver: ShopifyWebhookReceiver,
  logger: Logger,
): Promise<RouteResponse> {
  // One client secret per line: during a rotation the new and the old, as Shopify asks receivers to accept
  // both until the old one is revoked.
  verifyHmacSignature({
    secret: webhookSecrets(await receiver.secret.text()),
    signedContent: request.rawBody,
    signature: request.headers['x-shopify-hmac-sha256'],
    encoding: 'base64',
  });
  const id = request.headers['x-shopify-event-id'];
  const topic = request.headers['x-shopify-topic'];
  if (id === undefined || !EVENT_ID.test(id) || topic === undefined || !TOPIC.test(topic)) {
    throw new ValidationError('The webhook is not a Shopify event', [
      { pointer: '', message: 'expected the X-Shopify-Event-Id and X-Shopify-Topic headers' },
    ]);
  }
  const payload = parseJson(request.rawBody.toString('utf8'), 'webhook payload');
  const now = (receiver.now ?? Date.now)();
  const shop = request.headers['x-shopify-shop-domain'];
  const triggeredAt = request.headers['x-shopify-triggered-at'];
  const event: WebhookEvent = {
    provider: 'shopify',
    name: topic.replaceAll('/', '-').replaceAll('_', '-'),
    event: topic,
    deliveryId: id,
    correlationId: request.correlationId,
    receivedAt: new Date(now).toISOString(),
    payload: {
      topic,
      ...(shop !== undefined && SHOP.test(shop) ? { shop } : {}),
      ...(triggeredAt !== undefined && !Number.isNaN(Date.parse(triggeredAt)) ? { triggeredAt } : {}),
      body: payload,
    },
  };
  const gid = (payload as { admin_graphql_api_id?: unknown } | null)?.admin_graphql_api_id;
  if (typeof gid === 'string' && /^gid:\/\/shopify\/\w{1,60}\/\d{1,20}$/.test(gid)) event.source = gid;
  const sink = receiver.receiving.sinkOr(logger);
  const outcome = await handOn(event, { ledger: receiver.receiving.requireLedger(), sink, logger });
  if (outcome.status === 'duplicate') return { status: 200, body: { duplicate: true, deliveryId: id } };
  return { status: 202, body: { accepted: true, event: event.name, deliveryId: id, sink: sink.name } };
}
