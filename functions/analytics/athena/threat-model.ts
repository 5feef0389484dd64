import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    'Athena in its own workgroup, over HTTPS with its own role; through Athena, the Glue tables of its database and their S3 data (read-only), and the results bucket.',
    'Its own dead-letter queue and idempotency records.',
  ],
  stores: [
    'Nothing of its own: Athena writes every result as CSV to the output location (the workgroup or ATHENA_OUTPUT_LOCATION), kept as that bucket keeps it.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights runs queries through the operations.',
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /athena/* only to callers allowed that); the queue needs IAM rights.',
      },
    ],
    tampering: [
      {
        threat: 'A value in a query changes the SQL (injection).',
        control:
          'Values only travel as ExecutionParameters, each one literal bound to a `?`; the connector never builds SQL text from input.',
      },
      {
        threat: 'A caller writes with SQL (INSERT, CTAS, DROP TABLE).',
        control:
          "The SQL is the caller's: grant the route only to trusted callers; the role has no glue write action, so DDL on the catalog is refused.",
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having run a query.',
        control:
          'Each invocation logs operation, correlation id and query id; Athena keeps every query execution in the workgroup history and CloudTrail names the role.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Parameter values or result rows leak into logs or errors.',
        control:
          "Logs carry operation, duration and error class only; a failure's reason has each parameter value replaced by `?` where it stands as a literal.",
      },
      {
        threat: 'A query reads data beyond what the caller should see.',
        control:
          "The role reads only its database's tables and the data bucket; Lake Formation permissions apply on top where configured.",
      },
    ],
    'denial-of-service': [
      {
        threat: 'A costly query scans the whole lake or runs for hours.',
        control:
          "The workgroup's data-scanned and query time limits apply; waiting never holds a Lambda (get-query polls within the time left).",
      },
      {
        threat: 'A large result exhausts memory or the caller.',
        control:
          'Results are read one page at a time (at most 10,000 rows per call, 1000 per Athena call); answers are capped (6 MB synchronous, 256 KiB to Step Functions).',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role reaches other AWS resources.',
        control:
          'The role is limited to its workgroup, read-only Glue on its database, the data bucket read-only, the results bucket, and its own queue and records.',
      },
    ],
  },
});
