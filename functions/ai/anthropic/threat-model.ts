import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    "Anthropic's API at ANTHROPIC_API_URL over HTTPS only: /messages and /models (no URL comes from input).",
    'Secrets Manager for its own API key secret, and its own dead-letter queue, with its own role.',
  ],
  stores: [
    "Nothing at rest. The API key lives in Secrets Manager and in the container's memory for its max age; prompts and answers pass through memory only and are never logged. Anthropic keeps API inputs and outputs per its retention policy.",
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights spends the Anthropic account through the connector.',
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /anthropic/* only to callers allowed that); the queue needs IAM rights; the anthropic-stream function URL is AWS_IAM too (lambda:InvokeFunctionUrl).',
      },
    ],
    tampering: [
      {
        threat:
          'Text in a prompt instructs the model to call a tool or answer something else (prompt injection).',
        control:
          'The connector never runs tools: it returns typed tool calls for the caller to check and run; structured answers are validated against the caller schema before they are returned.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having spent tokens.',
        control:
          'Each invocation logs operation and correlation id; every answer carries its token usage and estimated cost, and Anthropic bills usage per workspace key.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'The API key, a prompt or an answer leaks into a log line, an error or a problem body.',
        control:
          'Credentials are redacted from every error and never logged (the fake log drops x-api-key too); errors name fields and types, never prompt or answer values; the tests check the key never appears.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A burst of calls exhausts the rate limit or the spend limit of the Anthropic workspace.',
        control:
          'Retry-After honoured within the time left and never clamped; 529 overloaded retried with backoff; ANTHROPIC_RATE_LIMIT shares one budget between containers; set a workspace spend limit.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role uses the API key beyond these operations.',
        control:
          'The role reads only its own secret and writes only its own DLQ; give the key a workspace of its own with a spend limit.',
      },
    ],
  },
});
