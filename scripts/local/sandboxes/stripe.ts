/**
 * A contract fake of Stripe's API (v1), on the contract-fake kit: what the Stripe connector's tests run
 * against, and the local stack's Stripe sandbox (`npx node scripts/local/sandboxes/stripe.ts [port]`).
 *
 * It follows Stripe's API reference for what the connector uses:
 * - `Authorization: Bearer <key>` (or Basic with the key as user name); an unknown key is 401, a restricted
 *   key without the permission (`rak_<resource>_read|write`) 403, both `invalid_request_error` without a
 *   code; `Stripe-Version` echoed (a malformed one is 400); a `request-id` on every answer;
 * - bodies form-encoded only, nested as `metadata[order_id]=1001` and `payment_method_types[0]=card`; an
 *   unknown parameter is 400 `parameter_unknown`, a missing one `parameter_missing`, a bad integer
 *   `parameter_invalid_integer`, each with `param`;
 * - errors as `{ error: { type, code, message, param, decline_code } }`: 400 `invalid_request_error`, 402
 *   `card_error` (test payment methods `pm_card_chargeDeclined`, `pm_card_chargeDeclinedInsufficientFunds`,
 *   `pm_card_chargeDeclinedExpiredCard`), 404 `resource_missing`, 409 `idempotency_error`, 429 `rate_limit`,
 *   500 `api_error`;
 * - `Idempotency-Key` on POST: the same key and parameters replay the first answer with
 *   `Idempotent-Replayed: true` and `Original-Request`; the same key with other parameters (or another
 *   endpoint) is 409 `idempotency_error` with `Stripe-Should-Retry: false` (Stripe sends that header when it
 *   knows whether a retry can help; tests inject answers with `true` or `false`); validation failures are
 *   not saved;
 * - customers, payment intents (create, confirm, capture, cancel with Stripe's state machine), refunds,
 *   invoices (create, finalize), events; lists `{ object: 'list', data, has_more, url }` newest first with
 *   `limit` (1-100, default 10), `starting_after` and `ending_before`; search (`/customers/search`,
 *   `/payment_intents/search`, `/invoices/search`) with `field:'value'`, `metadata['key']:'value'`,
 *   numeric `amount>1000`, clauses joined by AND or OR (not both), `{ object: 'search_result', data,
 *   has_more, next_page }` paged with `page`;
 * - every change records an event (`customer.created`, `payment_intent.succeeded`, ...) in `state.events`
 *   (`GET /v1/events/:id`), which {@link signStripeWebhook} signs as Stripe does.
 *
 * Seed (the README's examples): customers `cus_SandboxJenny` (jenny.rosen@example.com, metadata
 * `order_id` 1001) and `cus_SandboxAda`; payment intents `pi_SandboxSucceeded` (2000 usd, succeeded),
 * `pi_SandboxCapture` (5000 usd, requires_capture) and `pi_SandboxOpen` (1500 usd,
 * requires_payment_method); invoice `in_SandboxDraft` (draft, 2500 usd); event `evt_SandboxSucceeded`;
 * key {@link STRIPE_SANDBOX_TOKEN}, read-only restricted key {@link STRIPE_SANDBOX_READ_ONLY_KEY}, webhook
 * secret {@link STRIPE_SANDBOX_WEBHOOK_SECRET}.
 *
 * @example
 * ```ts
 * const fake = await startStripeFake();
 * process.env['STRIPE_API_URL'] = `${fake.url}/v1`;
 * const header = signStripeWebhook(body, STRIPE_SANDBOX_WEBHOOK_SECRET);
 * ```
 */
