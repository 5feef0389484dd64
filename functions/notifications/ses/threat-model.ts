import { defineThreatModel } from '#shared/models/threat-model.ts';

export const threatModel = defineThreatModel({
  reaches: [
    'Amazon SES v2 over HTTPS (SigV4): sending from its one identity through its own configuration set, and the account’s email templates; through SES, any recipient address once the account is out of the SES sandbox.',
    'S3 (GetObject only) in the buckets SES_ATTACHMENT_BUCKETS names, for attachments and raw messages (claim check); another bucket named in a request is refused before any call.',
    'Its own dead-letter queue (SQS) and the idempotency table (DynamoDB), through the AWS SDK over HTTPS.',
  ],
  stores: [
    'Nothing of its own: SES keeps the templates it creates; sent messages live with the recipients (and in the configuration set’s event destinations, if any are added).',
    'Idempotency records of its writes (the answer, for an hour) and poison requests in its dead-letter queue (14 days).',
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights sends email in the organisation’s name through the HTTP API.',
        control:
          'Every route sits behind the aws_iam authorizer; queue and Step Functions callers need IAM rights to send or invoke; the role may send only from its one verified identity.',
      },
    ],
    tampering: [
      {
        threat:
          'A request names an attachment outside the intended bucket, or climbs out of a key with `../`.',
        control:
          'Buckets must be one of SES_ATTACHMENT_BUCKETS (403 otherwise) and the role may read only the stack’s bucket; keys follow the shared safe-path rules (400 on `..`).',
      },
      {
        threat: 'A retried task sends the same email twice.',
        control: 'Writes run once per idempotency key; SES has no idempotency key of its own.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having sent a message.',
        control:
          'Each invocation logs the operation and a correlation id; SES SendEmail events in CloudTrail name the role, and the configuration set’s event destinations record each message id.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Message bodies, attachments or recipient addresses leak through logs or errors.',
        control:
          'Logs carry operation, duration and error class only; an unverified-address refusal does not repeat the addresses; attachment bytes are read into memory for the call and never logged.',
      },
    ],
    'denial-of-service': [
      {
        threat:
          'Huge attachments exhaust the function’s memory, or a flood of sends burns the account’s quota and reputation.',
        control:
          'One message reads at most SES_ATTACHMENT_MAX_BYTES from S3 (413 beyond) and at most 50 recipients; SES’s own quota throttles (429, retried by queues), the HTTP API stage throttles every route.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'The function is used to change identities, configuration sets or reach other services.',
        control:
          'Its role allows ses:SendEmail on its identity and configuration set, template create/read, ListEmailTemplates and GetAccount (no resource in IAM), s3:GetObject in the stack’s bucket, SendMessage on its own DLQ and its own idempotency keys; nothing that creates or verifies identities.',
      },
    ],
  },
});
