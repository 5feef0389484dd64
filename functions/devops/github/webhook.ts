/**
 * The GitHub webhook receiver: verifies `X-Hub-Signature-256` over the raw body, recognises redeliveries
 * of a delivery already accepted, and hands accepted events on through the configured sink.
 */

import {
  AuthError,
  ConfigurationError,
  type DeliveryLedger,
  handOn,
  type Logger,
  parseJson,
  type RouteRequest,
  type RouteResponse,
  type Secret,
  UnsupportedMediaTypeError,
  ValidationError,
  type WebhookEvent,
  type WebhookEventSink,
  webhookSecrets,
} from '@circle-core/core';
import { verify } from '@octokit/webhooks-methods';

const SIGNATURE_PREFIX = 'sha256=';
const DELIVERY_ID = /^[\w-]{1,100}$/;
const EVENT_TYPE = /^[a-z_]{1,64}$/;
const ACTION = /^[a-z_]{1,64}$/;

/** What the receiver needs; built once per container by the connector's setup. */
export interface WebhookReceiver {
  secret: Secret;
  /** Undefined when `GITHUB_STATE_TABLE` is not set: deliveries are then refused (fail closed). */
  ledger: DeliveryLedger | undefined;
  sink: WebhookEventSink;
  logger: Logger;
  now?: () => number;
}

/**
 * The past-tense kebab-case name of a GitHub event: `issues` + `opened` is `issue-opened`,
 * `pull_request` + `closed` is `pull-request-closed`, `push` (no action) is `push-received`.
 *
 * @example
 * ```ts
 * githubEventName('issue_comment', 'created'); // 'issue-comment-created'
 * ```
 */
export function githubEventName(event: string, action: string | undefined): string {
  const singular = event === 'issues' ? 'issue' : event;
  const kebab = (text: string): string => text.replaceAll('_', '-');
  return `${kebab(singular)}-${action === undefined ? 'received' : kebab(action)}`;
}

/**
 * Checks the signature with the official verifier against each secret (the new and the old one while the
 * secret is rotated); every failure is the same 401 that says nothing more.
 */
async function assertSigned(
  secrets: readonly string[],
  rawBody: Buffer,
  signature: string | undefined,
): Promise<void> {
  if (secrets.length === 0) throw new ConfigurationError('The GitHub webhook secret is empty');
  if (signature === undefined || signature.trim() === '') throw new AuthError('Webhook signature is missing');
  const mismatch = new AuthError('Webhook signature does not match');
  if (!signature.startsWith(SIGNATURE_PREFIX) || rawBody.length === 0) throw mismatch;
  const payload = rawBody.toString('utf8');
  // The verifier signs a string: bytes that are not UTF-8 would be re-encoded differently, so refuse them.
  if (!Buffer.from(payload, 'utf8').equals(rawBody)) throw mismatch;
  let matched = false;
  // Every secret is tried, so the time taken does not say which one matched.
  for (const secret of secrets) if (await verify(secret, payload, signature)) matched = true;
  if (!matched) throw mismatch;
}

function readPayload(request: RouteRequest): Record<string, unknown> {
  const contentType = (request.headers['content-type'] ?? 'application/json').toLowerCase();
  let text: string;
  if (contentType.startsWith('application/json')) {
    text = request.rawBody.toString('utf8');
  } else if (contentType.startsWith('application/x-www-form-urlencoded')) {
    text = new URLSearchParams(request.rawBody.toString('utf8')).get('payload') ?? '';
  } else {
    throw new UnsupportedMediaTypeError('GitHub webhooks must be sent as application/json or form-encoded');
  }
  const payload = parseJson(text, 'webhook payload');
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new ValidationError('The webhook payload is not a JSON object');
  }
  return payload as Record<string, unknown>;
}

function header(request: RouteRequest, name: string, pattern: RegExp): string {
  const value = request.headers[name];
  if (value === undefined || !pattern.test(value)) {
    throw new ValidationError(`The ${name} header is missing or malformed`, [
      { pointer: '', message: `header ${name} is required` },
    ]);
  }
  return value;
}

function sourceOf(payload: Record<string, unknown>): string | undefined {
  const repository = payload['repository'] as { full_name?: unknown } | undefined;
  if (typeof repository?.full_name === 'string') return repository.full_name;
  const organization = payload['organization'] as { login?: unknown } | undefined;
  return typeof organization?.login === 'string' ? organization.login : undefined;
}

/**
 * Serves `POST /github/webhook`. Answers 401 for an unsigned or tampered delivery, 5xx when the secret
 * cannot be read (fail closed) or handing on failed (the delivery is then not recorded, so GitHub's
 * redelivery works), 200 `{ duplicate: true }` for a delivery already accepted, and 202
 * `{ accepted: true, event, deliveryId }` otherwise.
 *
 * @example
 * ```ts
 * route({ method: 'POST', path: '/github/webhook', auth: 'signature', description: 'GitHub webhooks',
 *   handle: (request, { services, logger }) => receiveWebhook(request, services.webhooks(logger)) });
 * ```
 */
export async function receiveWebhook(
  request: RouteRequest,
  receiver: WebhookReceiver,
): Promise<RouteResponse> {
  const { logger, sink, ledger } = receiver;
  // One secret per line: while it is rotated, the new one and the old one.
  const secrets = webhookSecrets(await receiver.secret.text());
  await assertSigned(secrets, request.rawBody, request.headers['x-hub-signature-256']);
  const deliveryId = header(request, 'x-github-delivery', DELIVERY_ID);
  const eventType = header(request, 'x-github-event', EVENT_TYPE);
  const payload = readPayload(request);
  if (eventType === 'ping') return { status: 200, body: { pong: true, deliveryId } };
  if (ledger === undefined) {
    throw new ConfigurationError(
      'GITHUB_STATE_TABLE is required to receive webhooks (deliveries are deduplicated in it)',
    );
  }
  const rawAction = payload['action'];
  const action = typeof rawAction === 'string' && ACTION.test(rawAction) ? rawAction : undefined;
  const event: WebhookEvent = {
    provider: 'github',
    name: githubEventName(eventType, action),
    event: eventType,
    deliveryId,
    correlationId: request.correlationId,
    receivedAt: new Date((receiver.now ?? Date.now)()).toISOString(),
    payload,
  };
  if (action !== undefined) event.action = action;
  const source = sourceOf(payload);
  if (source !== undefined) event.source = source;

  const outcome = await handOn(event, { ledger, sink, logger });
  if (outcome.status === 'duplicate') return { status: 200, body: { duplicate: true, deliveryId } };
  const body: Record<string, unknown> = { accepted: true, event: event.name, deliveryId };
  if (!sink.durable) {
    body['warning'] =
      'No GITHUB_EVENTS_QUEUE_URL or GITHUB_EVENTS_STATE_MACHINE_ARN is configured: the event was logged, not handed on';
  }
  return { status: 202, body };
}
