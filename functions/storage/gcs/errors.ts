/**
 * Google Cloud Storage's failures as rows of the core's REST error table. The JSON API answers
 * `{ "error": { "code": <status>, "message", "errors": [{ "domain", "reason", "message" }] } }`; the status
 * decides (its `reason`s refine it without changing the class), so the rows are keyed by status.
 */
import type { ErrorRow } from '@circle-core/core';

export const GCS_ERRORS: Readonly<Record<string, ErrorRow>> = {
  '400': {
    kind: 'validation',
    meaning: 'Google Cloud Storage refused the request as invalid (invalid, badRequest)',
  },
  '401': { kind: 'auth', meaning: 'the access token is missing, expired or revoked (authError, required)' },
  '403': { kind: 'forbidden', meaning: 'the service account may not do this on the bucket (forbidden)' },
  '404': { kind: 'not-found', meaning: 'the bucket or object does not exist (notFound)' },
  '409': { kind: 'conflict', meaning: 'a conflicting change is in progress (conflict)' },
  '412': {
    kind: 'conflict',
    meaning: 'a precondition such as ifGenerationMatch=0 failed: the object exists (conditionNotMet)',
  },
  '429': { kind: 'rate-limited', meaning: 'too many requests; wait as Retry-After says (rateLimitExceeded)' },
  '500': { kind: 'unavailable', meaning: 'Google Cloud Storage failed; try again (backendError)' },
  '502': {
    kind: 'unavailable',
    meaning: 'Google Cloud Storage is unreachable behind its front end; try again',
  },
  '503': { kind: 'unavailable', meaning: 'Google Cloud Storage is unavailable; try again (backendError)' },
  '504': { kind: 'unavailable', meaning: 'Google Cloud Storage timed out; try again' },
};
