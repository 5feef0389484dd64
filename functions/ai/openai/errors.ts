/**
 * OpenAI's error codes (`error.code` of `{ error: { message, type, param, code } }`) as rows of the core's
 * REST error table. Codes without a row keep the status mapping: 400 validation, 401 auth, 404 not found,
 * 429 rate limited with Retry-After, 5xx (and 503 "overloaded") unavailable.
 */
import type { ErrorRow, FieldTable } from '@circle-core/core';

export const OPENAI_ERRORS: Readonly<Record<string, ErrorRow>> = {
  invalid_api_key: { kind: 'auth', meaning: 'the API key is missing, wrong or revoked' },
  model_not_found: { kind: 'not-found', meaning: 'the model does not exist or this key may not use it' },
  // A 429 that waiting does not cure: the account has no credit left.
  insufficient_quota: {
    kind: 'forbidden',
    meaning: 'the account exceeded its quota; check plan and billing',
  },
  rate_limit_exceeded: {
    kind: 'rate-limited',
    meaning: 'too many requests or tokens; wait as Retry-After says',
  },
  context_length_exceeded: {
    kind: 'validation',
    meaning: 'the messages and maxTokens exceed the model context',
  },
  unsupported_country_region_territory: {
    kind: 'forbidden',
    meaning: 'OpenAI refuses calls from this region',
  },
};

/**
 * A refused request's `error.param` (OpenAI's request field) as the connector's input pointer, from the
 * request bodies `client.ts` builds; other params (and `null`) point nowhere, the message still says why.
 */
export const OPENAI_FIELDS: FieldTable = {
  param: 'error.param',
  pointers: {
    model: '/model',
    messages: '/messages',
    max_completion_tokens: '/maxTokens',
    max_tokens: '/maxTokens',
    temperature: '/temperature',
    stop: '/stop',
    tools: '/tools',
    tool_choice: '/toolChoice',
    response_format: '/schema',
    input: '/inputs',
    dimensions: '/dimensions',
  },
};
