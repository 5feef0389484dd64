import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    "The shop's Admin GraphQL API at SHOPIFY_API_URL over HTTPS only (no URL comes from input; ids are GraphQL variables, never spliced into documents).",
    "Bulk result links Shopify answers (signed storage URLs): fetched over https without the token, through the core's SSRF guard.",
    'Secrets Manager for its own two secrets (access token, client secret), with its own role.',
    'Its own state table (webhook event ids), its own queues, and `shopify/exports/*` in the objects bucket (write only).',
  ],
  stores: [
    'Bulk export results (JSON Lines: whatever the bulk query selected, possibly customer names, emails and addresses) under SHOPIFY_EXPORT_PREFIX in the objects bucket, encrypted at rest; expire them with a lifecycle rule.',
    'Accepted webhook event ids (X-Shopify-Event-Id) in SHOPIFY_STATE_TABLE for SHOPIFY_DELIVERY_TTL_DAYS (3).',
    'Accepted events, with the customer data Shopify put in them, in the events queue until consumed.',
    "The token and the client secret live in Secrets Manager and in the container's memory for SHOPIFY_SECRET_MAX_AGE_SECONDS.",
  ],
  threats: {
    spoofing: [
      {
        threat: 'A forged webhook claims an order was paid so it ships unpaid.',
        control:
          'X-Shopify-Hmac-Sha256 verified over the raw body with the core verifier (base64 HMAC-SHA256, constant-time) before anything is parsed; unsigned or tampered deliveries are 401.',
      },
      {
        threat: 'A caller without rights changes orders or inventory with the connector token.',
        control:
          'Operation routes use the aws_iam authorizer (grant execute-api:Invoke on /shopify/* only to callers allowed that); the queue needs IAM rights.',
      },
    ],
    tampering: [
      {
        threat: 'A retried request fulfils or adjusts inventory twice.',
        control:
          'Writes need an idempotency key and run at most once per key (the core idempotency table); mutations are never retried after a 5xx or a timeout, only after THROTTLED (Shopify ran nothing); adjust-inventory takes changeFromQuantity (409 when stale).',
      },
      {
        threat: 'A captured webhook is redelivered to repeat its effect.',
        control:
          'Event ids are deduplicated in the state table; a redelivery answers 200 duplicate and is not handed on.',
      },
      {
        threat: 'A bulk result link in a forged answer points at an internal address.',
        control: 'Only https links on another host are fetched, through the SSRF guard, without the token.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies an order change made through the connector.',
        control:
          "Each invocation logs operation and correlation id; Shopify's admin timeline records the app that made each change.",
      },
    ],
    'information-disclosure': [
      {
        threat: 'The access token or the client secret leaks into a log line, an error or a response.',
        control:
          'Credentials are never logged; GraphQL error messages are not echoed (code and path only); a marker test checks every path.',
      },
      {
        threat: 'Customer personal data (names, emails, addresses) in exports or logs.',
        control:
          'Logs carry ids and status only; exports hold what the bulk query selects (select no personal fields unless needed); the role may only write, not read, the export prefix.',
      },
    ],
    'denial-of-service': [
      {
        threat: "Containers drain the shop's cost bucket (2000 points, 100 a second on standard plans).",
        control:
          "Each answer's extensions.cost is read; a document is sent only when the bucket as last seen can pay for it, waits only within the time left, and THROTTLED answers 429 with the wait.",
      },
      {
        threat: 'A flood of unsigned webhooks.',
        control: 'Refused with 401 before any parsing, lookup or write.',
      },
      {
        threat: 'A huge bulk result exhausts the function memory.',
        control: 'The download is capped at SHOPIFY_EXPORT_MAX_BYTES (413 above it).',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role or the token changes the shop.',
        control:
          'Give the app only the scopes of README "Auth" (no customer write, no themes, no payments); the role reads only its own secrets and writes only its own table, queues and export prefix.',
      },
    ],
  },
});
