/**
 * The Twilio webhook receiver (status callbacks and incoming messages): verifies `X-Twilio-Signature` as
 * Twilio documents it (base64 HMAC-SHA1, keyed with the auth token, of the full URL Twilio called followed
 * by every POST parameter sorted by name, each as name then value), compared in constant time, failing
 * closed; hands each event on once, deduplicated on MessageSid + MessageStatus through the core's event
 * receiving (Twilio retries a callback that failed, and a status arrives once per change).
 */
import {
  AuthError,
  ConfigurationError,
  type EventReceiving,
  handOn,
  type Logger,
  type RouteRequest,
  type RouteResponse,
  type Secret,
  ValidationError,
  verifyHmacSignature,
  type WebhookEvent,
} from '@circle-core/core';
import { readTwilioCredentials } from './client.ts';

const SID = /^(SM|MM)[0-9a-f]{32}$/;
const STATUS = /^[a-z_]{1,20}$/;
const MAX_PARAMS = 200;

/** What the receiver needs; built once per container. */
export interface TwilioWebhookReceiver {
  secret: Secret;
  receiving: EventReceiving;
  /** The public URL as configured at Twilio; default rebuilt from the request. */
  url?: string | undefined;
  now?: () => number;
}

/**
 * The text Twilio signs: the URL, then each parameter name followed by its value, names sorted (byte
 * order; a repeated name's values sorted too).
 *
 * @example
 * ```ts
 * twilioSignedText('https://example.com/sms', new URLSearchParams('To=%2B1&Body=hi')); // 'https://example.com/smsBodyhiTo+1'
 * ```
 */
export function twilioSignedText(url: string, params: URLSearchParams): string {
  const pairs = [...params].sort(([a, x], [b, y]) =>
    a === b ? (x < y ? -1 : x > y ? 1 : 0) : a < b ? -1 : 1,
  );
  return url + pairs.map(([name, value]) => `${name}${value}`).join('');
}

/**
 * Checks `X-Twilio-Signature`; throws AuthError when missing or not matching (never echoing either),
 * ConfigurationError when the secret has no auth token.
 *
 * @example
 * ```ts
 * verifyTwilioSignature({ url, params, signature: headers['x-twilio-signature'], authToken });
 * ```
 */
export function verifyTwilioSignature(v: {
  url: string;
  params: URLSearchParams;
  signature: string | undefined;
  authToken: string;
}): void {
  if (v.authToken === '') throw new ConfigurationError('The Twilio auth token is empty');
  verifyHmacSignature({
    secret: v.authToken,
    signedContent: twilioSignedText(v.url, v.params),
    signature: v.signature,
    algorithm: 'sha1',
    encoding: 'base64',
  });
}

/**
 * The URL Twilio called: the configured one (exactly as configured, when it carries its own query string:
 * Twilio signs it as is, URL-encoded), else scheme + Host + path + the query string exactly as received
 * (the raw one: re-encoding the decoded parameters would turn `%20` into `+`, drop empty values and
 * regroup repeated names, and the signature would no longer match).
 */
function calledUrl(request: RouteRequest, configured: string | undefined): string {
  if (configured?.includes('?')) return configured;
  const query = request.rawQuery ?? new URLSearchParams(request.query).toString();
  const suffix = query === '' ? '' : `?${query}`;
  if (configured !== undefined) return configured + suffix;
  const host = request.headers['host'];
  if (host === undefined) throw new AuthError('Webhook signature cannot be checked without a Host header');
  const proto = (request.headers['x-forwarded-proto'] ?? 'https').split(',')[0]?.trim() || 'https';
  return `${proto}://${host}${request.path}${suffix}`;
}

/**
 * Serves `POST /twilio/webhook`: 401 unsigned or tampered; 200 `<Response/>` (empty TwiML, so an
 * incoming message gets no auto-reply) for an accepted or already-accepted event; 5xx when the secret
 * cannot be read or handing on failed (not recorded, so Twilio's retry gets through).
 *
 * @example
 * ```ts
 * route({ method: 'POST', path: '/twilio/webhook', auth: 'signature', description: 'Twilio webhooks',
 *   handle: (request, { services, logger }) => receiveTwilioWebhook(request, services.webhooks, logger) });
 * ```
 */
export async function receiveTwilioWebhook(
  request: RouteRequest,
  receiver: TwilioWebhookReceiver,
  logger: Logger,
): Promise<RouteResponse> {
  const { authToken } = await readTwilioCredentials(receiver.secret);
  if (authToken === undefined) {
    throw new ConfigurationError('The Twilio credentials secret has no authToken to verify webhooks with');
  }
  if (!/^application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '')) {
    throw new AuthError('Webhook is not a form-encoded Twilio request');
  }
  const params = new URLSearchParams(request.rawBody.toString('utf8'));
  if ([...params.keys()].length > MAX_PARAMS) throw new AuthError('Webhook has too many parameters');
  verifyTwilioSignature({
    url: calledUrl(request, receiver.url),
    params,
    signature: request.headers['x-twilio-signature'],
    authToken,
  });
  const sid = params.get('MessageSid') ?? params.get('SmsSid');
  const status = params.get('MessageStatus') ?? params.get('SmsStatus');
  if (sid === null || !SID.test(sid) || status === null || !STATUS.test(status)) {
    throw new ValidationError('The webhook has no MessageSid or MessageStatus', [
      { pointer: '/MessageSid', message: 'expected MessageSid (SM...) and MessageStatus or SmsStatus' },
    ]);
  }
  const inbound = status === 'received';
  const deliveryId = `${sid}:${status}`;
  const event: WebhookEvent = {
    provider: 'twilio',
    name: inbound ? 'message-received' : 'message-status',
    event: `message.${status}`,
    deliveryId,
    correlationId: request.correlationId,
    receivedAt: new Date((receiver.now ?? Date.now)()).toISOString(),
    source: sid,
    payload: Object.fromEntries(params),
  };
  const sink = receiver.receiving.sinkOr(logger);
  const outcome = await handOn(event, { ledger: receiver.receiving.requireLedger(), sink, logger });
  return {
    status: 200,
    headers: {
      'content-type': 'text/xml',
      'x-circle-delivery': outcome.status === 'duplicate' ? 'duplicate' : 'accepted',
    },
    body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>',
  };
}
