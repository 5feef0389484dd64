import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'The one Redis server at REDIS_HOST:REDIS_PORT (no host comes from input), over TLS verified against Node.js CAs plus NODE_EXTRA_CA_CERTS; plain TCP only to loopback.',
    'Secrets Manager for its own secret, its own dead-letter queue and its own idempotency records, over HTTPS. No other connection.',
  ],
  stores: [
    'Nothing itself: values live in Redis under REDIS_KEY_PREFIX (in memory, and in its snapshots when persistence is on). The ACL password is cached in memory for REDIS_SECRET_MAX_AGE_SECONDS.',
  ],
  threats: {
    spoofing: [
      {
        threat:
          'A caller without rights reads or writes values through the HTTP API, the queue or a state machine.',
        control: 'Routes use the aws_iam authorizer; the queue and direct invocation need IAM rights.',
      },
      {
        threat: 'A server impersonates Redis to harvest the ACL password.',
        control:
          'TLS with chain and host-name verification before AUTH; an untrusted CA or a name mismatch fails with a ConfigurationError naming which.',
      },
    ],
    tampering: [
      {
        threat: 'Keys or values smuggle commands or script code.',
        control:
          'Keys and values travel as script arguments of fixed Lua scripts, never as command names or script text; a listing prefix is glob-escaped and a cursor validated.',
      },
      {
        threat: 'Two writers overwrite each other (lost update).',
        control:
          'Each write is one atomic script; onlyIfAbsent and ifVersion (a random version token per write) refuse a stale write with a 409.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a write.',
        control:
          'Each invocation logs operation, duration, error class and correlation id; writes need an idempotency key, recorded per key.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Values, keys or the password leak into logs, errors or responses.',
        control:
          'Messages name Redis reply codes, never a key, a value or a credential; the rotation test searches the logs for both passwords.',
      },
      {
        threat: 'One stage reads another stage’s keys on a shared server.',
        control:
          'Every key is prefixed with REDIS_KEY_PREFIX (circle-core:<stage>:); the ACL user is limited to its prefix, so a key outside is a 403 (NOPERM).',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A huge value, batch or listing exhausts memory or holds the server.',
        control:
          'Values are capped at 256 KiB, batches at 100 reads and 25 writes, pages at 1,000 keys and 20 SCAN calls; every command is bounded by the time left.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: "An attacker with the function's role reaches beyond its keys.",
        control:
          'The role reads only its own secret and writes only its own DLQ; the ACL user may run only the connector’s commands on its prefix (README: Auth setup).',
      },
    ],
  },
});
