import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'The one PostgreSQL server in its secret (or PG_URL locally), over TLS verified against the RDS CA and the host name (PG_SSL verify-full); only the tables of its schema (PGVECTOR_SCHEMA) that it created itself.',
    'Secrets Manager for its own secret, its own dead-letter queue and the idempotency table, over HTTPS.',
  ],
  stores: [
    'Nothing at rest of its own: vectors and metadata live in the database, one table per collection. The secret is cached in memory for PG_SECRET_MAX_AGE_SECONDS.',
    'Idempotency records of its writes (for an hour) and poison messages in its dead-letter queue.',
  ],
  threats: {
    spoofing: [
      {
        threat:
          'A caller without rights reads or writes vectors through the HTTP API, the queue or a state machine.',
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
        threat: 'SQL injection through a collection name, a metadata field name or a value.',
        control:
          'Collection names match ^[a-z][a-z0-9-]{0,44}$ and are quoted; field names match ^[A-Za-z][A-Za-z0-9_]{0,63}$ and, like every vector, id and metadata value, travel as bound parameters; the dimension is a validated integer; a test sends hostile names and values.',
      },
      {
        threat: 'A caller drops or overwrites a table that is not a vector collection.',
        control:
          'Only tables whose embedding column carries the connector marker are described, written or dropped; any other table of that name is a 409.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a write.',
        control:
          'Each invocation logs operation, duration and correlation id; pgaudit on the server can add statement-level audit.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Vectors, metadata or the password leak into logs or errors.',
        control:
          'Logs and problem bodies carry the operation and error class, never vectors, metadata values or credentials; server messages quoting values are cut (the SQL kit).',
      },
      {
        threat: 'A tenant reads another tenant’s vectors.',
        control:
          'Namespaces are a key column on every statement; the tests prove queries, fetches and deletes never cross them. A caller that may pick any namespace can read any: give tenants separate callers or collections.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A huge query or batch holds the invocation or the server.',
        control:
          'At most 100 records per upsert or fetch, topK at most 100, 50 filter conditions, 16,000 dimensions; statement_timeout from the time left; one reused connection per container and SQS maximum concurrency.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The caller gains more than the database user may do.',
        control:
          "The database role's grants are the boundary (README: least privilege: CREATE on its schema, no superuser); the function's IAM role reads only its own secret and DLQ.",
      },
    ],
  },
});
