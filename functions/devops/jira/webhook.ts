/**
 * The Jira webhook receiver: verifies `X-Hub-Signature` (`sha256=` + hex HMAC-SHA256 of the raw body under
 * the webhook's shared secret, compared in constant time), refuses stale payloads, and hands each delivery
 * on once, deduplicated on `X-Atlassian-Webhook-Identifier` (a retry carries the same one) through the
 * core's event receiving.
 */
import {
  AuthError,
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

const DELIVERY_ID = /^[\w-]{1,128}$/;
const EVENT = /^[a-z_:]{1,64}$/;

/** What the receiver needs; built once per container. */
export interface JiraWebhookReceiver {
  secret: Secret;
  receiving: EventReceiving;
  maxAgeSeconds: number;
  now?: () => number;
}

/**
 * The past-tense kebab-case name of a Jira event: `jira:issue_created` is `issue-created`,
 * `comment_updated` is `comment-updated`.
 *
 * @example
 * ```ts
 * jiraEventName('jira:issue_updated'); // 'issue-updated'
 * ```
 */
export function jiraEventName(webhookEvent: string): string {
  return webhookEvent.replace(/^jira:/, '').replaceAll('_', '-');
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
 * Serves `POST /jira/webhook`: 401 unsigned, tampered or stale; 200 `{ duplicate: true }` for a delivery
 * already accepted; 202 `{ accepted: true, event, deliveryId }` otherwise; 5xx when the secret cannot be
 * read or handing on failed (not recorded, so Jira's retry gets through).
 *
 * @example
 * ```ts
 * route({ method: 'POST', path: '/jira/webhook', auth: 'signature', description: 'Jira webhooks',
 *   handle: (request, { client, logger }) => receiveJiraWebhook(request, client.webhooks, logger) });
 * ```
 */
export async function receiveJiraWebhook(
  request: RouteRequest,
  receiver: JiraWebhookReceiver,
  logger: Logger,
): Promise<RouteResponse> {
  verifyHmacSignature({
    // One secret per line: while the webhook's secret is changed, the new one and the old one.
    secret: webhookSecrets(await receiver.secret.text()),
    signedContent: request.rawBody,
    signature: request.headers['x-hub-signature'],
    prefix: 'sha256=',
  });
  const payload = parseJson(request.rawBody.toString('utf8'), 'webhook payload');
  const timestamp = field(payload, 'timestamp');
  const now = (receiver.now ?? Date.now)();
  if (typeof timestamp !== 'number' || now - timestamp > receiver.maxAgeSeconds * 1000) {
    throw new AuthError('Webhook payload is stale or has no timestamp');
  }
  const deliveryId = request.headers['x-atlassian-webhook-identifier'];
  const webhookEvent = field(payload, 'webhookEvent');
  if (deliveryId === undefined || !DELIVERY_ID.test(deliveryId)) {
    throw new ValidationError('The X-Atlassian-Webhook-Identifier header is missing or malformed', [
      { pointer: '', message: 'header x-atlassian-webhook-identifier is required' },
    ]);
  }
  if (typeof webhookEvent !== 'string' || !EVENT.test(webhookEvent)) {
    throw new ValidationError('The payload has no webhookEvent', [
      { pointer: '/webhookEvent', message: 'Required' },
    ]);
  }
  const event: WebhookEvent = {
    provider: 'jira',
    name: jiraEventName(webhookEvent),
    event: webhookEvent,
    deliveryId,
    correlationId: request.correlationId,
    receivedAt: new Date(now).toISOString(),
    payload,
  };
  const key = field(payload, 'issue', 'key');
  if (typeof key === 'string') event.source = key;
  const sink = receiver.receiving.sinkOr(logger);
  const outcome = await handOn(event, { ledger: receiver.receiving.requireLedger(), sink, logger });
  if (outcome.status === 'duplicate') return { status: 200, body: { duplicate: true, deliveryId } };
  return { status: 202, body: { accepted: true, event: event.name, deliveryId, sink: sink.name } };
}
