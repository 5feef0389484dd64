import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    "Pinecone's control plane at PINECONE_API_URL and each index's data-plane host as Pinecone's index model names it (checked to be a host name, never taken from input), over HTTPS.",
    'Secrets Manager for its own API key and its own dead-letter queue, with its own role.',
  ],
  stores: [
    "Nothing at rest: vectors and metadata live in Pinecone. The API key lives in Secrets Manager and in the container's memory for its max age; index hosts, dimensions and metrics are cached in memory.",
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights reads or writes vectors with the connector key.',
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /pinecone/* only to callers allowed that); the queue needs IAM rights.',
      },
      {
        threat: 'A forged index host sends the API key elsewhere.',
        control:
          'The host comes only from Pinecone’s own answer over verified TLS, must look like a host name, and keeps the control plane’s scheme.',
      },
    ],
    tampering: [
      {
        threat: 'A filter injects an operator Pinecone would accept but the interface does not promise.',
        control:
          'Filters are validated against the interface’s filter model (fields, operators, 50 conditions) before they travel as JSON.',
      },
      {
        threat: 'A retried write applies twice.',
        control:
          'Upserts name their ids, so a replay writes the same state; writes run once per idempotency key; POSTs are not retried by the client.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a change made at Pinecone.',
        control:
          'Each invocation logs operation and correlation id; Pinecone’s audit log (Enterprise) records the key.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'The API key leaks into a log line, an error or a response.',
        control:
          'The key travels only in the Api-Key header, which the logs redact; the marker test checks answers and logs.',
      },
      {
        threat: 'A tenant reads another tenant’s vectors.',
        control:
          'Namespaces are Pinecone’s own partitions, but one key reaches every namespace: give tenants separate callers, or projects with their own keys.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A huge batch or query exhausts Pinecone quotas or the invocation.',
        control:
          'At most 100 records per upsert or fetch, topK at most 100, 50 filter conditions; timeouts from the time left; Retry-After honoured; PINECONE_RATE_LIMIT shares one budget across containers.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role acts beyond the connector.',
        control:
          "The role reads only its own secret and writes only its own DLQ; the key's project (and its role where Pinecone offers key roles) bounds what it can do at Pinecone.",
      },
    ],
  },
});
