import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'The one MQTT broker at MQTT_HOST:MQTT_PORT (no host comes from input), over TLS with chain and host name verified unless MQTT_TLS=disable; a client certificate when the secret holds one.',
    "Secrets Manager for its own secret, and its own dead-letter queue, over HTTPS. Topics come from input: the broker's ACLs for the user are the boundary.",
  ],
  stores: [
    "Nothing at rest. The secret is cached in memory for MQTT_SECRET_MAX_AGE_SECONDS; a clean session leaves no state on the broker; retained messages are the broker's.",
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
          'TLS with chain and host-name verification; an untrusted certificate fails with a ConfigurationError naming MQTT_TLS.',
      },
    ],
    tampering: [
      {
        threat: 'Input publishes to wildcard or system topics.',
        control:
          'Publish topics with + or #, and topics or attributes with a character MQTT 5 forbids (controls, non-characters), are refused; $SYS and other topics are subject to the broker ACLs of the user.',
      },
      {
        threat: "A retained message overwrites a device's last value.",
        control: 'retain is explicit per message; the broker ACLs decide who may write which topics.',
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
        threat: 'Credentials or payloads leak into logs, errors or responses.',
        control: 'Errors carry the CONNACK or reason code only; the tests check the password never appears.',
      },
      {
        threat: 'collect-messages reads topics it should not.',
        control:
          'Subscriptions are bounded in time and count and refused by the broker ACLs (reason 0x80) where not allowed.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A collect holds the connection, or a burst opens too many connections.',
        control:
          'collect bounded by waitTimeMs and the time left, on a connection of its own closed after it, so other invocations publish meanwhile; one reused connection per container for the rest, with a random client id; SQS maximum concurrency in function.yml.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role acts beyond the broker user.',
        control:
          'The role reads only its own secret and writes only its own DLQ; broker ACLs are the boundary.',
      },
    ],
  },
});
