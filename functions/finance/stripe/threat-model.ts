import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    "Stripe's API at STRIPE_API_URL over HTTPS only (no URL comes from input; ids are path-encoded).",
    'Secrets Manager for its own two secrets (API key, webhook endpoint secret), with its own role.',
    'Its own state table (webhook event ids), its own events queue and its own dead-letter queue.',
  ],
  stores: [
    'No card data, ever: card numbers never pass through it (payment methods are Stripe ids such as pm_...).',
    'Accepted webhook event ids (evt_...) in STRIPE_STATE_TABLE for STRIPE_DELIVERY_TTL_DAYS (4, over the 3 days Stripe retries).',
    'Accepted events, with the customer data Stripe put in them (email, name), in the events queue until consumed.',
    "The keys live in Secrets Manager and in the container's memory for STRIPE_SECRET_MAX_AGE_SECONDS.",
  ],
  threats: {
    spoofing: [
      {
        threat: 'A forged webhook claims a payment succeeded so an order ships unpaid.',
        control:
          'Stripe-Signature verified as stripe.webhooks.constructEvent does (HMAC-SHA256 of t.body, constant-time, any v1 of a roll); the consumer gets the object re-read from Stripe as current, not only the payload.',
      },
      {
        threat: 'A caller without rights charges or refunds with the connector key.',
        control:
          'Operation routes use the aws_iam authorizer (grant execute-api:Invoke on /stripe/* only to callers allowed that); the queue needs IAM rights.',
      },
    ],
    tampering: [
      {
        threat: 'A retried request charges or refunds twice.',
        control:
          "Every POST carries an Idempotency-Key derived from the call's idempotency key (queue writes keyed by message id); Stripe replays the first answer; different parameters under one key are refused (409).",
      },
      {
        threat: 'A captured webhook is replayed later, or redelivered, to repeat its effect.',
        control:
          'Signatures older than STRIPE_WEBHOOK_TOLERANCE_SECONDS (300) are refused; event ids are deduplicated in the state table.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a charge or refund made through the connector.',
        control:
          "Each invocation logs operation and correlation id; Stripe's request log records the key, the request id and the idempotency key.",
      },
    ],
    'information-disclosure': [
      {
        threat: 'The API key or the webhook secret leaks into a log line, an error or a response.',
        control:
          'Credentials are never logged and Stripe error messages are not echoed (code, param and decline code only); a marker test checks every path.',
      },
      {
        threat: 'Customer personal data (email, name, phone) ends up in logs.',
        control: 'Logs carry ids and status only; payloads go to the events queue, encrypted at rest (SSE).',
      },
    ],
    'denial-of-service': [
      {
        threat:
          "Containers exhaust Stripe's rate limit (100 reads + 100 writes a second live, 25 in test mode).",
        control:
          'A shared budget of 90 a second through CIRCLE_COORDINATION_TABLE (STRIPE_RATE_LIMIT); 429 waits within the time left.',
      },
      {
        threat: 'A flood of unsigned webhooks.',
        control:
          'Refused with 401 before any parsing, lookup or write; the header is read for at most 20 parts.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role or the key moves money.',
        control:
          'Use a restricted key (rk_...) with only the permissions of README "Auth" (no payouts, transfers or account settings); the role reads only its own secrets and writes only its own table and queues.',
      },
    ],
  },
});
