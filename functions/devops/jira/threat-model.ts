import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    "Jira Cloud's REST API v3 (JIRA_API_URL, your site or api.atlassian.com) over HTTPS with an API token or an OAuth 2.0 access token, and Atlassian's token endpoint with OAuth; no URL comes from input.",
    'Secrets Manager for its credentials and webhook secret; its state table, events queue, dead-letter queue, the idempotency and coordination tables, over HTTPS.',
  ],
  stores: [
    'Webhook delivery ids in its state table (2 days); accepted events handed on to its events queue.',
    "With OAuth, Atlassian's rotated refresh token written back to its own secret, and the shared access token in the coordination table.",
    'Idempotency records of its writes; its credentials in memory for their max age. JQL and issue text are not logged.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'Someone posts forged webhook deliveries to the public webhook route.',
        control:
          'X-Hub-Signature (HMAC-SHA256 of the raw body under the shared secret) is verified in constant time before parsing; without the secret the route fails closed.',
      },
      {
        threat: 'A caller without rights creates, changes or searches issues through the operations.',
        control:
          'Operation routes use the aws_iam authorizer; the queue and direct invocation need IAM rights.',
      },
    ],
    tampering: [
      {
        threat: 'A captured delivery is replayed, or Jira retries one already handled.',
        control:
          'The signed payload timestamp must be younger than JIRA_WEBHOOK_MAX_AGE_SECONDS, and each X-Atlassian-Webhook-Identifier is claimed once in the delivery ledger.',
      },
      {
        threat: 'A crafted search smuggles another project or a write into the query.',
        control:
          'Values are quoted JQL string literals; a native query is ANDed in parentheses after the project clause, refused (400) unless its parentheses balance outside strings and it has no ORDER BY; JQL cannot write.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a change made in Jira.',
        control:
          'Invocations log the operation and correlation id; Jira records every change under the account or app that made it.',
      },
    ],
    'information-disclosure': [
      {
        threat:
          'The API token, the OAuth client secret or refresh token, or the webhook secret leak into logs, errors or answers.',
        control:
          'Secrets are redacted from errors and never logged (the tests search the logs and answers for them); error messages name Jira fields, never values sent.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'Jira throttles the account and callers retry into the limit.',
        control:
          'Retry-After is honoured within the time left and a longer wait fails at once with the delay; a circuit breaker stops calls to a failing site.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The Jira account or OAuth app holds more than the workflows need.',
        control:
          'README names the scopes and project permissions to grant; the function role reads only its own secrets, writes only its own credentials secret and reaches only its own resources.',
      },
    ],
  },
});
