import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    "Twilio's REST API at TWILIO_API_URL over HTTPS only, under /2010-04-01/Accounts/<its own AccountSid> (no URL comes from input; a StatusCallback URL is handed to Twilio, which calls it, never this function).",
    'Secrets Manager for its own credentials secret, its own DynamoDB delivery ledger, its own events queue and dead-letter queue, with its own role.',
  ],
  stores: [
    'Accepted webhook delivery ids (MessageSid:MessageStatus) in its state table for TWILIO_DELIVERY_TTL_DAYS; the webhook parameters (phone numbers, message text of incoming SMS) travel on to its events queue.',
    "The Account SID, auth token or API key live in Secrets Manager and in the container's memory for TWILIO_SECRET_MAX_AGE_SECONDS.",
  ],
  threats: {
    spoofing: [
      {
        threat:
          'Anyone on the internet forges a status callback or an incoming message to the public /twilio/webhook.',
        control:
          'X-Twilio-Signature checked as Twilio documents it (HMAC-SHA1 of the full URL and the sorted POST parameters under the auth token), in constant time; missing, wrong or unverifiable (no auth token in the secret, not a form body) is refused before anything is handed on.',
      },
      {
        threat: 'A caller without rights sends SMS (toll fraud, spam) with the account.',
        control:
          'Operation routes use the aws_iam authorizer (grant execute-api:Invoke on /twilio/* only to callers allowed that); the queue needs IAM rights; numbers must be E.164.',
      },
    ],
    tampering: [
      {
        threat: 'A replayed webhook makes a workflow act twice on the same status.',
        control:
          'Each MessageSid + MessageStatus is handed on once (DynamoDB ledger); a replay is answered 200 and dropped. Twilio signs no timestamp, so a replay is stopped by the ledger only, within its TTL.',
      },
      {
        threat: 'A retried send texts the same person twice.',
        control:
          'Sends run once per idempotency key (queue writes keyed by message id) and are never retried by the client after a 5xx or timeout (Twilio has no idempotency key).',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having sent a message.',
        control:
          'Each invocation logs operation and correlation id; Twilio keeps every message under the account (get-message, list-messages).',
      },
    ],
    'information-disclosure': [
      {
        threat: 'The auth token or API key secret leaks into a log line, an error or a response.',
        control:
          'Credentials are never logged or echoed; a marker test checks responses and logs on each path.',
      },
      {
        threat: 'Phone numbers and message text are personal data.',
        control:
          'Logs carry operation, status and ids, not bodies; list-messages needs the operation route rights; the events queue is encrypted.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A flood of forged webhooks or sends exhausts the function or the account.',
        control:
          'Forged webhooks fail the signature check before any write; 20429 is honoured with Retry-After within the time left; API Gateway throttling bounds the public route.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role uses the account beyond messaging.',
        control:
          'The role reads only its own secret, table and queues; prefer an API key (apiKeySid/apiKeySecret, revocable) for the REST calls over the account auth token, which then only verifies webhooks.',
      },
    ],
  },
});
