/**
 * Twilio's error codes (https://www.twilio.com/docs/api/errors) as rows of the core's REST error table:
 * a failed answer's body is `{ code, message, more_info, status }` and its numeric `code` picks the core
 * error class (and so the HTTP status, the queue's retry-or-drop and the Step Functions error name).
 * Codes without a row keep the status mapping.
 */
import type { ErrorRow } from '@circle-core/core';

export const TWILIO_ERRORS: Readonly<Record<string, ErrorRow>> = {
  '20003': { kind: 'auth', meaning: 'the Account SID, auth token or API key is wrong or revoked' },
  '20404': { kind: 'not-found', meaning: 'the resource does not exist in this account' },
  '20429': { kind: 'rate-limited', meaning: 'too many requests; wait as Retry-After says' },
  '20500': { kind: 'unavailable', meaning: 'Twilio failed; try again' },
  '20503': { kind: 'unavailable', meaning: 'Twilio is unavailable; try again' },
  // Twilio's Invalid PageToken (https://www.twilio.com/docs/api/errors/21481): a cursor reused with other
  // filters, or one Twilio no longer knows.
  '21481': {
    kind: 'validation',
    pointer: '/cursor',
    meaning:
      'Invalid PageToken: pass the cursor back with the same filters (to, from, dateSent) as the page that gave it',
  },
  // A well-formed E.164 number (checked before the call) that Twilio says is no phone number: the SMS
  // counterpart of a channel that does not exist.
  '21211': { kind: 'not-found', meaning: "the 'To' number is not a valid phone number" },
  '21602': { kind: 'validation', meaning: 'the message body is required' },
  '21603': { kind: 'validation', meaning: "a 'From' number or MessagingServiceSid is required" },
  '21606': { kind: 'validation', meaning: "the 'From' number is not an SMS-capable number of this account" },
  // https://www.twilio.com/docs/api/errors/21608: an account setting (trial), not the credentials: no
  // secret re-read and second send (`credentialFailure: false`), also when the secret was rotated meanwhile.
  '21608': {
    kind: 'forbidden',
    meaning: 'a trial account may only send to verified numbers',
    credentialFailure: false,
  },
  // https://www.twilio.com/docs/api/errors/21610: the 'To' number replied STOP. Not a credential failure:
  // a 'forbidden' row is a ForbiddenError, which the core HTTP client answers by re-reading the secret and
  // sending the message again, only to be refused again. The recipient is the caller's input, so it is a
  // refusal of /to (a queue record goes to the dead-letter queue at once, not back for the operator).
  '21610': {
    kind: 'validation',
    pointer: '/to',
    meaning: "the 'To' number has unsubscribed (replied STOP) from this sender; it must reply START first",
  },
  // https://www.twilio.com/docs/api/errors/21614: a landline or a number Twilio cannot validate as mobile.
  '21614': {
    kind: 'validation',
    pointer: '/to',
    meaning: "the 'To' number is not a mobile number that can receive SMS (a landline?)",
  },
  // https://www.twilio.com/docs/api/errors/21408: an account setting, so a retry fails the same way, with
  // any credentials of the account: not a credential failure.
  '21408': {
    kind: 'forbidden',
    credentialFailure: false,
    meaning:
      "the account may not message the 'To' number's country or region: enable it in Messaging > Settings > Geo Permissions",
  },
  '21617': { kind: 'validation', meaning: 'the body exceeds 1600 characters' },
};
