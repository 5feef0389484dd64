import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    "Slack's Web API (SLACK_API_URL, https://slack.com/api) over HTTPS with the bot token.",
    'Secrets Manager for its two secrets; its state table, events queue, optional state machine, dead-letter queue, the idempotency and coordination tables, over HTTPS.',
  ],
  stores: [
    'Accepted event ids and slash-command signature digests in its state table (SLACK_DELIVERY_TTL_DAYS), so a replay is not handed on twice.',
    'Events handed on to its events queue or state machine (their payload without the verification token); idempotency records of its writes.',
    'Its rate-budget windows in the coordination table; the bot token and signing secret in memory for SLACK_SECRET_MAX_AGE_SECONDS.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'Someone posts forged events or slash commands to the public Slack routes.',
        control:
          'Every request is verified before it is read: v0 HMAC-SHA256 of timestamp and raw body under the signing secret, compared in constant time; the routes fail closed without the secret.',
      },
      {
        threat: 'A caller without rights posts messages as the bot.',
        control:
          'Operation routes use the aws_iam authorizer; the queue and direct invocation need IAM rights.',
      },
    ],
    tampering: [
      {
        threat: 'A captured request is replayed later or twice.',
        control:
          'The timestamp must be within five minutes; each event id and command signature is claimed once in the delivery ledger.',
      },
      {
        threat: 'A retried write posts the same message twice.',
        control: 'post-message and update-message run once per idempotency key.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having posted a message.',
        control:
          'Each invocation logs operation, channel, correlation id and Slack message ts; the delivery ledger records each accepted event id.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'The bot token, signing secret or message text leaks into logs, errors or answers.',
        control:
          'Secrets are redacted from every error; logs carry event type and id, never text or tokens; answers never echo credentials.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A burst of calls exceeds Slack rate limits and gets every container throttled.',
        control:
          'One rate budget shared by every container (45 calls a minute, SLACK_RATE_LIMIT) and a Retry-After from Slack pausing all of them.',
      },
      {
        threat: "Event handling overruns Slack's 3 s answer window and Slack retries.",
        control: 'Events are acknowledged after hand-off to a queue or state machine; consumers do the work.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The function is used beyond posting to Slack.',
        control:
          "Its role reads only its two secrets and reaches only its own table, queues, DLQ and keys; the bot token's Slack scopes (README) bound what Slack allows.",
      },
    ],
  },
});
