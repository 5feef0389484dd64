/**
 * Anthropic's error types (`error.type` of `{ type: 'error', error: { type, message } }`) as rows of the
 * core's REST error table. 529 `overloaded_error` is Anthropic's "try again soon": unavailable, retried.
 */
import type { ErrorRow, FieldTable } from '@circle-core/core';

export const ANTHROPIC_ERRORS: Readonly<Record<string, ErrorRow>> = {
  invalid_request_error: {
    kind: 'validation',
    meaning: 'Anthropic refused the request (a field, the size or the context)',
  },
  authentication_error: { kind: 'auth', meaning: 'the API key is missing, wrong or revoked' },
  permission_error: { kind: 'forbidden', meaning: 'the API key may not use this model or resource' },
  // 402: the organisation's credit is used up; waiting does not cure it.
  billing_error: {
    kind: 'forbidden',
    meaning: 'billing: the account has no credit left; check plan and billing',
  },
  not_found_error: { kind: 'not-found', meaning: 'the model does not exist or this key may not use it' },
  request_too_large: { kind: 'validation', meaning: 'the request exceeds the size Anthropic accepts' },
  rate_limit_error: {
    kind: 'rate-limited',
    meaning: 'too many requests or tokens; wait as Retry-After says',
  },
  api_error: { kind: 'unavailable', meaning: 'Anthropic failed; try again' },
  overloaded_error: { kind: 'unavailable', meaning: 'Anthropic is overloaded (529); try again soon' },
};

/**
 * An `invalid_request_error` message starts with the request field (`temperature: Input should be ...`,
 * `messages.1.content: ...`): as the connector's input pointer, from the request body `client.ts` builds;
 * other fields point nowhere, the message still says why. The table is one for every operation: `tools`
 * and `tool_choice` are complete-chat's fields; generate-object sends its `schema` as the one tool and
 * points those refusals at `/schema` and `/schemaName` itself (`schemaRefusal` in `client.ts`).
 */
export const ANTHROPIC_FIELDS: FieldTable = {
  prefix: 'error.message',
  pointers: {
    model: '/model',
    messages: '/messages',
    system: '/system',
    max_tokens: '/maxTokens',
    temperature: '/temperature',
    stop_sequences: '/stop',
    tools: '/tools',
    tool_choice: '/toolChoice',
  },
};
