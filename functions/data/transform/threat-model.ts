import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    'The data bucket (TRANSFORM_BUCKET) and the buckets in TRANSFORM_ALLOWED_BUCKETS, over HTTPS with its own role: it reads the claim-check objects a request names and writes output objects; any other bucket named in a request is refused (403) before a call.',
    'For load-postgres, the PostgreSQL database its own secret names (PG_SECRET), over TLS with verify-full: it creates its manifest table there and copies rows into the table a request names (its database user decides which tables that can be).',
    'For load-mysql, the MySQL/MariaDB database its own secret names (MYSQL_SECRET), over TLS with verify-full: it creates its manifest table there and inserts rows (bound parameters only) into the table a request names.',
    'For export-postgres and export-mysql, the same databases, read only: it selects the table a request names page by page in key order (bound parameters only) and writes the rows as part objects to the data bucket.',
    'Its own dead-letter queue and its idempotency records. No network beyond S3 and that database: JSONata expressions run in process and have no access to the network, the file system, the environment or the process.',
  ],
  stores: [
    'Rows it loads into the target table, and one manifest row per loaded part (load id, part, rows, time) in TRANSFORM_PG_MANIFEST_TABLE or TRANSFORM_MYSQL_MANIFEST_TABLE.',
    'Output objects in the bucket a request names (default under TRANSFORM_OUTPUT_PREFIX, named after the correlation id); nothing else. Logs carry counts, never records.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights runs transforms or reads objects through the claim check.',
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /transform/* only to callers allowed that); the queue needs IAM rights; buckets are limited to the allow-list.',
      },
    ],
    tampering: [
      {
        threat: 'A request writes into a table it should not, or injects SQL through a table or column name.',
        control:
          'Table and column names are checked as plain identifiers and quoted; values travel only as COPY data, never as SQL text. Grant the database user INSERT on the load tables only.',
      },
      {
        threat: 'A request overwrites objects it should not by naming an output key.',
        control:
          'Output keys are checked as safe object keys and only land in allowed buckets; the role may write only the data bucket. Writes run once per idempotency key.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a transform or the object it wrote.',
        control:
          'Each invocation logs operation, correlation id and record counts; the default output key carries the correlation id; CloudTrail data events (when enabled) name the role.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Record contents leak into logs, errors or rejection reports.',
        control:
          'Rejections carry the index, the stage, JSONata’s message and JSON pointers into the record, never its values; logs carry counts only.',
      },
      {
        threat: 'An expression reaches data beyond the record (environment, files, other requests).',
        control:
          'JSONata evaluates over the record and the given bindings only; it has no host functions registered and no I/O.',
      },
    ],
    'denial-of-service': [
      {
        threat:
          'A runaway expression (infinite recursion, a huge range, a giant string) or a huge input exhausts the function.',
        control:
          'Every evaluation is bounded by JSONata’s guardrails (TRANSFORM_EVAL_TIMEOUT_MS, TRANSFORM_MAX_DEPTH, TRANSFORM_MAX_SEQUENCE) and its answer by TRANSFORM_MAX_RESULT_BYTES; records are streamed in 8 MiB ranges with TRANSFORM_MAX_RECORD_BYTES per line; outputs are capped by TRANSFORM_MAX_OUTPUT_BYTES; the invocation stops taking records before its deadline. A single built-in call (e.g. $pad to 100 MB) is only bounded by the function memory.',
      },
      {
        threat: 'A JSON Schema with a catastrophic regular expression (pattern) stalls validation.',
        control:
          'JSON Schemas are limited to 64 KiB; the function timeout bounds the rest. Prefer named models for untrusted callers.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role reaches other AWS resources.',
        control:
          'The role is limited to the data bucket (get, put, abort multipart, list), its own dead-letter queue and its own idempotency records.',
      },
    ],
  },
});
