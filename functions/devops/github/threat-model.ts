import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    "GitHub's REST API (GITHUB_API_URL, api.github.com or an Enterprise server) over HTTPS with a token or a GitHub App installation token.",
    'Secrets Manager for its secrets; its state table, events queue, optional state machine, dead-letter queue, the idempotency and coordination tables, over HTTPS.',
  ],
  stores: [
    'Webhook delivery ids and sync checkpoints in its state table; events handed on to its events queue or state machine.',
    'GitHub App installation tokens (one hour) in the coordination table, shared by its containers: KMS-encrypted, reachable only by its own keys.',
    'Idempotency records of its writes; its token and secrets in memory for their max age.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'Someone posts forged webhook deliveries to the public webhook route.',
        control:
          'X-Hub-Signature-256 (HMAC-SHA256 of the raw body) is verified in constant time before parsing; without the webhook secret the route fails closed.',
      },
      {
        threat: 'A caller without rights opens issues or writes files through the operations.',
        control:
          'Operation routes use the aws_iam authorizer; the queue and direct invocation need IAM rights.',
      },
    ],
    tampering: [
      {
        threat: 'A delivery is replayed, or GitHub redelivers one already handled.',
        control: 'Each X-GitHub-Delivery id is claimed once in the delivery ledger before it is handed on.',
      },
      {
        threat: 'A crafted file path writes outside the intended place in a repository.',
        control: 'File paths go through the shared safe-path schema; owner and repo names are validated.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a change made in GitHub.',
        control:
          'Invocations log operation, repository and correlation id; GitHub records every change under the token or app identity.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Tokens, the app private key or the webhook secret leak into logs, errors or answers.',
        control:
          'Secrets are redacted from errors and never logged; the shared installation token is stored encrypted and only this function may read its keys.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'Containers exhaust the GitHub rate limit between them.',
        control:
          'One rate budget shared by every container (4,500 an hour, GITHUB_RATE_LIMIT); a 403/429 Retry-After or reset pauses all of them.',
      },
      {
        threat: 'Fifty containers each exchange an installation token at once.',
        control:
          'One exchange per expiry under a lease in the coordination table; the others wait and reuse it.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The token grants more than the connector needs.',
        control:
          'README names the fine-grained permissions to grant; the function role reads only its own secrets and reaches only its own resources.',
      },
    ],
  },
});