import { createHmac, randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type Answer,
  type ErrorDialect,
  type FakeDefinition,
  type FakeRequest,
  type FakeServer,
  json,
  type RouteContext,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** Sandbox credentials, not secrets. */
export const STRIPE_SANDBOX_TOKEN = 'sk_test_circleSandboxKey';
export const STRIPE_SANDBOX_READ_ONLY_KEY = 'rk_test_circleSandboxReadOnly';
export const STRIPE_SANDBOX_WEBHOOK_SECRET = 'whsec_circleSandboxWebhookSecret';
const DEFAULT_VERSION = '2026-11-18.endive';

type StripeObject = Record<string, unknown> & { id: string; object: string; created: number };
type Resource = 'customer' | 'payment_intent' | 'refund' | 'invoice' | 'event';

export interface StripeFakeState {
  /** Secret keys: every permission. */
  tokens: Set<string>;
  /** Restricted keys: resource -> `read` or `write`. */
  restricted: Map<string, Partial<Record<Resource, 'read' | 'write'>>>;
  customers: Map<string, StripeObject>;
  paymentIntents: Map<string, StripeObject>;
  refunds: Map<string, StripeObject>;
  invoices: Map<string, StripeObject>;
  events: Map<string, StripeObject>;
  /** Idempotency key -> the first request's fingerprint and answer. */
  keys: Map<string, { fingerprint: string; path: string; answer: Answer }>;
  /** The clock the fake stamps objects with (Unix seconds); tests may move it. */
  clock: () => number;
}

const error = (status: number, fields: Record<string, unknown>): Answer => json(status, { error: fields });
/** Stripe's `Stripe-Should-Retry: false`: the answer would be the same however often it is sent. */
const shouldNotRetry = (answer: Answer): Answer => ({
  ...answer,
  headers: { ...answer.headers, 'stripe-should-retry': 'false' },
});
const invalid = (message: string, code?: string, param?: string): never =>
  refuse(
    error(400, {
      type: 'invalid_request_error',
      message,
      ...(code ? { code } : {}),
      ...(param ? { param } : {}),
    }),
  );

/** Stripe's error bodies for the kit's error kinds. */
export const stripeErrors: ErrorDialect = (kind, { status }) => {
  switch (kind) {
    case 'unauthorized':
      return error(status, {
        type: 'invalid_request_error',
        message: 'Invalid API Key provided: sk_test_********',
      });
    case 'forbidden':
      return error(status, {
        type: 'invalid_request_error',
        message: 'The provided key does not have the required permissions for this endpoint.',
      });
    case 'not-found':
      return error(status, {
        type: 'invalid_request_error',
        code: 'resource_missing',
        message: 'No such object',
      });
    case 'conflict':
      return error(status, {
        type: 'idempotency_error',
        message:
          'Keys for idempotent requests can only be used with the same parameters they were first used with.',
      });
    case 'throttled':
      return error(status, {
        type: 'invalid_request_error',
        code: 'rate_limit',
        message: 'Too many requests hit the API too quickly.',
      });
    case 'server-error':
      return error(status, { type: 'api_error', message: 'An unknown error occurred' });
  }
};

/** Parses Stripe's nested form encoding (`a[b]=1`, `c[0]=x`) into objects and arrays. */
export function parseStripeForm(raw: string): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(raw)) {
    const path = key.split('[').map((part, index) => (index === 0 ? part : part.replace(/]$/, '')));
    if (path.some((part) => part === '__proto__' || part === 'constructor' || part === 'prototype')) {
      invalid(`Invalid parameter name: ${key.slice(0, 40)}`, 'parameter_unknown', key.slice(0, 40));
    }
    let at: Record<string, unknown> = root;
    path.forEach((part, index) => {
      if (index === path.length - 1) {
        at[part] = value;
        return;
      }
      at[part] ??= {};
      at = at[part] as Record<string, unknown>;
    });
  }
  const arrays = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    const entries = Object.entries(value).map(([k, v]) => [k, arrays(v)] as const);
    const indexed = entries.length > 0 && entries.every(([k], i) => k === String(i));
    return indexed ? entries.map(([, v]) => v) : Object.fromEntries(entries);
  };
  return arrays(root) as Record<string, unknown>;
}

/**
 * A `Stripe-Signature` header for `payload` as Stripe sends it: `t=<seconds>,v1=<hex>` with one v1 per
 * secret (several while an endpoint's secret is being rolled).
 *
 * @example
 * ```ts
 * signStripeWebhook(JSON.stringify(event), 'whsec_...'); // 't=1733400000,v1=5257a869...'
 * ```
 */
export function signStripeWebhook(
  payload: string,
  secrets: string | readonly string[],
  timestamp: number = Math.floor(Date.now() / 1000),
): string {
  const v1 = (typeof secrets === 'string' ? [secrets] : secrets).map(
    (secret) => `v1=${createHmac('sha256', secret).update(`${timestamp}.${payload}`).digest('hex')}`,
  );
  return [`t=${timestamp}`, ...v1].join(',');
}

