import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'The GCS JSON API and signed-URL host at GCS_API_URL (default https://storage.googleapis.com) over HTTPS: the bucket GCS_BUCKET and any listed in GCS_ALLOWED_BUCKETS, nothing else; no URL comes from input.',
    "The OAuth2 token endpoint of the key file's token_uri (or GCS_TOKEN_URL), for the JWT bearer grant.",
    'Its own secret (Secrets Manager), its own dead-letter queue (SQS) and its idempotency keys (DynamoDB), through AWS over HTTPS.',
  ],
  stores: [
    'Objects callers put, in the bucket: Google encrypts them at rest; the connector never creates buckets.',
    'Idempotency records of its writes (the answer, for an hour) and poison messages in its dead-letter queue (14 days).',
    'The service account key in memory for the secret max age (GCS_SECRET_MAX_AGE_SECONDS) and an access token (scope devstorage.read_write) until five minutes before it expires; object bodies pass through memory, capped at 6 MB per answer.',
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
          'Someone holding a V4 signed URL uses it for another object, another method or after it expired.',
        control:
          'Each URL signs one object path, one method, the host (and for PUT the content-type) and X-Goog-Expires (at most 7 days); it dies when the service account key is deleted.',
      },
    ],
    tampering: [
      {
        threat:
          'A crafted key (`..`, control characters, another bucket) reads or overwrites objects outside the intended place.',
        control:
          'Every key and prefix goes through the shared safe-path schema (shared/models/paths.ts) and is percent-encoded as one path segment; buckets outside the allow-list are refused with a 403 before any call.',
      },
      {
        threat: 'A redelivered message or retried task overwrites an object a later write already replaced.',
        control:
          'Writes run once per idempotency key; uploads are sent once (no retry of a POST); onlyIfAbsent sends ifGenerationMatch=0 so a concurrent write is a 409, not an overwrite.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having written or deleted an object.',
        control:
          "Each invocation logs operation, bucket and correlation id (sent as x-correlation-id); GCS's Data Access audit logs (when enabled) name the service account of every call.",
      },
    ],
    'information-disclosure': [
      {
        threat:
          'The private key, an access token, a signed assertion or object contents leak through logs, errors or answers.',
        control:
          'The key is read from Secrets Manager only; messages name the secret and missing fields, never values; token endpoint errors carry the OAuth error code and description with the assertion redacted (the tests look for a line of the key and the token prefix in answers and logs).',
      },
      {
        threat:
          'An attacker with the function role reads the key file and uses the service account beyond this bucket.',
        control:
          'The role may read this one secret only; grant the service account roles/storage.objectUser on the named buckets only (no project-wide roles) and rotate keys by adding a new key, updating the secret, then deleting the old one.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A huge object or listing exhausts the function memory or the caller.',
        control:
          'Objects beyond maxBytes come back as a signed URL (their size is read first), answers are capped (5 MiB read, 6 MB answered, 256 KiB to Step Functions) and listings are paged (maxResults at most 1,000).',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The function is used to reach other buckets, projects or AWS services.',
        control:
          'Buckets outside the allow-list are refused; the endpoint comes from settings, never input; the token carries the devstorage.read_write scope only; its AWS role allows only its own secret, its own DLQ and its own idempotency keys (dynamodb:LeadingKeys).',
      },
    ],
  },
});
