import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'One FHIR R4 server at FHIR_API_URL over HTTPS, and with SMART Backend Services its token endpoint (FHIR_TOKEN_URL); no URL comes from input: a paging cursor (a next link) must resolve under FHIR_API_URL, on the same origin, or it is refused before any call.',
    'Secrets Manager for its own credentials secret (read only), its dead-letter queue and its idempotency records, with its own role.',
  ],
  stores: [
    "Nothing at rest of the patient data it moves: resources pass through in memory and are answered to the caller, never logged. Idempotency records of its writes (the answers, so a replay returns them) in the idempotency table, with that table's TTL.",
    "The bearer token or the SMART private key lives in Secrets Manager and in the container's memory for its max age; SMART access tokens (5 minutes at most) in memory only.",
  ],
  threats: {
    spoofing: [
      {
        threat: "A caller without rights reads or writes patient records with the connector's FHIR access.",
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /fhir/* only to callers allowed that); the queue and direct invocation need IAM rights. On the FHIR side, SMART scopes (FHIR_SCOPES, system/*.read by default) bound what a stolen token can do.',
      },
      {
        threat: "Someone replays or forges the connector's SMART client assertion.",
        control:
          'Each assertion is signed RS384/ES384 with the private key, names the token URL as aud, lives at most 5 minutes and carries a fresh jti the server refuses to see twice.',
      },
    ],
    tampering: [
      {
        threat: 'A retried or concurrent write creates a duplicate patient, or overwrites a newer version.',
        control:
          'Writes run once per idempotency key; ifNoneExist (If-None-Exist) makes a create conditional; ifMatch (If-Match W/"n") refuses an update over another version with 409.',
      },
      {
        threat: "A crafted cursor sends the connector's token to another host or path.",
        control:
          'A cursor is parsed as a URL and must have the base URL origin and a path under the base path after dot segments are resolved, with no encoded `/`, `\\` or `%` that a decoding proxy would turn into `../`; anything else is a 400 naming cursor.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies a change made to a record.',
        control:
          'Each invocation logs operation and correlation id (never the record); the FHIR server keeps every version (_history) under the client identity.',
      },
    ],
    'information-disclosure': [
      {
        threat:
          "PHI (names, identifiers, birth dates) leaks into logs or error messages, for example when the server's OperationOutcome diagnostics quote the resource.",
        control:
          "Inputs and resources are never logged; every string of two characters or more a request sent is redacted from a failure's message and diagnostics; a model mismatch names fields, never values; a marker test searches every log line and error for a patient's name, MRN, birth date and phone.",
      },
      {
        threat:
          'The bearer token, the private key or a signed assertion leaks into a log line, an error or a response.',
        control:
          'Credentials are redacted from every error (token endpoint answers included) and never logged; the tests check each path.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A large search or $everything pulls more than a Lambda can hold.',
        control:
          'One Bundle page per call (count, the server caps it) under the core response size cap; the caller pages with nextCursor.',
      },
      {
        threat: 'The server throttles and callers retry into the limit.',
        control:
          'Retry-After is honoured within the time left; a circuit breaker stops calls to a failing server.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role acts beyond the connector.',
        control:
          'The role reads only its own secret and writes only its own DLQ and idempotency keys; grant the SMART client only the scopes the workflows need (system/Observation.write rather than system/*.write).',
      },
    ],
  },
});