const newId = (prefix: string): string =>
  `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;

function recordEvent(
  state: StripeFakeState,
  type: string,
  object: StripeObject,
  request?: FakeRequest,
): void {
  const id = newId('evt');
  state.events.set(id, {
    id,
    object: 'event',
    api_version: DEFAULT_VERSION,
    created: state.clock(),
    type,
    livemode: false,
    pending_webhooks: 1,
    data: { object: structuredClone(object) },
    request: { id: null, idempotency_key: request?.headers['idempotency-key'] ?? null },
  });
}

// ---- Parameters ----

type Params = Record<string, unknown>;

function paramsOf(request: FakeRequest, allowed: readonly string[]): Params {
  if (
    request.rawBody !== '' &&
    !/^application\/x-www-form-urlencoded/i.test(request.headers['content-type'] ?? '')
  ) {
    invalid('Stripe takes application/x-www-form-urlencoded request bodies');
  }
  const params = request.method === 'GET' ? request.query : parseStripeForm(request.rawBody);
  for (const key of Object.keys(params)) {
    if (!allowed.includes(key)) invalid(`Received unknown parameter: ${key}`, 'parameter_unknown', key);
  }
  return params;
}

function text(params: Params, name: string, required = false): string | undefined {
  const value = params[name];
  if (value === undefined || value === '') {
    if (required) invalid(`Missing required param: ${name}.`, 'parameter_missing', name);
    return undefined;
  }
  if (typeof value !== 'string') invalid(`Invalid string: ${name}`, 'parameter_invalid_string', name);
  return value as string;
}

function integer(params: Params, name: string, required = false): number | undefined {
  const value = text(params, name, required);
  if (value === undefined) return undefined;
  if (!/^-?\d{1,12}$/.test(value))
    invalid(`Invalid integer: ${value.slice(0, 20)}`, 'parameter_invalid_integer', name);
  return Number(value);
}

function metadataOf(params: Params): Record<string, string> {
  const value = params['metadata'];
  if (value === undefined || value === '') return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    invalid('Invalid object', 'parameter_invalid_string', 'metadata');
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > 50) invalid('Metadata can have at most 50 keys', undefined, 'metadata');
  for (const [key, item] of entries) {
    if (key.length > 40 || typeof item !== 'string' || item.length > 500) {
      invalid('Metadata keys are at most 40 characters, values at most 500', undefined, `metadata[${key}]`);
    }
  }
  return value as Record<string, string>;
}

const missing = (what: string, id: string, param = 'id'): never =>
  refuse(
    error(404, {
      type: 'invalid_request_error',
      code: 'resource_missing',
      message: `No such ${what}: '${id.slice(0, 64)}'`,
      param,
    }),
  );

// ---- Lists and search ----

function listAnswer(items: StripeObject[], request: FakeRequest, url: string, filters: Params): Answer {
  const limit = integer(request.query, 'limit') ?? 10;
  if (limit < 1 || limit > 100) invalid('Invalid limit: must be between 1 and 100', undefined, 'limit');
  let all = [...items]
    .reverse()
    .filter((item) =>
      Object.entries(filters).every(([key, value]) => value === undefined || item[key] === value),
    );
  const after = request.query['starting_after'];
  const before = request.query['ending_before'];
  if (after !== undefined) {
    const at = all.findIndex((item) => item.id === after);
    if (at < 0) missing('object', after, 'starting_after');
    all = all.slice(at + 1);
  } else if (before !== undefined) {
    const at = all.findIndex((item) => item.id === before);
    if (at < 0) missing('object', before, 'ending_before');
    all = all.slice(Math.max(0, at - limit), at);
  }
  return json(200, { object: 'list', data: all.slice(0, limit), has_more: all.length > limit, url });
}

const CLAUSE =
  /^(?:(metadata)\[['"]([^'"\]]{1,40})['"]\]|([a-z_]{1,40}))(:|>=|<=|>|<)(?:'([^']*)'|"([^"]*)"|(-?\d{1,12}))$/;

/** One clause's test: `:` is equality of the text, the others compare numbers. */
function compare(actual: unknown, operator: string, expected: string): boolean {
  if (operator === ':') return String(actual ?? '') === expected;
  const [a, b] = [Number(actual), Number(expected)];
  if (operator === '>') return a > b;
  if (operator === '<') return a < b;
  return operator === '>=' ? a >= b : a <= b;
}

/** Stripe's search query language, the part the fake needs: clauses joined by AND or OR (not both). */
function searchFilter(query: string, fields: readonly string[]): (item: StripeObject) => boolean {
  const hasAnd = / AND /.test(query);
  const hasOr = / OR /.test(query);
  if (hasAnd && hasOr) invalid('Search query cannot mix AND and OR', undefined, 'query');
  const clauses = query.split(hasOr ? / OR / : / AND /).map((clause) => {
    const match = CLAUSE.exec(clause.trim());
    if (match === null)
      return invalid(`Invalid search query: ${clause.trim().slice(0, 60)}`, undefined, 'query');
    const [, meta, metaKey, field, operator, single, double, number] = match;
    if (meta === undefined && !fields.includes(field ?? '')) {
      invalid(`Field '${field}' is not supported for search on this resource`, undefined, 'query');
    }
    const expected = single ?? double ?? number ?? '';
    return (item: StripeObject): boolean => {
      const actual =
        meta === undefined ? item[field ?? ''] : (item['metadata'] as Record<string, string>)[metaKey ?? ''];
      return compare(actual, operator ?? ':', expected);
    };
  });
  return (item) => (hasOr ? clauses.some((test) => test(item)) : clauses.every((test) => test(item)));
}

function searchAnswer(
  items: StripeObject[],
  request: FakeRequest,
  fields: readonly string[],
  url: string,
): Answer {
  const params = paramsOf(request, ['query', 'limit', 'page', 'expand']);
  const query = text(params, 'query', true) as string;
  const limit = integer(params, 'limit') ?? 10;
  if (limit < 1 || limit > 100) invalid('Invalid limit: must be between 1 and 100', undefined, 'limit');
  const page = text(params, 'page');
  let offset = 0;
  if (page !== undefined) {
    const decoded = /^page_(\d{1,6})$/.exec(Buffer.from(page, 'base64url').toString('utf8'));
    if (decoded === null) invalid('Invalid page token', undefined, 'page');
    offset = Number(decoded?.[1]);
  }
  const found = [...items].reverse().filter(searchFilter(query, fields));
  const more = offset + limit < found.length;
  return json(200, {
    object: 'search_result',
    data: found.slice(offset, offset + limit),
    has_more: more,
    next_page: more ? Buffer.from(`page_${offset + limit}`).toString('base64url') : null,
    url,
  });
}

// ---- Objects ----

function customer(state: StripeFakeState, id: string, fields: Params): StripeObject {
  return {
    id,
    object: 'customer',
    email: fields['email'] ?? null,
    name: fields['name'] ?? null,
    description: fields['description'] ?? null,
    phone: fields['phone'] ?? null,
    metadata: fields['metadata'] ?? {},
    balance: 0,
    livemode: false,
    created: state.clock(),
  };
}

function paymentIntent(state: StripeFakeState, id: string, fields: Params): StripeObject {
  return {
    id,
    object: 'payment_intent',
    amount: fields['amount'],
    amount_capturable: 0,
    amount_received: 0,
    currency: fields['currency'],
    customer: fields['customer'] ?? null,
    capture_method: fields['capture_method'] ?? 'automatic',
    payment_method: fields['payment_method'] ?? null,
    payment_method_types: fields['payment_method_types'] ?? ['card'],
    description: fields['description'] ?? null,
    receipt_email: fields['receipt_email'] ?? null,
    status: fields['payment_method'] === undefined ? 'requires_payment_method' : 'requires_confirmation',
    latest_charge: null,
    cancellation_reason: null,
    canceled_at: null,
    last_payment_error: null,
    client_secret: `${id}_secret_${randomBytes(8).toString('hex')}`,
    metadata: fields['metadata'] ?? {},
    livemode: false,
    created: state.clock(),
  };
}

function invoice(state: StripeFakeState, id: string, fields: Params, amount = 0): StripeObject {
  return {
    id,
    object: 'invoice',
    customer: fields['customer'],
    status: 'draft',
    currency: fields['currency'] ?? 'usd',
    amount_due: amount,
    amount_paid: 0,
    amount_remaining: amount,
    total: amount,
    number: null,
    collection_method: fields['collection_method'] ?? 'charge_automatically',
    description: fields['description'] ?? null,
    auto_advance: fields['auto_advance'] ?? false,
    hosted_invoice_url: null,
    due_date: null,
    metadata: fields['metadata'] ?? {},
    livemode: false,
    created: state.clock(),
  };
}

/** Test payment methods that decline, as Stripe's testing docs list them. */
const DECLINES: Readonly<Record<string, { code: string; decline_code?: string; message: string }>> = {
  pm_card_chargeDeclined: {
    code: 'card_declined',
    decline_code: 'generic_decline',
    message: 'Your card was declined.',
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    code: 'card_declined',
    decline_code: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  pm_card_chargeDeclinedExpiredCard: { code: 'expired_card', message: 'Your card has expired.' },
};

function unexpectedState(intent: StripeObject, action: string): never {
  return refuse(
    error(400, {
      type: 'invalid_request_error',
      code: 'payment_intent_unexpected_state',
      message: `This PaymentIntent's status is ${String(intent['status'])}; it cannot be ${action}.`,
      payment_intent: intent,
    }),
  );
}

