import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'Its one DynamoDB table (item calls and DescribeTable only, no index or stream), over HTTPS with the function role’s SigV4 credentials.',
    'Its own dead-letter queue and its own idempotency records. No host comes from input; no other connection.',
  ],
  stores: [
    'The values in its table: encrypted at rest by DynamoDB, point-in-time recovery on, expired items swept by TTL. No secret: the role is the credential.',
  ],
  threats: {
    spoofing: [
      {
        threat:
          'A caller without rights reads or writes values through the HTTP API, the queue or a state machine.',
        control: 'Routes use the aws_iam authorizer; the queue and direct invocation need IAM rights.',
      },
    ],
    tampering: [
      {
        threat: 'Keys or values alter a condition or an update expression.',
        control:
          'Expressions are fixed text; keys, values and versions travel as expression attribute values; a cursor is validated before it becomes ExclusiveStartKey.',
      },
      {
        threat: 'Two writers overwrite each other (lost update).',
        control:
          'onlyIfAbsent and ifVersion are condition expressions (a random version token per write), a failed one a 409; counters are one UpdateItem.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a write.',
        control:
          'Each invocation logs operation, duration, error class and correlation id; writes need an idempotency key; CloudTrail data events can record item calls.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Values or keys leak into logs, errors or responses.',
        control: 'Messages name the table and the AWS error name, never a key or a value.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A huge value, batch or listing exhausts memory or throughput.',
        control:
          'Values are capped at 256 KiB, batches at DynamoDB’s 100 reads and 25 writes, pages at 1,000 keys and 20 Scan calls; unprocessed items are retried only within the time left, then a 429.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: "An attacker with the function's role reaches other tables.",
        control:
          'The IAM statement names this table’s ARN and its item actions only; no wildcard action, no other table.',
      },
    ],
  },
});
