import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'The blob endpoint of its credential (or AZURE_BLOB_ENDPOINT) over HTTPS: the container AZURE_BLOB_CONTAINER and any listed in AZURE_BLOB_ALLOWED_CONTAINERS, nothing else; no URL comes from input.',
    'Its own secret (Secrets Manager), its own dead-letter queue (SQS) and its idempotency keys (DynamoDB), through AWS over HTTPS.',
  ],
  stores: [
    'Blobs callers put, in the container: Azure encrypts them at rest; the connector never creates containers.',
    'Idempotency records of its writes (the answer, for an hour) and poison messages in its dead-letter queue (14 days).',
    'The account key or SAS in memory for the secret max age (AZURE_BLOB_SECRET_MAX_AGE_SECONDS); blob bodies pass through memory, capped at 6 MB per answer.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights invokes an operation through the HTTP API.',
        control:
          'Every route sits behind the aws_iam authorizer; queue and Step Functions callers need IAM rights to send or invoke.',
      },
      {
        threat:
          'Someone holding a SAS URL uses it for another blob, another method or after it should have expired.',
        control:
          'Each SAS names one blob, read (GET) or create+write (PUT) only, and expires within expiresIn (at most 7 days); signed with the account key, it dies when the key is regenerated.',
      },
    ],
    tampering: [
      {
        threat:
          'A crafted key (`..`, control characters, another container) reads or overwrites blobs outside the intended place.',
        control:
          'Every key and prefix goes through the shared safe-path schema (shared/models/paths.ts); containers outside the allow-list are refused with a 403 before any call.',
      },
      {
        threat: 'A redelivered message or retried task overwrites a blob a later write already replaced.',
        control:
          'Writes run once per idempotency key; onlyIfAbsent sends If-None-Match: * so a concurrent write is a 409, not an overwrite.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having written or deleted a blob.',
        control:
          "Each invocation logs operation, container and correlation id; Azure's storage analytics logs (when enabled) record the request ids the errors carry.",
      },
    ],
    'information-disclosure': [
      {
        threat: 'The account key, a SAS or blob contents leak through logs, errors or answers.',
        control:
          'The secret is read from Secrets Manager only; messages name the secret and fields, never values; errors carry the Azure code and request id only (the tests look for the key in answers and logs).',
      },
      {
        threat:
          'An attacker with the function role reads the secret and uses the account key against the whole storage account.',
        control:
          'The role may read this one secret only; prefer a SAS scoped to the containers and permissions needed (presigned URLs then answer 501) and rotate keys with the second key.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A huge blob or listing exhausts the function memory or the caller.',
        control:
          'Blobs beyond maxBytes come back as a SAS URL, the body is never read past maxBytes, answers are capped (6 MB, 256 KiB to Step Functions) and listings are paged (maxKeys at most 1,000).',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The function is used to reach other containers, accounts or AWS services.',
        control:
          'Containers outside the allow-list are refused; the endpoint comes from settings, never input; its role allows only its own secret, its own DLQ and its own idempotency keys (dynamodb:LeadingKeys).',
      },
    ],
  },
});
