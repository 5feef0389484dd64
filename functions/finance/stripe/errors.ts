/**
 * Stripe's error codes (`error.code` of a failed answer, https://docs.stripe.com/error-codes) and what they
 * mean, as rows of the core's REST error table: the code picks the core error class (and so the HTTP
 * status, the queue's retry-or-drop and the Step Functions error name) and the words a caller reads.
 * Errors without a code (an invalid API key: 401; a restricted key without the permission: 403) and codes
 * without a row keep the core's status mapping, except a 402 `card_error`: its code is read as
 * {@link CARD_ERROR}'s row ({@link cardFailure}), and an `idempotency_error` of any status, a 409 conflict
 * ({@link IDEMPOTENCY_REUSE}). Stripe's `Stripe-Should-Retry` header, when present, decides whether the
 * failure is retried ({@link stripeFailure}).
 */
import {
  type ConnectorError,
  codeError,
  type ErrorRow,
  type ErrorTable,
  failureForResponse,
  fieldAt,
  type HttpResponse,
  tableFailure,
  UnavailableError,
  UnexpectedResponseError,
} from '@circle-core/core';

const declined = (meaning: string): ErrorRow => ({ kind: 'validation', meaning });

export const STRIPE_ERRORS: Readonly<Record<string, ErrorRow>> = {
  // 402 card errors: the payment was refused; a retry with the same card fails the same way.
  card_declined: declined('the card was declined (see decline_code)'),
  expired_card: declined('the card has expired'),
  incorrect_cvc: declined("the card's security code is incorrect"),
  incorrect_number: declined('the card number is incorrect'),
  insufficient_funds: declined('the card has insufficient funds'),
  processing_error: { kind: 'unavailable', meaning: 'the card could not be processed; try again' },
  authentication_required: declined('the card needs authentication (3-D Secure): confirm on-session'),
  incorrect_zip: declined("the card's postal code is incorrect"),
  invalid_expiry_month: declined("the card's expiration month is invalid"),
  invalid_expiry_year: declined("the card's expiration year is invalid"),
  invalid_cvc: declined("the card's security code is invalid"),
  invalid_number: declined('the card number is invalid'),
  // Too many declines of this card in a short time: Stripe asks to wait 24 hours, far past an invocation.
  card_decline_rate_limit_exceeded: declined(
    'the card was declined too many times recently; wait 24 hours before trying it again',
  ),
  // 400 invalid requests.
  parameter_missing: { kind: 'validation', meaning: 'a required parameter is missing (see param)' },
  parameter_invalid_integer: { kind: 'validation', meaning: 'a parameter is not a valid integer' },
  parameter_invalid_empty: { kind: 'validation', meaning: 'a parameter may not be empty' },
  parameter_unknown: { kind: 'validation', meaning: 'Stripe does not know a parameter (see param)' },
  amount_too_small: { kind: 'validation', meaning: 'the amount is below the minimum charge amount' },
  amount_too_large: { kind: 'validation', meaning: 'the amount is above the maximum' },
  payment_intent_unexpected_state: {
    kind: 'conflict',
    meaning: 'the payment intent is not in a state that allows this (see its status)',
  },
  invoice_not_editable: { kind: 'conflict', meaning: 'the invoice is no longer a draft' },
  charge_already_refunded: { kind: 'conflict', meaning: 'the payment was already refunded in full' },
  // 404.
  resource_missing: { kind: 'not-found', meaning: 'no such object (or not visible to this key)' },
  // 429, and the 409 of a request with this idempotency key still in progress: temporary, so retried (as
  // stripe-node does) and answered as 429 once the attempts or the time run out.
  rate_limit: { kind: 'rate-limited', meaning: 'too many requests; wait and try again' },
  lock_timeout: { kind: 'rate-limited', meaning: 'the object is being changed by another request' },
  idempotency_key_in_use: {
    kind: 'rate-limited',
    meaning: 'another request with this idempotency key is still in progress; try again later',
  },
  // 401/403 with a code.
  api_key_expired: { kind: 'auth', meaning: 'the API key has expired' },
  secret_key_required: { kind: 'forbidden', meaning: 'this call needs a secret or restricted key' },
};

