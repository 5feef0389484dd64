import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'The one PostgreSQL server in its secret (or PG_URL locally), over TLS verified against the RDS CA and the host name (PG_SSL verify-full).',
    'Secrets Manager for its own secret, its own dead-letter queue and the idempotency table, over HTTPS.',
  ],
  stores: [
    'Nothing at rest of its own: rows live in the database. The secret is cached in memory for PG_SECRET_MAX_AGE_SECONDS.',
    'Idempotency records of its writes (for an hour) and poison messages in its dead-letter queue.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights runs SQL through the HTTP API, the queue or a state machine.',
        control:
          'Routes use the aws_iam authorizer; sending to its queue or invoking it needs IAM rights granted per role.',
      },
      {
        threat: 'A server impersonates the database to harvest the password.',
        control:
          'TLS with certificate and host-name verification by default; an untrusted CA or a wrong name is a ConfigurationError, never a fallback to plain text.',
      },
    ],
    tampering: [
      {
        threat: 'SQL injection through values.',
        control:
          'Values are always bound parameters; the placeholder count and NUL bytes are checked before sending; one statement per call.',
      },
      {
        threat: 'A retried write inserts or updates twice.',
        control:
          'Writes run once per idempotency key (queue writes keyed by message id, workflow tasks by execution and state).',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a write.',
        control:
          'Each invocation logs operation, duration and correlation id; the database role named in the README can add pgaudit for statement-level audit.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Row values, SQL or the password leak into logs or errors.',
        control:
          'Logs and problem bodies carry the operation and error class and code, never values, rows or credentials; server messages quoting values are cut.',
      },
      {
        threat: 'The function reads server files or other databases.',
        control:
          'The least-privilege role in the README has no superuser, COPY TO PROGRAM, pg_read_file or dblink; role.test.ts proves the refusals.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A burst of invocations opens more connections than the server allows.',
        control:
          'One reused connection per container, SQS maximum concurrency 5 and reserved concurrency in prod; RDS Proxy switchable by config.',
      },
      {
        threat: 'A slow query holds the invocation or the server.',
        control:
          'statement_timeout from the time left; the query is cancelled on timeout; results capped by PG_MAX_ROWS and the answer size limits.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The caller gains more than the database user may do.',
        control:
          "The database role's grants are the boundary (README: least privilege); the function's IAM role reads only its own secret and DLQ.",
      },
    ],
  },
});