/** Confirms `intent` with its payment method: succeeded, requires_capture, or a 402 decline. */
function confirm(state: StripeFakeState, intent: StripeObject, request: FakeRequest): Answer {
  if (
    !['requires_payment_method', 'requires_confirmation', 'requires_action'].includes(
      String(intent['status']),
    )
  ) {
    unexpectedState(intent, 'confirmed');
  }
  const method = intent['payment_method'];
  if (typeof method !== 'string') {
    invalid(
      'You cannot confirm this PaymentIntent because it has no payment method.',
      'parameter_missing',
      'payment_method',
    );
  }
  const decline = DECLINES[method as string];
  if (decline !== undefined) {
    intent['status'] = 'requires_payment_method';
    intent['last_payment_error'] = { type: 'card_error', ...decline };
    recordEvent(state, 'payment_intent.payment_failed', intent, request);
    return error(402, { type: 'card_error', ...decline, param: 'payment_method', payment_intent: intent });
  }
  intent['latest_charge'] = newId('ch');
  intent['last_payment_error'] = null;
  if (intent['capture_method'] === 'manual') {
    intent['status'] = 'requires_capture';
    intent['amount_capturable'] = intent['amount'];
    recordEvent(state, 'payment_intent.amount_capturable_updated', intent, request);
  } else {
    intent['status'] = 'succeeded';
    intent['amount_received'] = intent['amount'];
    recordEvent(state, 'payment_intent.succeeded', intent, request);
  }
  return json(200, intent);
}