/** The row of a 402 `card_error` whose code has no row of its own (a code Stripe added later). */
export const CARD_ERROR: ErrorRow = declined(
  'the card was refused; the request was valid but the payment failed',
);

/**
 * Stripe's 402 `card_error` ("the request was valid but failed") whose code has no row: a declined payment
 * like the listed card codes (400, not retried), naming Stripe's code, instead of the core's 502 for an
 * unknown code. `undefined` for any other answer, which the table maps.
 *
 * @example
 * ```ts
 * cardFailure(response, table); // ValidationError 'Stripe payment_intents failed: the card was refused; ... (incorrect_address)'
 * ```
 */
export function cardFailure(response: HttpResponse, table: ErrorTable): ConnectorError | undefined {
  if (response.status !== 402 || fieldAt(response.body, 'error.type') !== 'card_error') return undefined;
  const code = fieldAt(response.body, 'error.code');
  const name = typeof code === 'string' ? code : 'card_error';
  if (Object.hasOwn(STRIPE_ERRORS, name)) return undefined;
  return codeError(name, response, { ...table, rows: { [name]: CARD_ERROR } }, { provider: 'Stripe' });
}

/**
 * The row of Stripe's `idempotency_error` (https://docs.stripe.com/error-low-level#idempotency): a key sent
 * again with other parameters or to another endpoint. Stripe's status table gives 409 for it and it has been
 * seen as 400; either way it carries no code, only `error.type`. Sending it again fails the same way.
 */
export const IDEMPOTENCY_REUSE: ErrorRow = {
  kind: 'conflict',
  meaning:
    'the idempotency key was already used with other parameters (or for another call); send a different request with a new Idempotency-Key',
};

function idempotencyReuse(response: HttpResponse, table: ErrorTable): ConnectorError | undefined {
  if (fieldAt(response.body, 'error.type') !== 'idempotency_error') return undefined;
  const rows = { idempotency_error: IDEMPOTENCY_REUSE };
  return codeError('idempotency_error', response, { ...table, rows }, { provider: 'Stripe' });
}

/**
 * Stripe's failures the table cannot say, for the provider's `inspect` hook: an `idempotency_error` (409,
 * never retried), a 402 `card_error` without a row ({@link cardFailure}), and the `Stripe-Should-Retry`
 * header (https://docs.stripe.com/error-low-level#should-retry): `true` makes the failure retryable (503
 * once the attempts run out), `false` makes it final (a 5xx then answers 502, a 429 is not waited for);
 * absent, the status decides. `undefined` leaves the answer to the table and the status mapping.
 *
 * @example
 * ```ts
 * stripeFailure({ status: 500, headers: { 'stripe-should-retry': 'false' }, body, url }, table);
 * // UnexpectedResponseError 'Stripe is unavailable (HTTP 500); Stripe said not to retry it (Stripe-Should-Retry: false)'
 * ```
 */
export function stripeFailure(response: HttpResponse, table: ErrorTable): ConnectorError | undefined {
  if (response.status < 400) return undefined;
  const special = idempotencyReuse(response, table) ?? cardFailure(response, table);
  const verdict = response.headers['stripe-should-retry'];
  if (verdict !== 'true' && verdict !== 'false') return special;
  const error =
    special ??
    tableFailure(response, table, { provider: 'Stripe' }) ??
    failureForResponse(response, 'Stripe')?.error;
  if (error === undefined || error.retryable === (verdict === 'true')) return error;
  const options = { details: error.details ?? { provider: 'Stripe' }, cause: error };
  return verdict === 'true'
    ? new UnavailableError(`${error.message}; Stripe said to retry it (Stripe-Should-Retry: true)`, options)
    : new UnexpectedResponseError(
        `${error.message}; Stripe said not to retry it (Stripe-Should-Retry: false)`,
        options,
      );
}
