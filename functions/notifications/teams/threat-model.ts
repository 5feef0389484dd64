import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    'Microsoft Graph at TEAMS_API_URL and the identity platform at TEAMS_LOGIN_URL, over HTTPS only (no URL comes from input).',
    'The Workflows webhook URLs stored in its webhooks secret (https only; chosen by name, never given by a caller).',
    'Secrets Manager for its own two secrets and its own dead-letter queue, with its own role.',
  ],
  stores: [
    "Nothing at rest. The app's client secret, the webhook URLs and the Graph token live in Secrets Manager and in the container's memory (the token until shortly before it expires).",
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights posts in Teams as the app or through the webhook.',
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /teams/* only to callers allowed that); the queue needs IAM rights.',
      },
    ],
    tampering: [
      {
        threat: 'A retried write posts the same message twice.',
        control:
          'Writes run once per idempotency key (queue writes keyed by message id), and Graph and webhook posts are never retried by the client after a 5xx or timeout.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a message posted in a channel.',
        control:
          'Each invocation logs operation and correlation id; Teams shows the message as posted by the app (or the Workflows bot).',
      },
    ],
    'information-disclosure': [
      {
        threat:
          "The client secret, the Graph token or a webhook URL's sig (anyone holding the URL can post) leaks into a log line, an error or a response.",
        control:
          'Errors name the webhook, never its URL; the token endpoint errors are redacted; the tests search answers and logs for the client secret and the sig.',
      },
    ],
    'denial-of-service': [
      {
        threat: "Containers exhaust Graph's or the webhook's throttling between them.",
        control:
          'Retry-After honoured within the time left, a typed 429 beyond it; TEAMS_RATE_LIMIT shares one budget through CIRCLE_COORDINATION_TABLE.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role acts in Teams beyond posting.',
        control:
          'The role reads only its own two secrets and writes only its own DLQ. Grant the app only what posting and reading channel messages need, per team (resource-specific consent) rather than tenant-wide.',
      },
    ],
  },
});
