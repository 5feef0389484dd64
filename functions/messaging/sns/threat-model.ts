import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'Amazon SNS over HTTPS (SigV4): the one topic SNS_TOPIC_ARN names, and through it every subscriber whose filter policy matches; another topic named in a request is refused before any call.',
    'Its own dead-letter queue (SQS) and the idempotency table (DynamoDB), through the AWS SDK over HTTPS.',
  ],
  stores: [
    'Nothing: SNS keeps no message once delivered (its subscribers do); the topic is encrypted with the AWS managed key.',
    'Idempotency records of its writes (the answer, for an hour) and poison requests in its dead-letter queue (14 days).',
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights publishes to every subscriber through the HTTP API.',
        control:
          'Every route sits behind the aws_iam authorizer; queue and Step Functions callers need IAM rights to send or invoke.',
      },
    ],
    tampering: [
      {
        threat: 'A request names another topic to publish into it.',
        control:
          'destination must name the configured topic (its ARN or name) or the call is a 403; the role allows that topic only.',
      },
      {
        threat: 'A retried task publishes the same message twice to every subscriber.',
        control:
          'Writes run once per idempotency key; a FIFO topic also drops a repeated deduplicationId for five minutes.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having published a message.',
        control:
          'Each invocation logs the operation, the topic and a correlation id; SNS Publish events in CloudTrail (when enabled) name the calling role.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Message bodies leak through logs or errors, or reach a subscriber that should not see them.',
        control:
          'Logs carry operation, duration and error class only; who receives what is each subscription’s filter policy, and subscribing is not in the role.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A flood of large messages fans out to every subscriber.',
        control:
          'Messages and batches over 256 KiB are refused before the call (413); the HTTP API stage throttles every route.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The function is used to change the topic or its subscriptions, or reach other services.',
        control:
          'Its role allows only sns:Publish, ListSubscriptionsByTopic and GetTopicAttributes on its own topic, SendMessage on its own DLQ and its own idempotency keys.',
      },
    ],
  },
});
