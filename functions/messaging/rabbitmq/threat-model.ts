import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'The one RabbitMQ broker at RABBITMQ_HOST:RABBITMQ_PORT (no host comes from input), over AMQPS with chain and host name verified unless RABBITMQ_TLS=disable.',
    "Secrets Manager for its own secret, and its own dead-letter queue, over HTTPS. Queues, routing keys and exchanges come from input: the broker user's permissions are the boundary.",
  ],
  stores: [
    'Nothing at rest. The secret is cached in memory for RABBITMQ_SECRET_MAX_AGE_SECONDS; message bodies pass through memory only, and received messages stay held by the broker until settled.',
  ],
  threats: {
    spoofing: [
      {
        threat:
          'A caller without rights publishes or pulls through the HTTP API, the queue or a state machine.',
        control: 'Routes use the aws_iam authorizer; the queue and direct invocation need IAM rights.',
      },
      {
        threat: 'A server impersonates the broker to harvest the password.',
        control:
          'AMQPS with chain and host-name verification; an untrusted CA or a name mismatch fails with a ConfigurationError naming RABBITMQ_TLS.',
      },
    ],
    tampering: [
      {
        threat: 'Input redirects a message to a queue or exchange it should not reach.',
        control:
          'The exchange is fixed by RABBITMQ_EXCHANGE; routing keys reach only what the broker user may write (configure/write/read permissions in the README).',
      },
      {
        threat: 'A forged receipt settles another delivery or makes the broker close the channel.',
        control:
          'A receipt names the channel that issued it and its tag must be one this channel holds; anything else is refused in its result and never sent.',
      },
    ],
    repudiation: [
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
          "Errors carry the broker's reply code and text (queue and exchange names), never credentials or bodies; the tests check the password never appears.",
      },
    ],
    'denial-of-service': [
      {
        threat:
          'A burst of invocations opens more connections than the broker allows, or a pull holds the connection.',
        control:
          'One reused connection per container, SQS maximum concurrency in function.yml, pulls bounded by waitTimeMs and the time left and taking the connection one basic.get at a time (other invocations publish between polls), heartbeats drop a frozen container.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role acts beyond the broker user.',
        control:
          "The role reads only its own secret and writes only its own DLQ; the broker user's permissions are limited to the connector's names.",
      },
    ],
  },
});
