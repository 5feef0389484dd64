import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'The one MySQL or MariaDB server in its secret (or URL), over TLS verified against the RDS CAs; the KILL after a timeout goes to the same server with the same credentials.',
    'Secrets Manager for its own secret, and its own dead-letter queue, over HTTPS. No other connection.',
  ],
  stores: [
    'Nothing at rest. The secret is cached in memory for MYSQL_SECRET_MAX_AGE_SECONDS; results pass through memory only (at most MYSQL_MAX_ROWS rows per result).',
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights runs SQL through the HTTP API, the queue or a state machine.',
        control: 'Routes use the aws_iam authorizer; the queue and direct invocation need IAM rights.',
      },
      {
        threat: 'A server impersonates the database to harvest the password.',
        control:
          'TLS with chain and host-name verification; an untrusted CA or a name mismatch fails with a ConfigurationError naming which.',
      },
    ],
    tampering: [
      {
        threat: 'SQL injection through values, or several statements in one call.',
        control:
          'Prepared statements only; multiple statements are off on the client; placeholders counted before sending.',
      },
      {
        threat: 'A malicious server sends crafted results to make the client read local files.',
        control:
          'Results are parsed by mysql2 as data, never evaluated; LOAD DATA LOCAL is off on the client.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a write.',
        control:
          'Each invocation logs operation, duration, error class and correlation id; the server audit plugin can record statements per user.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'SQL values, rows or credentials leak into logs or errors.',
        control:
          'Logs carry the operation, duration and error class and code only; server messages that quote values are cut before they reach a log or a caller.',
      },
      {
        threat: 'The function reads server files.',
        control: 'The database user has no FILE grant (README: Database user) and LOAD DATA LOCAL is off.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'Long queries or open transactions hold the server.',
        control:
          'max_execution_time from the time left, a KILL QUERY on timeout, and no transaction kept across calls; SQS maximum concurrency caps connections.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: "An attacker with the function's role reaches beyond the database user.",
        control:
          'The role reads only its own secret and writes only its own DLQ (with IAM authentication: connect as that one user); grants of the database user are the boundary.',
      },
    ],
  },
});
