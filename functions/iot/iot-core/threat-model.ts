import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    "The account's AWS IoT data plane over HTTPS (SigV4 with its own role): publishing under devices/ and the shadows of things; nothing of the control plane (things, policies, certificates).",
    'Its own dead-letter queue; the telemetry queue is written by the IoT rule, not by the function.',
  ],
  stores: [
    'Nothing of its own: shadows live in AWS IoT, retained messages in the broker; telemetry waits in the telemetry queue (SSE, 7 days) for its consumer.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights publishes commands or changes a shadow through the operations.',
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /iot-core/* only to callers allowed that); the queue needs IAM rights.',
      },
      {
        threat: 'A device or a stranger sends forged telemetry into the queue.',
        control:
          "Only AWS IoT's rule can write to the queue (its role, conditioned on this account); which devices may publish to devices/+/telemetry is the IoT policy attached to their certificates.",
      },
    ],
    tampering: [
      {
        threat: "Two writers overwrite each other's shadow change.",
        control:
          'update-thing-shadow takes the version read: a stale one is refused with 409 naming the current version (optimistic locking, as the shadow service does it).',
      },
      {
        threat: 'A crafted topic or thing name reaches topics or things outside what the connector is for.',
        control:
          'Names are validated (no wildcards, AWS IoT name rules); the role allows iot:Publish under devices/* only, so $aws/ and other topics are refused by AWS.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a command or shadow change.',
        control:
          'Each invocation logs operation and correlation id; the clientToken is echoed on the shadow topics; CloudTrail data events (when enabled) name the calling role.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Message payloads or shadow state leak into logs or errors.',
        control:
          'Logs carry operation, duration and error class only; problem bodies name the thing, shadow or topic, never payloads or state (a marker test).',
      },
    ],
    'denial-of-service': [
      {
        threat: "A flood of commands or shadow updates exhausts the account's IoT quotas.",
        control:
          'Throttling is a 429 with Retry-After from the SDK after its retries; shadow documents are capped at 8 KB by AWS (413 -> 400 naming the limit).',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role reaches other AWS resources.',
        control:
          'The role may publish under devices/*, read/update/delete thing shadows and send to its own dead-letter queue; no control-plane action, no other service.',
      },
    ],
  },
});
