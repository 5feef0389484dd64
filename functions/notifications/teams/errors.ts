/**
 * Microsoft Graph's error codes (https://learn.microsoft.com/graph/errors) and those of a Workflows
 * webhook (a Power Automate / Logic Apps request trigger), as rows of the core's REST error table: both
 * answer `{ "error": { "code", "message" } }`, so one table serves both. The code picks the core error
 * class (and so the HTTP status, the queue's retry-or-drop and the Step Functions error name); codes
 * without a row keep the status mapping.
 */
import type { ErrorRow } from '@circle-core/core';

export const TEAMS_ERRORS: Readonly<Record<string, ErrorRow>> = {
  // Graph
  InvalidAuthenticationToken: { kind: 'auth', meaning: 'the access token is missing, expired or invalid' },
  Unauthorized: { kind: 'auth', meaning: 'the app is not authorized for this call' },
  Forbidden: { kind: 'forbidden', meaning: 'the app lacks the permission (role or RSC consent) for this' },
  AccessDenied: { kind: 'forbidden', meaning: 'the app lacks the permission for this' },
  NotFound: { kind: 'not-found', meaning: 'the team, channel or message does not exist' },
  itemNotFound: { kind: 'not-found', meaning: 'the item does not exist' },
  BadRequest: { kind: 'validation', meaning: 'Microsoft Graph refused the request' },
  invalidRequest: { kind: 'validation', meaning: 'Microsoft Graph refused the request' },
  Conflict: { kind: 'conflict', meaning: 'the change conflicts with the current state' },
  TooManyRequests: { kind: 'rate-limited', meaning: 'throttled; wait as Retry-After says' },
  activityLimitReached: { kind: 'rate-limited', meaning: 'throttled; wait as Retry-After says' },
  generalException: { kind: 'unavailable', meaning: 'Microsoft Graph failed; try again' },
  ServiceNotAvailable: { kind: 'unavailable', meaning: 'Microsoft Graph is unavailable; try again' },
  serviceNotAvailable: { kind: 'unavailable', meaning: 'Microsoft Graph is unavailable; try again' },
  // Workflows webhook (the request trigger's URL is a signed URL)
  DirectApiInvalidAuthorizationSignature: {
    kind: 'auth',
    meaning: 'the webhook URL signature (sig) is wrong: store the URL the workflow shows',
  },
  WorkflowNotFound: { kind: 'not-found', meaning: 'the webhook workflow does not exist (deleted?)' },
  WorkflowTriggerIsNotEnabled: {
    kind: 'forbidden',
    meaning: 'the webhook workflow is turned off; turn it on in Power Automate',
  },
  InvalidRequestContent: { kind: 'validation', meaning: 'the webhook refused the body (not JSON)' },
};
