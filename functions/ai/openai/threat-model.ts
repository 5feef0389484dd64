import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    "OpenAI's API at OPENAI_API_URL over HTTPS only: /chat/completions, /embeddings and /models (no URL comes from input).",
    'Secrets Manager for its own API key secret, and its own dead-letter queue, with its own role.',
  ],
  stores: [
    "Nothing at rest. The API key lives in Secrets Manager and in the container's memory for its max age; prompts and answers pass through memory only and are never logged. OpenAI keeps API inputs and outputs per its data-retention policy (30 days for abuse monitoring unless the organisation has zero retention).",
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights spends the OpenAI account through the connector.',
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /openai/* only to callers allowed that); the queue needs IAM rights; the openai-stream function URL is AWS_IAM too (lambda:InvokeFunctionUrl).',
      },
    ],
    tampering: [
      {
        threat:
          'Text in a prompt (a retrieved document, an issue body) instructs the model to call a tool or answer something else (prompt injection).',
        control:
          'The connector never runs tools: it returns typed tool calls for the caller to check and run; structured answers are validated against the caller schema before they are returned.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having spent tokens.',
        control:
          'Each invocation logs operation and correlation id; every answer carries its token usage and estimated cost, and OpenAI bills usage per project key.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'The API key, a prompt or an answer leaks into a log line, an error or a problem body.',
        control:
          'Credentials are redacted from every error and never logged; errors name fields and codes, never prompt or answer values (StructuredOutputError included); the tests check the key never appears.',
      },
    ],
    'denial-of-service': [
      {
        threat: 'A burst of calls exhausts the rate limit or the monthly budget of the OpenAI account.',
        control:
          'Retry-After honoured within the time left and never clamped; OPENAI_RATE_LIMIT shares one budget between containers; out-of-quota is a 403 that is not retried; set a project budget at OpenAI.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role uses the API key beyond these operations.',
        control:
          'The role reads only its own secret and writes only its own DLQ; use a restricted project key (model capabilities and model read only).',
      },
    ],
  },
});