type Handler = (context: RouteContext<StripeFakeState>) => Answer;

/**
 * A POST with Stripe's idempotency: the first answer under a key is saved (unless validation refused the
 * request) and replayed for the same parameters; other parameters under that key are 409.
 */
function idempotent(handle: Handler): Handler {
  return (context) => {
    const { request, state } = context;
    const key = request.headers['idempotency-key'];
    if (key === undefined) return handle(context);
    if (key.length > 255) invalid('Idempotency-Key is at most 255 characters', undefined, 'idempotency_key');
    const fingerprint = `${request.path}\n${[...new URLSearchParams(request.rawBody)].sort().join('&')}`;
    const earlier = state.keys.get(key);
    if (earlier !== undefined) {
      if (earlier.fingerprint !== fingerprint) {
        // Sending it again cannot have another effect, which Stripe-Should-Retry says.
        return shouldNotRetry(
          error(409, {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key.slice(0, 64)}' if you meant to execute a different request.`,
          }),
        );
      }
      const headers = {
        ...earlier.answer.headers,
        'idempotent-replayed': 'true',
        'original-request': 'req_original',
      };
      return { ...earlier.answer, headers };
    }
    const answer = handle(context);
    if (answer.status < 400 || answer.status === 402)
      state.keys.set(key, {
        fingerprint,
        path: request.path,
        answer: { ...answer, json: structuredClone(answer.json) },
      });
    return answer;
  };
}

/** What each route needs of a restricted key. */
function permission(route: string): { resource: Resource; level: 'read' | 'write' } {
  const resource: Resource = route.includes('customer')
    ? 'customer'
    : route.includes('payment-intent')
      ? 'payment_intent'
      : route.includes('refund')
        ? 'refund'
        : route.includes('invoice')
          ? 'invoice'
          : 'event';
  const level = /^(create|confirm|capture|cancel|finalize)-/.test(route) ? 'write' : 'read';
  return { resource, level };
}

function tokenOf(request: FakeRequest): string | undefined {
  const header = request.headers['authorization']?.trim() ?? '';
  const bearer = /^bearer\s+(\S+)$/i.exec(header)?.[1];
  if (bearer !== undefined) return bearer;
  const basic = /^basic\s+(\S+)$/i.exec(header)?.[1];
  return basic === undefined ? undefined : Buffer.from(basic, 'base64').toString('utf8').split(':')[0];
}

const get = (map: Map<string, StripeObject>, what: string, id: string): StripeObject =>
  map.get(id) ?? missing(what, id);

