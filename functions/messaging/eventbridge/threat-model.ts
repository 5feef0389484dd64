import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'Amazon EventBridge over HTTPS (SigV4): the one bus EVENTBRIDGE_BUS_NAME names, and through its rules their targets; another bus named in a request is refused before any call.',
    'Its own dead-letter queue (SQS) and the idempotency table (DynamoDB), through the AWS SDK over HTTPS.',
  ],
  stores: [
    'Nothing: EventBridge keeps no event once routed (targets do, and an archive would if the bus had one).',
    'Idempotency records of its writes (the answer, for an hour) and poison requests in its dead-letter queue (14 days).',
  ],
  threats: {
    spoofing: [
      {
        threat:
          'A caller puts events that look like another system’s (a forged source) to trigger its rules.',
        control:
          'Routes sit behind the aws_iam authorizer; the "aws." source prefix is refused; rules that must trust a source should match on it and on the bus, which only this role may put to.',
      },
    ],
    tampering: [
      {
        threat: 'A request names another bus to inject events into it.',
        control:
          'destination must name the configured bus (its name or ARN) or the call is a 403; the role allows PutEvents on that bus only.',
      },
      {
        threat: 'A retried task puts the same event twice and its rules run twice.',
        control:
          'Writes run once per idempotency key; targets should still be idempotent (EventBridge delivers at least once).',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having put an event.',
        control:
          'Each invocation logs the operation, the bus, the event ids and a correlation id; PutEvents in CloudTrail (when enabled) names the calling role.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Event details leak through logs or errors, or to a rule’s target that should not see them.',
        control:
          'Logs carry operation, duration and error class only; which target sees what is each rule’s pattern, and rules are not in the role.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'Large or many events exhaust the bus quota or the targets.',
        control:
          'Entries and requests over 1 MiB (as EventBridge counts them) are refused before the call (413); at most 10 per call; the HTTP API stage throttles every route.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The function is used to create rules or targets that reach other services.',
        control:
          'Its role allows only PutEvents and DescribeEventBus on its own bus and DescribeRule/ListTargetsByRule on that bus’s rules, SendMessage on its own DLQ and its own idempotency keys.',
      },
    ],
  },
});
