/**
 * The GitLab webhook receiver: checks `X-Gitlab-Token` (the webhook's secret token, sent as is, compared
 * in constant time by the core), then hands each delivery on once, deduplicated on `Idempotency-Key` (the
 * same across GitLab's retries) or else `X-Gitlab-Event-UUID`, through the core's event receiving.
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
  verifySharedToken,
  type WebhookEvent,
  webhookSecrets,
} from '@circle-core/core';

const DELIVERY_ID = /^[\w-]{1,128}$/;
const KIND = /^[a-z_]{1,64}$/;
const PAST: Readonly<Record<string, string>> = {
  open: 'opened',
  close: 'closed',
  reopen: 'reopened',
  update: 'updated',
  merge: 'merged',
  approve: 'approved',
  unapprove: 'unapproved',
  approved: 'approved',
  unapproved: 'unapproved',
};

/** What the receiver needs; built once per container. */
export interface GitlabWebhookReceiver {
  secret: Secret;
  receiving: EventReceiving;
  now?: () => number;
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
 * The kebab-case name of a GitLab event: its `object_kind` and, when it has one, the action in the past
 * tense.
 *
 * @example
 * ```ts
 * gitlabEventName({ object_kind: 'merge_request', object_attributes: { action: 'merge' } }); // 'merge-request-merged'
 * ```
 */
export function gitlabEventName(payload: unknown): string | undefined {
  const kind = field(payload, 'object_kind');
  if (typeof kind !== 'string' || !KIND.test(kind)) return undefined;
  const action = field(payload, 'object_attributes', 'action');
  const base = kind.replaceAll('_', '-');
  return typeof action === 'string' && KIND.test(action) ? `${base}-${PAST[action] ?? action}` : base;
}

/**
 * Serves `POST /gitlab/webhook`: 401 without the right token; 200 `{ duplicate: true }` for a delivery
 * already accepted; 202 `{ accepted: true, event, deliveryId }` otherwise; 5xx when the secret cannot be
 * read or handing on failed (not recorded, so GitLab's retry gets through).
 *
 * @example
 * ```ts
 * route({ method: 'POST', path: '/gitlab/webhook', auth: 'signature', description: 'GitLab webhooks',
 *   handle: (request, { services, logger }) => receiveGitlabWebhook(request, services.webhooks, logger) });
 * ```
 */
export async function receiveGitlabWebhook(
  request: RouteRequest,
  receiver: GitlabWebhookReceiver,
  logger: Logger,
): Promise<RouteResponse> {
  verifySharedToken({
    // One token per line: while the webhook's secret token is changed, the new one and the old one.
    secret: webhookSecrets(await receiver.secret.text()),
    token: request.headers['x-gitlab-token'],
  });
  const deliveryId = request.headers['idempotency-key'] ?? request.headers['x-gitlab-event-uuid'];
  if (deliveryId === undefined || !DELIVERY_ID.test(deliveryId)) {
    throw new ValidationError(
      'The Idempotency-Key and X-Gitlab-Event-UUID headers are missing or malformed',
      [{ pointer: '', message: 'header idempotency-key or x-gitlab-event-uuid is required' }],
    );
  }
  const payload = parseJson(request.rawBody.toString('utf8'), 'webhook payload');
  const name = gitlabEventName(payload);
  if (name === undefined) {
    throw new ValidationError('The payload has no object_kind', [
      { pointer: '/object_kind', message: 'Required' },
    ]);
  }
  const header = request.headers['x-gitlab-event'];
  const event: WebhookEvent = {
    provider: 'gitlab',
    name,
    event: header !== undefined && /^[\w ]{1,64}$/.test(header) ? header : name,
    deliveryId,
    correlationId: request.correlationId,
    receivedAt: new Date((receiver.now ?? Date.now)()).toISOString(),
    payload,
  };
  const project = field(payload, 'project', 'path_with_namespace');
  const iid = field(payload, 'object_attributes', 'iid');
  if (typeof project === 'string') event.source = typeof iid === 'number' ? `${project}#${iid}` : project;
  const sink = receiver.receiving.sinkOr(logger);
  const outcome = await handOn(event, { ledger: receiver.receiving.requireLedger(), sink, logger });
  if (outcome.status === 'duplicate') return { status: 200, body: { duplicate: true, deliveryId } };
  return { status: 202, body: { accepted: true, event: event.name, deliveryId, sink: sink.name } };
}
