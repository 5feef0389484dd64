import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    "Qdrant's REST API at QDRANT_API_URL over HTTPS only (no URL comes from input); collection names are validated and percent-encoded into the path.",
    'Secrets Manager for its own API key and its own dead-letter queue, with its own role.',
  ],
  stores: [
    "Nothing at rest: vectors and metadata live in Qdrant (payload `{ namespace, id, metadata }`). The API key lives in Secrets Manager and in the container's memory for its max age.",
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights reads or writes vectors with the connector key.',
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /qdrant/* only to callers allowed that); the queue needs IAM rights.',
      },
    ],
    tampering: [
      {
        threat: 'A filter or id injects conditions or reaches another namespace.',
        control:
          'Filters are built from the validated filter model (field names are plain words under metadata.); every query, fetch and delete is scoped by a must condition on the namespace (reads in the default namespace also match points with no namespace field, which another tool wrote), and point ids are hashes of (namespace, id).',
      },
      {
        threat: 'A retried write applies twice.',
        control:
          'Upserts and deletes name their points, so a retry writes the same state; writes also run once per idempotency key.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a change made at Qdrant.',
        control: 'Each invocation logs operation and correlation id; Qdrant Cloud logs calls under the key.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'The API key leaks into a log line, an error or a response.',
        control:
          'The key travels only in the api-key header, which the logs redact; the marker test checks answers and logs.',
      },
      {
        threat: 'A tenant reads another tenant’s vectors.',
        control:
          'Namespaces are enforced by the connector (payload condition), not by Qdrant: a caller that may pick any namespace can read any. Use a read-only key per collection (Qdrant Cloud JWT access) where tenants must be apart.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A huge batch or query exhausts Qdrant or the invocation.',
        control:
          'At most 100 records per upsert or fetch, topK at most 100, 50 filter conditions; timeouts from the time left; Retry-After honoured; QDRANT_RATE_LIMIT shares one budget across containers.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role acts beyond the connector.',
        control:
          "The role reads only its own secret and writes only its own DLQ; the key's rights (a collection-scoped, read-only key where writes are not needed) bound what it can do at Qdrant.",
      },
    ],
  },
});
