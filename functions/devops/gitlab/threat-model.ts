import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    "GitLab's REST API v4 at GITLAB_API_URL (gitlab.com or a self-managed instance) over HTTPS with an access token or an OAuth 2.0 access token, and GitLab's token endpoint with OAuth; project paths, file paths and refs from input are URL-encoded into paths under that base URL, never a host.",
    'Secrets Manager for its token and webhook secret; its state table, events queue, dead-letter queue, the idempotency and coordination tables, over HTTPS.',
  ],
  stores: [
    'Webhook delivery ids (Idempotency-Key or X-Gitlab-Event-UUID) in its state table (7 days); accepted events handed on to its events queue.',
    "With OAuth, GitLab's rotated refresh token written back to its own secret, and the shared access token in the coordination table.",
    'Idempotency records of its writes; its secrets in memory for their max age. Issue text and file contents pass through, never logged.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'Someone posts forged webhook deliveries to the public webhook route.',
        control:
          "X-Gitlab-Token must equal the stored secret token, compared in constant time over SHA-256 digests (no length leak) before the body is parsed; a missing or empty stored token fails closed (500). GitLab's token signs nothing, so the route relies on TLS and the token's secrecy.",
      },
      {
        threat:
          'A caller without rights creates issues, merge requests, pipelines or commits through the operations.',
        control:
          'Operation routes use the aws_iam authorizer; the queue and direct invocation need IAM rights.',
      },
    ],
    tampering: [
      {
        threat: 'A captured delivery is replayed, or GitLab retries one already handled.',
        control:
          'Each Idempotency-Key (the same across GitLab retries), else X-Gitlab-Event-UUID, is claimed once in the delivery ledger; a replay with a new id still needs the secret token.',
      },
      {
        threat: 'A crafted path or ref climbs out of the project (../) or smuggles a query into the request.',
        control:
          'File paths pass the shared safe-path rules, branches a strict pattern, and every path segment is URL-encoded; put-file with lastCommitId refuses to overwrite a file changed since (409).',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a change made in GitLab.',
        control:
          "Invocations log the operation and correlation id; GitLab's audit events record every change under the token's user or bot.",
      },
    ],
    'information-disclosure': [
      {
        threat:
          'The access token, OAuth client secret or refresh token, or the webhook token leak into logs, errors or answers.',
        control:
          'Secrets are redacted from errors and never logged (the tests search logs and answers for them); error messages carry GitLab messages, never values sent.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'GitLab throttles the token and callers retry into the limit.',
        control:
          'Retry-After and RateLimit-Remaining/RateLimit-Reset are honoured within the time left, a longer wait fails at once with the delay; a circuit breaker stops calls to a failing instance; GITLAB_RATE_LIMIT shares one budget across containers.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The token holds more than the workflows need (every project of its user).',
        control:
          'README recommends a project access token with the api scope and the Developer role on one project; the function role reads only its own secrets, writes only its own token secret and reaches only its own resources.',
      },
    ],
  },
});
