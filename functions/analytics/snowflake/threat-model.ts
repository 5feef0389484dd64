import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    "Snowflake's SQL API at SNOWFLAKE_API_URL over HTTPS only (no URL comes from input): statements, their status, result partitions and cancel, as SNOWFLAKE_USER with the role a statement names or the user's default role.",
    'Secrets Manager for its own secret (the private key), its own dead-letter queue and its own idempotency records, with its own role.',
    "Whatever data the Snowflake role may read or change: SQL is the caller's, so the role is the real boundary.",
  ],
  stores: [
    "Nothing at rest. The private key lives in Secrets Manager and in the container's memory for SNOWFLAKE_SECRET_MAX_AGE_SECONDS; JWTs signed with it (59 minutes) in memory. Result metadata (column names and types, partition sizes) of recent statements in memory; rows are read from Snowflake per page and not kept.",
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights runs SQL at Snowflake as the connector user.',
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /snowflake/* only to callers allowed that); the queue needs IAM rights.',
      },
      {
        threat: 'Someone else signs JWTs for the connector user.',
        control:
          'Only the holder of the private key can: Snowflake checks the signature against the public key registered on the user; the key never leaves Secrets Manager and the function.',
      },
    ],
    tampering: [
      {
        threat: 'A parameter value is read as SQL (injection).',
        control:
          'Values travel as typed SQL API bindings for `?` placeholders, never inside the statement text (tested with a hostile value).',
      },
      {
        threat: 'A retried submission runs a write statement twice.',
        control:
          'Each submission carries a requestId with retry=true (derived from the idempotencyKey when given), so Snowflake answers the first statement to a resubmission.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having run a statement.',
        control:
          "Each invocation logs operation and correlation id (not the SQL or values); Snowflake's QUERY_HISTORY keeps every statement with its user and role.",
      },
    ],
    'information-disclosure': [
      {
        threat: 'The private key, a JWT or a parameter value appears in an error, a log line or a response.',
        control:
          "Errors name the secret, never its value; Snowflake's messages have every quoted literal taken out; the marker test checks answers and logs for the key and a marked parameter.",
      },
      {
        threat: 'A caller reads data beyond what it should through SQL.',
        control:
          'Give the connector user a role that reads only what its callers may see; a statement may name another role only if the user has been granted it.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A statement runs for hours and burns warehouse credits.',
        control:
          'Every statement carries a timeout (timeoutSeconds, or SNOWFLAKE_QUERY_TIMEOUT_SECONDS) enforced by Snowflake; waits happen within the invocation time left; set a resource monitor on the warehouse.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role reads the private key and uses Snowflake directly.',
        control:
          'The role may read only this one secret; rotate the key by setting RSA_PUBLIC_KEY_2, storing the new private key, then unsetting the old one.',
      },
    ],
  },
});
