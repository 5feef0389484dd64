import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    "PagerDuty's REST API v2 and Events API v2 (PAGERDUTY_API_URL, PAGERDUTY_EVENTS_API_URL) over HTTPS with an API key and a routing key; no URL comes from input.",
    'Secrets Manager for its three secrets; its state table, events queue, dead-letter queue, the idempotency and coordination tables, over HTTPS.',
  ],
  stores: [
    'Webhook event ids in its state table (2 days); accepted events handed on to its events queue.',
    'Idempotency records of its writes and its rate-budget windows; its secrets in memory for their max age.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'Someone posts forged webhook events to the public webhook route.',
        control:
          'X-PagerDuty-Signature v1 HMAC-SHA256 signatures of the raw body are compared in constant time, each one offered; without the secret the route fails closed.',
      },
      {
        threat: 'A caller without rights pages people or resolves incidents through the operations.',
        control:
          'Operation routes use the aws_iam authorizer; the queue and direct invocation need IAM rights.',
      },
    ],
    tampering: [
      {
        threat: 'A captured event is replayed, or PagerDuty redelivers one already handled.',
        control:
          'The signed occurred_at must be younger than PAGERDUTY_WEBHOOK_MAX_AGE_SECONDS, and each event id is claimed once in the delivery ledger.',
      },
      {
        threat: 'A retried trigger pages the on-call person twice.',
        control:
          'Every event carries a dedup key (one is made when none is given) and retries reuse it, so PagerDuty folds them into one alert.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies acknowledging or resolving an incident.',
        control:
          'Changes carry the From header of a named user and PagerDuty keeps the incident log; invocations log the operation and correlation id.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'The API key, the routing key or the webhook secret leak into logs, errors or answers.',
        control:
          'Secrets are redacted from errors and never logged (the tests search logs and answers for all three); the routing key is read only to build the event body.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'Containers exhaust the REST API rate limit between them.',
        control:
          'One rate budget shared by every container (860 a minute, PAGERDUTY_RATE_LIMIT); Retry-After and the ratelimit headers pause calls within the time left.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The API key or routing key reaches more than the workflows need.',
        control:
          'README says which key to create and to use one routing key per service; the function role reads only its own secrets and reaches only its own resources.',
      },
    ],
  },
});
