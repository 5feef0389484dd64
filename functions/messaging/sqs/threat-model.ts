import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'Amazon SQS over HTTPS (SigV4): the one queue SQS_QUEUE_URL names, nothing else; another queue named in a request is refused before any call.',
    'Its own dead-letter queue (SQS) and the idempotency table (DynamoDB), through the AWS SDK over HTTPS.',
  ],
  stores: [
    'Nothing of its own: messages live in the queue for its retention (4 days), encrypted with SQS-managed keys.',
    'Idempotency records of its writes (the answer, for an hour) and poison requests in its dead-letter queue (14 days).',
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights publishes to or drains the queue through the HTTP API.',
        control:
          'Every route sits behind the aws_iam authorizer; queue and Step Functions callers need IAM rights to send or invoke.',
      },
    ],
    tampering: [
      {
        threat: 'A request names another queue (a URL of another account) to write into or read from it.',
        control:
          'destination and source must name the configured queue (its URL or name) or the call is a 403; the role allows that queue only.',
      },
      {
        threat: 'A retried task publishes the same message twice.',
        control:
          'Writes run once per idempotency key; a FIFO queue also drops a repeated deduplicationId for five minutes.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having published or deleted a message.',
        control:
          'Each invocation logs the operation, the queue and a correlation id; SQS data events in CloudTrail (when enabled) name the calling role.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Message bodies or attributes leak through logs or error messages.',
        control:
          'Logs carry operation, duration and error class only; errors name the queue and the SQS error code, never a body.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A huge message or a long receive holds the function or exhausts its memory.',
        control:
          'Messages and batches over 1 MiB are refused before the call (413); a receive waits at most 20 s and never past the invocation’s time left.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The function is used to reach other queues or AWS services.',
        control:
          'Its role allows only Send/Receive/DeleteMessage, ChangeMessageVisibility and GetQueueAttributes on its own queue, SendMessage on its own DLQ and its own idempotency keys.',
      },
    ],
  },
});
