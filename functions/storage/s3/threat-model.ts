import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'Amazon S3 over HTTPS (SigV4): the bucket S3_BUCKET and any bucket listed in S3_ALLOWED_BUCKETS, nothing else.',
    'Its own dead-letter queue (SQS) and the idempotency table (DynamoDB), through the AWS SDK over HTTPS.',
  ],
  stores: [
    'Objects callers put, in the bucket: encrypted at rest (SSE), TLS-only bucket policy, public access blocked.',
    'Idempotency records of its writes (the answer, for an hour) and poison messages in its dead-letter queue (14 days).',
    'Nothing across invocations in memory but the SDK client; object bodies pass through memory, capped at 6 MB per answer.',
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
          'Someone holding a presigned URL uses it after it was meant to expire, or for another object.',
        control:
          'A URL names one object and one method, expires within expiresIn (at most 7 days) and dies with the role credentials that signed it.',
      },
    ],
    tampering: [
      {
        threat:
          'A crafted key (`..`, control characters, another bucket) reads or overwrites objects outside the intended place.',
        control:
          'Every key and prefix goes through the shared safe-path schema (shared/models/paths.ts); buckets outside S3_BUCKET/S3_ALLOWED_BUCKETS are refused with a 403 (forbidden).',
      },
      {
        threat: 'A redelivered message or retried task overwrites an object a later write already replaced.',
        control:
          'Writes run once per idempotency key; onlyIfAbsent writes use If-None-Match so a concurrent write is a 409, not an overwrite.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having written or deleted an object.',
        control:
          'Each invocation logs operation, bucket and correlation id; S3 data events in CloudTrail (when enabled) name the calling role.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Object contents or presigned URLs leak through logs or error messages.',
        control:
          'Logs carry operation, duration and error class only; problem bodies name the field and the key, never the content or a signature.',
      },
      {
        threat: 'Data is read in transit or from a public bucket.',
        control:
          'The bucket policy denies non-TLS access and public access is blocked; the template test checks every bucket.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A huge object or listing exhausts the function memory or the caller.',
        control:
          'Answers are capped (6 MB synchronous, 256 KiB to Step Functions) with a 413 naming the limit; listings are paged (maxKeys at most 1,000).',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The function is used to reach other buckets or AWS services.',
        control:
          'Its role allows only Get/Put/DeleteObject and ListBucket on its own bucket, SendMessage on its own DLQ and its own idempotency keys (dynamodb:LeadingKeys).',
      },
    ],
  },
});
