import { defineThreatModel } from '#shared/models/threat-model.ts';

// Rendered into README.md by `npm run docs`.
export const threatModel = defineThreatModel({
  reaches: [
    "Amazon Bedrock Runtime in its own Region (Converse and InvokeModel, over HTTPS, signed with its role's credentials), on the foundation models function.yml names only; its own dead-letter queue.",
  ],
  stores: [
    'Nothing: prompts and answers pass through memory only. Bedrock does not keep or train on them (AWS: Bedrock data protection); model invocation logging is off unless the account turns it on.',
  ],
  threats: {
    spoofing: [
      {
        threat: 'A caller without rights spends the account on model calls.',
        control:
          'Routes use the aws_iam authorizer (grant execute-api:Invoke on /bedrock/* only to callers allowed that); the queue needs IAM rights; the bedrock-stream function URL is AWS_IAM too (lambda:InvokeFunctionUrl).',
      },
    ],
    tampering: [
      {
        threat:
          'A prompt injected through a document or a tool result steers the model (calls a tool, leaks the system prompt).',
        control:
          'The connector runs no tool itself: tool calls are returned to the caller, who decides; structured output is validated against the caller schema before it is returned.',
      },
    ],
    repudiation: [
      {
        threat: 'A caller denies having run an expensive call.',
        control:
          'Each invocation logs operation, model, tokens and estimated cost with its correlation id; CloudTrail records InvokeModel with the calling role.',
      },
    ],
    'information-disclosure': [
      {
        threat: 'Prompts, answers or the role credentials leak into logs or errors.',
        control:
          "Logs carry operation, duration, tokens and error class only; error messages name the model and AWS's error name, never a body; a ValidationException keeps Bedrock's own message (one line, at most 500 characters) with quoted values redacted except for maxTokens, temperature and topP, so no prompt text comes back (a marker test checks the secret key and a prompt).",
      },
    ],
    'denial-of-service': [
      {
        threat: 'Large or many requests run up the bill or exhaust the account quota for other workloads.',
        control:
          'Inputs are capped (500 messages, 256 texts, maxTokens); the core retries throttling a bounded number of times; reserved concurrency and the daily token budget cap the spend.',
      },
    ],
    'elevation-of-privilege': [
      {
        threat: 'An attacker with the function role invokes other models or other Bedrock actions.',
        control:
          'The role has bedrock:InvokeModel on the named foundation-model ARNs only (no agents, no custom models) and its own dead-letter queue; the bedrock-stream role has bedrock:InvokeModelWithResponseStream on the same ARNs and nothing of the queue.',
      },
    ],
  },
});
