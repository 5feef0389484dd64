/**
 * Shopify's failures and what they mean, in three tables: HTTP statuses (rows of the core's REST error
 * table, https://shopify.dev/docs/api/usage/response-codes), the `extensions.code` of GraphQL `errors`
 * (HTTP 200 answers) and the `code` of mutations' `userErrors`. Each picks a core error class (and so the
 * HTTP status, the queue's retry-or-drop and the Step Functions error name).
 */
import type { ErrorKind, ErrorRow } from '@circle-core/core';

/** Failed HTTP answers (`{ "errors": "..." }`); statuses without a row keep the core's mapping. */
export const SHOPIFY_STATUS_ERRORS: Readonly<Record<string, ErrorRow>> = {
  '401': { kind: 'auth', meaning: 'the access token is missing, wrong or revoked' },
  '402': { kind: 'forbidden', meaning: 'the shop is frozen (its bill is unpaid) and its API is closed' },
  '403': { kind: 'forbidden', meaning: 'the app lacks an access scope this call needs (README: Auth)' },
  '404': { kind: 'not-found', meaning: 'no such shop or API version (SHOPIFY_API_URL, SHOPIFY_API_VERSION)' },
  '423': { kind: 'forbidden', meaning: 'the shop is locked' },
  '429': { kind: 'rate-limited', meaning: 'too many requests; wait and try again' },
};

/**
 * `errors[].extensions.code` of an HTTP 200 answer. Codes without a row (the GraphQL validation codes such as
 * `undefinedField`) mean Shopify refused the connector's own document: an unexpected answer (502).
 */
export const SHOPIFY_GRAPHQL_ERRORS: Readonly<Record<string, ErrorRow>> = {
  THROTTLED: { kind: 'rate-limited', meaning: 'the cost bucket is empty; wait for it to refill' },
  MAX_COST_EXCEEDED: {
    kind: 'validation',
    meaning: 'the query would cost more than 1000 points: ask for fewer items (first)',
  },
  ACCESS_DENIED: { kind: 'forbidden', meaning: 'the app lacks an access scope this call needs' },
  SHOP_INACTIVE: { kind: 'forbidden', meaning: 'the shop is inactive' },
  BAD_REQUEST: { kind: 'validation', meaning: 'Shopify refused an argument (a cursor, a search query)' },
  INTERNAL_SERVER_ERROR: { kind: 'unavailable', meaning: 'Shopify failed; try again' },
};

/** `userErrors[].code` of a mutation; codes without a row (and errors without one) are a 400. */
export const SHOPIFY_USER_ERRORS: Readonly<Record<string, ErrorKind>> = {
  TAKEN: 'conflict',
  OPERATION_IN_PROGRESS: 'conflict',
  CHANGE_FROM_QUANTITY_STALE: 'conflict',
  NOT_FOUND: 'not-found',
  // inventoryAdjustQuantities' @idempotent key (InventoryAdjustQuantitiesUserErrorCode, 2026-01 on): the
  // same key with other parameters, and the first request with this key still running ("try again").
  IDEMPOTENCY_KEY_PARAMETER_MISMATCH: 'conflict',
  IDEMPOTENCY_CONCURRENT_REQUEST: 'rate-limited',
};
