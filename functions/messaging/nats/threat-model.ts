import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'The one NATS server at NATS_HOST:NATS_PORT (no host comes from input), over TLS with chain and host name verified unless NATS_TLS=disable.',
    "Secrets Manager for its own secret, and its own dead-letter queue, over HTTPS. Subjects and consumer names come from input: the NATS user's permissions are the boundary.",
    'forward-messages (the schedule): its own state table (delivery ids) and its own events queue, over HTTPS.',
  ],
  stores: [
    "Nothing at rest. The secret is cached in memory for NATS_SECRET_MAX_AGE_SECONDS; message bodies pass through memory only; JetStream keeps the consumer's position. forward-messages keeps the delivery id of each message it handed on (nats:<stream>#<sequence>) in its state table for NATS_DELIVERY_TTL_DAYS, and puts each forwarded message, body included, on its events queue (SSE, 7 days).",
  ],
  threats: {
    spoofing: [
      {
        threat:
          'A caller without rights publishes or pulls through the HTTP API, the queue or a state machine.',
        control: 'Routes use the aws_iam authorizer; the queue and direct invocation need IAM rights.',
      },
      {
        threat: 'A server impersonates NATS to harvest the credentials.',
        control:
          'TLS with chain and host-name verification; a server without TLS or an untrusted certificate fails with a ConfigurationError naming NATS_TLS. NKey creds never send the seed.',
      },
    ],
    tampering: [
      {
        threat: 'A receipt from input makes the connector publish to an arbitrary subject.',
        control:
          'Receipts must be ack subjects of the configured stream and consumer ($JS.ACK.<stream>.<consumer>.<numbers>); anything else is refused in its result and never sent.',
      },
      {
        threat: 'A publish is repeated and stored twice.',
        control:
          'deduplicationId travels as Nats-Msg-Id; the stream drops repeats within its duplicate window and the answer says duplicate.',
      },
    ],
    repudiation: [
      {
        threat: 'A forwarded message is handed on twice, or lost when a run dies part-way.',
        control:
          'Acknowledged only after its hand-on (a dead run leaves it to come back after the ack wait); a redelivery of one handed on before is recognised by its stream sequence in the ledger and acknowledged without a second hand-on.',
      },
      {
        threat: 'A caller denies a publish.',
        control:
          'Each invocation logs operation, duration, error class and correlation id; message bodies are never logged.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Credentials or message bodies leak into logs, errors or responses.',
        control:
          'Errors carry the client code and its meaning only; the tests check the password and token never appear.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A pull holds the connection, or a burst opens too many connections.',
        control:
          'Pulls bounded by waitTimeMs and the time left, each on its own inbox without taking the connection from other invocations; one reused connection per container; SQS maximum concurrency in function.yml.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role acts beyond the NATS user.',
        control:
          "The role reads only its own secret and writes only its own DLQ; the NATS user's publish/subscribe permissions are the boundary.",
      },
    ],
  },
});