/** The seeded state: what the README's examples name. */
function seed(): StripeFakeState {
  let now = Math.floor(Date.UTC(2026, 0, 5) / 1000);
  const state: StripeFakeState = {
    tokens: new Set([STRIPE_SANDBOX_TOKEN]),
    restricted: new Map([
      [
        STRIPE_SANDBOX_READ_ONLY_KEY,
        { customer: 'read', payment_intent: 'read', refund: 'read', invoice: 'read', event: 'read' },
      ],
    ]),
    customers: new Map(),
    paymentIntents: new Map(),
    refunds: new Map(),
    invoices: new Map(),
    events: new Map(),
    keys: new Map(),
    clock: () => (now += 1),
  };
  const add = (map: Map<string, StripeObject>, object: StripeObject): StripeObject => {
    map.set(object.id, object);
    return object;
  };
  add(state.customers, customer(state, 'cus_SandboxAda', { email: 'ada@example.com', name: 'Ada Lovelace' }));
  add(
    state.customers,
    customer(state, 'cus_SandboxJenny', {
      email: 'jenny.rosen@example.com',
      name: 'Jenny Rosen',
      metadata: { order_id: '1001' },
    }),
  );
  const succeeded = add(
    state.paymentIntents,
    paymentIntent(state, 'pi_SandboxSucceeded', {
      amount: 2000,
      currency: 'usd',
      customer: 'cus_SandboxJenny',
      payment_method: 'pm_card_visa',
      metadata: { order_id: '1001' },
    }),
  );
  Object.assign(succeeded, {
    status: 'succeeded',
    amount_received: 2000,
    latest_charge: 'ch_SandboxSucceeded',
  });
  const capture = add(
    state.paymentIntents,
    paymentIntent(state, 'pi_SandboxCapture', {
      amount: 5000,
      currency: 'usd',
      customer: 'cus_SandboxJenny',
      payment_method: 'pm_card_visa',
      capture_method: 'manual',
      metadata: { order_id: '1002' },
    }),
  );
  Object.assign(capture, {
    status: 'requires_capture',
    amount_capturable: 5000,
    latest_charge: 'ch_SandboxCapture',
  });
  add(
    state.paymentIntents,
    paymentIntent(state, 'pi_SandboxOpen', { amount: 1500, currency: 'usd', customer: 'cus_SandboxAda' }),
  );
  add(state.invoices, invoice(state, 'in_SandboxDraft', { customer: 'cus_SandboxJenny' }, 2500));
  state.events.set('evt_SandboxSucceeded', {
    id: 'evt_SandboxSucceeded',
    object: 'event',
    api_version: DEFAULT_VERSION,
    created: succeeded.created,
    type: 'payment_intent.succeeded',
    livemode: false,
    pending_webhooks: 1,
    data: { object: structuredClone(succeeded) },
    request: { id: null, idempotency_key: null },
  });
  return state;
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(stripeFake());
 * ```
 */
export function stripeFake(): FakeDefinition<StripeFakeState> {
  const requestIds = new WeakMap<FakeRequest, string>();
  return {
    name: 'Stripe',
    seed,
    errors: stripeErrors,
    token: tokenOf,
    authorize: ({ request, state }) => {
      const token = request.token ?? '';
      if (state.tokens.has(token)) return undefined;
      const grants = state.restricted.get(token);
      if (grants === undefined) return 'unauthorized';
      const { resource, level } = permission(request.route ?? '');
      const granted = grants[resource];
      return granted === 'write' || granted === level ? undefined : 'forbidden';
    },
    before: ({ request }) => {
      const version = request.headers['stripe-version'];
      if (version !== undefined && !/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/.test(version)) {
        return error(400, { type: 'invalid_request_error', message: 'Invalid Stripe API version' });
      }
      return undefined;
    },
    headers: ({ request }) => {
      const id = requestIds.get(request) ?? newId('req');
      requestIds.set(request, id);
      return { 'request-id': id, 'stripe-version': request.headers['stripe-version'] ?? DEFAULT_VERSION };
    },
    routes: [
      // Customers (search before :id, which would match it).
      {
        name: 'search-customers',
        method: 'GET',
        path: '/v1/customers/search',
        handle: ({ request, state }) =>
          searchAnswer(
            [...state.customers.values()],
            request,
            ['email', 'name', 'phone', 'created'],
            '/v1/customers/search',
          ),
      },
      {
        name: 'create-customer',
        method: 'POST',
        path: '/v1/customers',
        handle: idempotent(({ request, state }) => {
          const params = paramsOf(request, ['email', 'name', 'description', 'phone', 'metadata']);
          for (const name of ['email', 'name', 'description', 'phone']) text(params, name);
          const created = customer(state, newId('cus'), { ...params, metadata: metadataOf(params) });
          state.customers.set(created.id, created);
          recordEvent(state, 'customer.created', created, request);
          return json(200, created);
        }),
      },
      {
        name: 'get-customer',
        method: 'GET',
        path: '/v1/customers/:id',
        handle: ({ params, state }) => json(200, get(state.customers, 'customer', params['id'] ?? '')),
      },
      {
        name: 'list-customers',
        method: 'GET',
        path: '/v1/customers',
        handle: ({ request, state }) => {
          paramsOf(request, ['limit', 'starting_after', 'ending_before', 'email', 'expand']);
          const filters = { email: request.query['email'] };
          return listAnswer([...state.customers.values()], request, '/v1/customers', filters);
        },
      },
      // Payment intents.
      {
        name: 'search-payment-intents',
        method: 'GET',
        path: '/v1/payment_intents/search',
        handle: ({ request, state }) =>
          searchAnswer(
            [...state.paymentIntents.values()],
            request,
            ['amount', 'currency', 'customer', 'status', 'created'],
            '/v1/payment_intents/search',
          ),
      },
      {
        name: 'create-payment-intent',
        method: 'POST',
        path: '/v1/payment_intents',
        handle: idempotent(({ request, state }) => {
          const params = paramsOf(request, [
            'amount',
            'currency',
            'customer',
            'payment_method',
            'confirm',
            'capture_method',
            'description',
            'receipt_email',
            'payment_method_types',
            'metadata',
          ]);
          const amount = integer(params, 'amount', true) as number;
          if (amount < 50) invalid('Amount must be at least $0.50 usd', 'amount_too_small', 'amount');
          const currency = text(params, 'currency', true) as string;
          if (!/^[a-z]{3}$/.test(currency))
            invalid(`Invalid currency: ${currency.slice(0, 10)}`, undefined, 'currency');
          const customerId = text(params, 'customer');
          if (customerId !== undefined && !state.customers.has(customerId))
            missing('customer', customerId, 'customer');
          const capture = text(params, 'capture_method');
          if (capture !== undefined && !['automatic', 'automatic_async', 'manual'].includes(capture)) {
            invalid(`Invalid capture_method: ${capture.slice(0, 20)}`, undefined, 'capture_method');
          }
          const intent = paymentIntent(state, newId('pi'), {
            ...params,
            amount,
            metadata: metadataOf(params),
          });
          state.paymentIntents.set(intent.id, intent);
          recordEvent(state, 'payment_intent.created', intent, request);
          return params['confirm'] === 'true' ? confirm(state, intent, request) : json(200, intent);
        }),
      },
      {
        name: 'get-payment-intent',
        method: 'GET',
        path: '/v1/payment_intents/:id',
        handle: ({ params, state }) =>
          json(200, get(state.paymentIntents, 'payment_intent', params['id'] ?? '')),
      },
      {
        name: 'confirm-payment-intent',
        method: 'POST',
        path: '/v1/payment_intents/:id/confirm',
        handle: idempotent(({ request, params, state }) => {
          const intent = get(state.paymentIntents, 'payment_intent', params['id'] ?? '');
          const fields = paramsOf(request, ['payment_method', 'return_url']);
          const method = text(fields, 'payment_method');
          if (method !== undefined) intent['payment_method'] = method;
          return confirm(state, intent, request);
        }),
      },
      {
        name: 'capture-payment-intent',
        method: 'POST',
        path: '/v1/payment_intents/:id/capture',
        handle: idempotent(({ request, params, state }) => {
          const intent = get(state.paymentIntents, 'payment_intent', params['id'] ?? '');
          const fields = paramsOf(request, ['amount_to_capture']);
          if (intent['status'] !== 'requires_capture') unexpectedState(intent, 'captured');
          const capturable = Number(intent['amount_capturable']);
          const amount = integer(fields, 'amount_to_capture') ?? capturable;
          if (amount < 1 || amount > capturable) {
            invalid(
              'amount_to_capture is more than the amount capturable',
              'amount_too_large',
              'amount_to_capture',
            );
          }
          Object.assign(intent, { status: 'succeeded', amount_received: amount, amount_capturable: 0 });
          recordEvent(state, 'payment_intent.succeeded', intent, request);
          return json(200, intent);
        }),
      },
      {
        name: 'cancel-payment-intent',
        method: 'POST',
        path: '/v1/payment_intents/:id/cancel',
        handle: idempotent(({ request, params, state }) => {
          const intent = get(state.paymentIntents, 'payment_intent', params['id'] ?? '');
          const fields = paramsOf(request, ['cancellation_reason']);
          if (['succeeded', 'canceled'].includes(String(intent['status'])))
            unexpectedState(intent, 'canceled');
          const reason = text(fields, 'cancellation_reason');
          if (
            reason !== undefined &&
            !['duplicate', 'fraudulent', 'requested_by_customer', 'abandoned'].includes(reason)
          ) {
            invalid(`Invalid cancellation_reason: ${reason.slice(0, 30)}`, undefined, 'cancellation_reason');
          }
          Object.assign(intent, {
            status: 'canceled',
            cancellation_reason: reason ?? null,
            canceled_at: state.clock(),
            amount_capturable: 0,
          });
          recordEvent(state, 'payment_intent.canceled', intent, request);
          return json(200, intent);
        }),
      },
      {
        name: 'list-payment-intents',
        method: 'GET',
        path: '/v1/payment_intents',
        handle: ({ request, state }) => {
          paramsOf(request, ['limit', 'starting_after', 'ending_before', 'customer', 'expand']);
          const filters = { customer: request.query['customer'] };
          return listAnswer([...state.paymentIntents.values()], request, '/v1/payment_intents', filters);
        },
      },
      // Refunds.
      {
        name: 'create-refund',
        method: 'POST',
        path: '/v1/refunds',
        handle: idempotent(({ request, state }) => {
          const params = paramsOf(request, ['payment_intent', 'amount', 'reason', 'metadata']);
          const intentId = text(params, 'payment_intent', true) as string;
          const intent =
            state.paymentIntents.get(intentId) ?? missing('payment_intent', intentId, 'payment_intent');
          if (intent['status'] !== 'succeeded') {
            invalid('This PaymentIntent has no successful charge to refund.', undefined, 'payment_intent');
          }
          const refunded = [...state.refunds.values()]
            .filter((refund) => refund['payment_intent'] === intentId)
            .reduce((sum, refund) => sum + Number(refund['amount']), 0);
          const left = Number(intent['amount_received']) - refunded;
          if (left <= 0) {
            invalid(
              `Charge ${String(intent['latest_charge'])} has already been refunded.`,
              'charge_already_refunded',
            );
          }
          const amount = integer(params, 'amount') ?? left;
          if (amount < 1 || amount > left) {
            invalid(
              `Refund amount ($${amount / 100}) is greater than unrefunded amount on charge`,
              'amount_too_large',
              'amount',
            );
          }
          const reason = text(params, 'reason');
          if (
            reason !== undefined &&
            !['duplicate', 'fraudulent', 'requested_by_customer'].includes(reason)
          ) {
            invalid(`Invalid reason: ${reason.slice(0, 30)}`, undefined, 'reason');
          }
          const refund: StripeObject = {
            id: newId('re'),
            object: 'refund',
            amount,
            currency: intent['currency'],
            charge: intent['latest_charge'],
            payment_intent: intentId,
            reason: reason ?? null,
            status: 'succeeded',
            metadata: metadataOf(params),
            created: state.clock(),
          };
          state.refunds.set(refund.id, refund);
          recordEvent(state, 'refund.created', refund, request);
          return json(200, refund);
        }),
      },
      {
        name: 'get-refund',
        method: 'GET',
        path: '/v1/refunds/:id',
        handle: ({ params, state }) => json(200, get(state.refunds, 'refund', params['id'] ?? '')),
      },
      {
        name: 'list-refunds',
        method: 'GET',
        path: '/v1/refunds',
        handle: ({ request, state }) => {
          paramsOf(request, [
            'limit',
            'starting_after',
            'ending_before',
            'payment_intent',
            'charge',
            'expand',
          ]);
          const filters = { payment_intent: request.query['payment_intent'] };
          return listAnswer([...state.refunds.values()], request, '/v1/refunds', filters);
        },
      },
      // Invoices.
      {
        name: 'search-invoices',
        method: 'GET',
        path: '/v1/invoices/search',
        handle: ({ request, state }) =>
          searchAnswer(
            [...state.invoices.values()],
            request,
            ['customer', 'status', 'total', 'currency', 'number', 'created'],
            '/v1/invoices/search',
          ),
      },
      {
        name: 'create-invoice',
        method: 'POST',
        path: '/v1/invoices',
        handle: idempotent(({ request, state }) => {
          const params = paramsOf(request, [
            'customer',
            'collection_method',
            'days_until_due',
            'description',
            'auto_advance',
            'currency',
            'metadata',
          ]);
          const customerId = text(params, 'customer', true) as string;
          if (!state.customers.has(customerId)) missing('customer', customerId, 'customer');
          const method = text(params, 'collection_method');
          const days = integer(params, 'days_until_due');
          if (method === 'send_invoice' && days === undefined) {
            invalid(
              'days_until_due is required with collection_method send_invoice',
              'parameter_missing',
              'days_until_due',
            );
          }
          const created = invoice(state, newId('in'), { ...params, metadata: metadataOf(params) });
          if (days !== undefined) created['due_date'] = Number(created.created) + days * 86_400;
          state.invoices.set(created.id, created);
          recordEvent(state, 'invoice.created', created, request);
          return json(200, created);
        }),
      },
      {
        name: 'get-invoice',
        method: 'GET',
        path: '/v1/invoices/:id',
        handle: ({ params, state }) => json(200, get(state.invoices, 'invoice', params['id'] ?? '')),
      },
      {
        name: 'finalize-invoice',
        method: 'POST',
        path: '/v1/invoices/:id/finalize',
        handle: idempotent(({ request, params, state, url }) => {
          const found = get(state.invoices, 'invoice', params['id'] ?? '');
          paramsOf(request, ['auto_advance']);
          if (found['status'] !== 'draft') {
            invalid(
              "This invoice is already finalized, you can't re-finalize a non-draft invoice.",
              'invoice_not_editable',
            );
          }
          const paid = Number(found['amount_due']) === 0;
          Object.assign(found, {
            status: paid ? 'paid' : 'open',
            number: `SANDBOX-${String(state.invoices.size).padStart(4, '0')}`,
            hosted_invoice_url: `${url}/i/${found.id}`,
          });
          recordEvent(state, 'invoice.finalized', found, request);
          return json(200, found);
        }),
      },
      {
        name: 'list-invoices',
        method: 'GET',
        path: '/v1/invoices',
        handle: ({ request, state }) => {
          paramsOf(request, ['limit', 'starting_after', 'ending_before', 'customer', 'status', 'expand']);
          const filters = { customer: request.query['customer'], status: request.query['status'] };
          return listAnswer([...state.invoices.values()], request, '/v1/invoices', filters);
        },
      },
      // Events.
      {
        name: 'get-event',
        method: 'GET',
        path: '/v1/events/:id',
        handle: ({ params, state }) => json(200, get(state.events, 'event', params['id'] ?? '')),
      },
      {
        name: 'list-events',
        method: 'GET',
        path: '/v1/events',
        handle: ({ request, state }) => {
          paramsOf(request, ['limit', 'starting_after', 'ending_before', 'type', 'expand']);
          return listAnswer([...state.events.values()], request, '/v1/events', {
            type: request.query['type'],
          });
        },
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startStripeFake();
 * ```
 */
export function startStripeFake(options?: StartOptions): Promise<FakeServer<StripeFakeState>> {
  return startFake(stripeFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/stripe.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startStripeFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`Stripe sandbox: STRIPE_API_URL=${fake.url}/v1 (key ${STRIPE_SANDBOX_TOKEN})`);
}
