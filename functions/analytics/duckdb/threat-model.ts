import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    'S3 GetObject on the buckets of DUCKDB_SOURCE_BUCKETS only (checked by the connector before any call, and by IAM: GetObject on its source bucket, no list, no write); the endpoint comes from configuration, never from input.',
    'The files of DUCKDB_LOCAL_DIRECTORY when it is set (the local stack; unset when deployed), and nothing else on the file system: DuckDB runs with external access off, its allowed directories its own source folder and that directory, and its configuration locked, so SQL cannot read, write, ATTACH or INSTALL anything itself.',
    'No network from SQL: no DuckDB extension is installed or loaded (httpfs and postgres_scanner would download from the internet; autoinstall and autoload are off).',
    'Its own dead-letter queue and its own idempotency records.',
  ],
  stores: [
    "Query results in the container's memory until DUCKDB_RESULT_TTL_SECONDS after the query ended (DUCKDB_MAX_QUERIES at most), readable by anyone who may call the function and knows the handle (a random UUID).",
    'Each S3 source as a file under DUCKDB_TEMP_DIRECTORY (/tmp) while its query runs, removed when it ends; DuckDB spill files there during large queries.',
    'No secret: DuckDB is embedded, and S3 is read with the function role.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights runs SQL or reads results through the operations.',
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /duckdb/* only to callers allowed that); the queue needs IAM rights.',
      },
    ],
    tampering: [
      {
        threat:
          'A parameter value is read as SQL (injection), or a source name breaks out of its view definition.',
        control:
          'Values are bound to prepared statements by type, never interpolated; source names are quoted identifiers, file paths are chosen by the connector (random names) or checked to stay inside the local directory.',
      },
      {
        threat:
          'SQL changes the lock-down (SET enable_external_access, allowed_directories) to reach other files.',
        control:
          'lock_configuration is set at open: every later SET of a configuration option fails (tested).',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having run a query.',
        control: 'Each invocation logs operation and correlation id; the SQL and values are not logged.',
      },
    ],
    'information-disclosure': [
      {
        threat:
          'SQL reads files of the function (its code, /proc, /tmp of other queries) or objects of other buckets.',
        control:
          'External access is off outside the two allowed directories; buckets outside DUCKDB_SOURCE_BUCKETS are refused before any call; IAM grants GetObject on the source bucket only. Files of other queries running in the same container share the allowed source folder (same callers, same role).',
      },
      {
        threat: 'A parameter value or a credential appears in an error, a log line or a response.',
        control:
          "DuckDB's messages have every parameter value taken out before they become errors, and raw driver errors are never attached as causes; the marker test checks answers and logs with a marked access key and a marked parameter.",
      },
    ],
    'denial-of-service': [
      {
        threat: 'A query exhausts memory, disk or time (a huge join, a huge result, a huge object).',
        control:
          'DUCKDB_MEMORY_LIMIT_MB, DUCKDB_MAX_RESULT_ROWS, DUCKDB_MAX_RESULT_BYTES, DUCKDB_SOURCE_MAX_BYTES (checked while streaming), a full temp directory failing the query with a 413 (partial files removed), a per-query timeout (timeoutSeconds or DUCKDB_QUERY_TIMEOUT_SECONDS) that interrupts the query, and run-query waits only within the invocation time left.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role reads beyond the source bucket.',
        control:
          'The role reads objects of its source bucket only and writes only its own DLQ and idempotency records; no secret to steal.',
      },
    ],
  },
});
