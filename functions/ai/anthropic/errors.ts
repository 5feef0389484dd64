/**
 * Anthropic's error types (`error.type` of `{ type: 'error', error: { type, message } }`) as rows of the
 * core's REST error table. 529 `overloaded_error` is Anthropic's "try again soon": unavailable, retried.
 */
import type { ErrorRow } from '@circle-core/core';

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
