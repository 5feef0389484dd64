/**
 * Stripe's API as data for the core's REST kit, and the calls the operations make: the only file that
 * talks to Stripe. Bodies are form-encoded (`metadata[order_id]=1001`), every POST carries an
 * `Idempotency-Key`, the API version is pinned with `Stripe-Version`, and failures are mapped once by the
 * declaration's error table (`errors.ts`). Why the kit's client and not the `stripe` SDK: README,
 * "Dependencies".
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  bodyCursor,
  defineRestProvider,
  type ErrorTable,
  type PaginationStyle,
  type RestClient,
  ValidationError,
} from '@circle-core/core';
import type * as z from 'zod';
import { STRIPE_ERRORS, stripeFailure } from './errors.ts';
import {
  type CancelPaymentIntentInput,
  type CapturePaymentIntentInput,
  type ConfirmPaymentIntentInput,
  type CreateCustomerInput,
  type CreateInvoiceInput,
  type CreatePaymentIntentInput,
  type CreateRefundInput,
  type Customer,
  CustomerAnswer,
  type Invoice,
  InvoiceAnswer,
  type ListCustomersInput,
  type ListInvoicesInput,
  type ListPaymentIntentsInput,
  type ListRefundsInput,
  listAnswer,
  type Page,
  type PaymentIntent,
  PaymentIntentAnswer,
  type Refund,
  RefundAnswer,
  type SearchInput,
  searchAnswer,
} from './models.ts';

/** The API version every request pins (`Stripe-Version`), the one the `stripe` SDK 23.2 pins too. */
export const STRIPE_API_VERSION = '2026-11-18.endive';

/**
 * Stripe's list pagination: `starting_after` the last object's id while `has_more` is true. The cursor is
 * that id, checked to look like one (a cursor cannot smuggle other parameters).
 */
const startingAfter: PaginationStyle = {
  name: 'starting-after',
  query: (first, cursor) => {
    if (cursor !== undefined && !/^[a-z]{1,10}_[A-Za-z0-9]{1,250}$/.test(cursor)) {
      throw new ValidationError('cursor is not one this connector issued', [
        { pointer: '/cursor', message: 'expected the nextCursor of a previous page' },
      ]);
    }
    return cursor === undefined ? first : { ...first, starting_after: cursor };
  },
  next: ({ body }) => {
    const { data, has_more: more } = body as { data: Array<{ id: string }>; has_more: boolean };
    const last = data.at(-1)?.id;
    return more && last !== undefined ? { nextCursor: last } : {};
  },
};

// `{ "error": { "type", "code", "message", "param", "decline_code" } }`; codes without a row (and errors
// without a code: a bad key) keep the status mapping (401, 403, 404, 409, 429, 5xx).
const STRIPE_TABLE: ErrorTable = {
  codeIn: 'body',
  codeField: 'error.code',
  rows: STRIPE_ERRORS,
  detailFields: ['error.type', 'error.param', 'error.decline_code'],
  messageFields: ['error.param', 'error.decline_code'],
};

/** Stripe as data; its settings are `STRIPE_API_URL`, `STRIPE_TIMEOUT_MS`, ... */
export const stripeApi = defineRestProvider({
  name: 'Stripe',
  settingsPrefix: 'STRIPE',
  baseUrl: 'https://api.stripe.com/v1',
  // Stripe takes the secret or restricted key as a bearer token (or as Basic auth's user name).
  auth: { kind: 'bearer' },
  headers: { 'stripe-version': STRIPE_API_VERSION },
  errors: STRIPE_TABLE,
  // What the table cannot say: a 402 `card_error` whose code has no row, an `idempotency_error` (no code)
  // and the `Stripe-Should-Retry` header, which overrides the status's retry decision.
  inspect: (response) => stripeFailure(response, STRIPE_TABLE),
  pagination: startingAfter,
  idempotencyHeader: 'idempotency-key',
  // Live mode allows 100 reads and 100 writes a second (test mode 25); about 10% under, per container set.
  rateBudget: { limit: 90, perMs: 1000 },
});

/** The search endpoints' pagination: the answer's `next_page` token, sent back as `page`. */
const searchPages = bodyCursor({ field: 'next_page', param: 'page' });

type FormValue = string | number | boolean | undefined | null | FormValue[] | { [key: string]: FormValue };

/**
 * Stripe's form encoding: nested objects as `metadata[order_id]=1001`, arrays by index
 * (`payment_method_types[0]=card`), undefined left out.
 *
 * @example
 * ```ts
 * stripeForm({ amount: 1000, metadata: { order: '7' } }); // 'amount=1000&metadata%5Border%5D=7'
 * ```
 */
export function stripeForm(params: Record<string, FormValue>): string {
  const pairs = new URLSearchParams();
  const add = (key: string, value: FormValue): void => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) add(`${key}[${index}]`, item);
    } else if (typeof value === 'object') {
      for (const [name, item] of Object.entries(value)) add(`${key}[${name}]`, item);
    } else pairs.append(key, String(value));
  };
  for (const [key, value] of Object.entries(params)) add(key, value);
  return pairs.toString();
}

/**
 * The `Idempotency-Key` of one POST: derived from the call's own idempotency key (so a retried queue
 * message or Step Functions task replays Stripe's first answer) and the Stripe call it makes, else a fresh
 * one per call (the core's retries of that call reuse it).
 *
 * @example
 * ```ts
 * stripeIdempotencyKey('/payment_intents', 'order-1001'); // 'circle-3f1c...' (the same every time)
 * ```
 */
export function stripeIdempotencyKey(call: string, key: string | undefined): string {
  if (key === undefined) return `circle-${randomUUID()}`;
  return `circle-${createHash('sha256').update(`${call}\n${key}`).digest('hex').slice(0, 48)}`;
}

const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();
/** The object without its undefined fields (outputs leave absent values out). */
function defined<T extends object>(value: T): T {
  return Object.fromEntries(
    Object.entries(value).filter(([, item]) => item !== undefined && item !== null),
  ) as T;
}

function toCustomer(a: CustomerAnswer): Customer {
  return defined({
    id: a.id,
    email: a.email ?? undefined,
    name: a.name ?? undefined,
    description: a.description ?? undefined,
    phone: a.phone ?? undefined,
    metadata: a.metadata,
    createdAt: iso(a.created),
  });
}

function toPaymentIntent(a: PaymentIntentAnswer): PaymentIntent {
  const error = a.last_payment_error;
  return defined({
    id: a.id,
    amount: a.amount,
    amountCapturable: a.amount_capturable,
    amountReceived: a.amount_received,
    currency: a.currency,
    status: a.status,
    customerId: a.customer ?? undefined,
    captureMethod: a.capture_method ?? undefined,
    paymentMethod: a.payment_method ?? undefined,
    latestCharge: a.latest_charge ?? undefined,
    cancellationReason: a.cancellation_reason ?? undefined,
    lastPaymentError:
      error === undefined || error === null
        ? undefined
        : defined({
            code: error.code ?? undefined,
            declineCode: error.decline_code ?? undefined,
            message: error.message ?? undefined,
          }),
    metadata: a.metadata,
    createdAt: iso(a.created),
  });
}

function toRefund(a: RefundAnswer): Refund {
  return defined({
    id: a.id,
    amount: a.amount,
    currency: a.currency,
    status: a.status ?? undefined,
    paymentIntentId: a.payment_intent ?? undefined,
    reason: a.reason ?? undefined,
    metadata: a.metadata,
    createdAt: iso(a.created),
  });
}

function toInvoice(a: InvoiceAnswer): Invoice {
  return defined({
    id: a.id,
    customerId: a.customer ?? undefined,
    status: a.status ?? undefined,
    currency: a.currency,
    amountDue: a.amount_due,
    amountPaid: a.amount_paid,
    total: a.total,
    number: a.number ?? undefined,
    collectionMethod: a.collection_method ?? undefined,
    hostedInvoiceUrl: a.hosted_invoice_url ?? undefined,
    dueDate: a.due_date === undefined || a.due_date === null ? undefined : iso(a.due_date),
    metadata: a.metadata,
    createdAt: iso(a.created),
  });
}

/** Stripe's objects the connector reads, by their `object` name: path, answer schema and mapping. */
const OBJECTS = {
  customer: { path: '/customers', schema: CustomerAnswer, map: toCustomer },
  payment_intent: { path: '/payment_intents', schema: PaymentIntentAnswer, map: toPaymentIntent },
  refund: { path: '/refunds', schema: RefundAnswer, map: toRefund },
  invoice: { path: '/invoices', schema: InvoiceAnswer, map: toInvoice },
} as const;
export type StripeObjectType = keyof typeof OBJECTS;
export const isStripeObjectType = (type: string): type is StripeObjectType => Object.hasOwn(OBJECTS, type);

const withPage = <T>(page: { items: T[]; nextCursor?: string | undefined }): Page<T> =>
  page.nextCursor === undefined ? { items: page.items } : { items: page.items, nextCursor: page.nextCursor };

/**
 * Stripe's calls on parsed input (the runtime parsed it once). Reads are GETs, which the core retries
 * after a 5xx, a timeout or a short `Retry-After`; every write carries an idempotency key, so the core may
 * retry it too and Stripe answers the first result.
 *
 * @example
 * ```ts
 * const api = new StripeApi(stripeApi.client({ credential: defineSecret('circle-core/stripe/api-key') }));
 * const { items, nextCursor } = await api.listCustomers({ limit: 10 });
 * ```
 */
export class StripeApi {
  readonly #rest: RestClient;

  constructor(rest: RestClient) {
    this.#rest = rest;
  }

  #post<S extends z.ZodType>(path: string, schema: S, params: Record<string, FormValue>, key?: string) {
    return this.#rest.post(path, schema, {
      body: stripeForm(params),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      idempotencyKey: stripeIdempotencyKey(path, key),
    });
  }

  async #list<T extends StripeObjectType>(
    type: T,
    query: Record<string, string | number | undefined>,
    cursor: string | undefined,
  ) {
    const { path, schema, map } = OBJECTS[type];
    const page = await this.#rest.list(path, listAnswer(schema), {
      query,
      cursor,
      items: (answer) => answer.data.map((item) => map(item as never)),
    });
    return withPage(page) as Page<ReturnType<(typeof OBJECTS)[T]['map']>>;
  }

  async #search<T extends StripeObjectType>(type: T, input: SearchInput) {
    const { path, schema, map } = OBJECTS[type];
    const page = await this.#rest.list(`${path}/search`, searchAnswer(schema), {
      query: { query: input.query, limit: input.limit },
      cursor: input.cursor,
      pagination: searchPages,
      items: (answer) => answer.data.map((item) => map(item as never)),
    });
    return withPage(page) as Page<ReturnType<(typeof OBJECTS)[T]['map']>>;
  }

  /** Reads the current state of one object (what a webhook's out-of-order event is checked against). */
  async fetch(type: StripeObjectType, id: string): Promise<unknown> {
    const { path, schema, map } = OBJECTS[type];
    const subject = `${type.replace('_', ' ')} ${id}`;
    return map(
      (await this.#rest.get(`${path}/${encodeURIComponent(id)}`, schema, { notFound: subject })) as never,
    );
  }

  async createCustomer(input: CreateCustomerInput, key: string | undefined): Promise<Customer> {
    return toCustomer(await this.#post('/customers', CustomerAnswer, { ...input }, key));
  }

  getCustomer(customerId: string): Promise<Customer> {
    return this.fetch('customer', customerId) as Promise<Customer>;
  }

  listCustomers(input: ListCustomersInput): Promise<Page<Customer>> {
    return this.#list('customer', { limit: input.limit, email: input.email }, input.cursor);
  }

  searchCustomers(input: SearchInput): Promise<Page<Customer>> {
    return this.#search('customer', input);
  }

  async createPaymentIntent(
    input: CreatePaymentIntentInput,
    key: string | undefined,
  ): Promise<PaymentIntent> {
    const params = {
      amount: input.amount,
      currency: input.currency,
      customer: input.customerId,
      payment_method: input.paymentMethod,
      confirm: input.confirm,
      capture_method: input.captureMethod,
      description: input.description,
      receipt_email: input.receiptEmail,
      payment_method_types: input.paymentMethodTypes,
      metadata: input.metadata,
    };
    return toPaymentIntent(await this.#post('/payment_intents', PaymentIntentAnswer, params, key));
  }

  getPaymentIntent(paymentIntentId: string): Promise<PaymentIntent> {
    return this.fetch('payment_intent', paymentIntentId) as Promise<PaymentIntent>;
  }

  /** `confirm`, `capture` or `cancel` one payment intent. */
  async changePaymentIntent(
    action: 'confirm' | 'capture' | 'cancel',
    input: ConfirmPaymentIntentInput | CapturePaymentIntentInput | CancelPaymentIntentInput,
    key: string | undefined,
  ): Promise<PaymentIntent> {
    const { paymentIntentId, ...rest } = input as ConfirmPaymentIntentInput &
      CapturePaymentIntentInput &
      CancelPaymentIntentInput;
    const params = {
      payment_method: rest.paymentMethod,
      return_url: rest.returnUrl,
      amount_to_capture: rest.amountToCapture,
      cancellation_reason: rest.cancellationReason,
    };
    const path = `/payment_intents/${encodeURIComponent(paymentIntentId)}/${action}`;
    return toPaymentIntent(await this.#post(path, PaymentIntentAnswer, params, key));
  }

  listPaymentIntents(input: ListPaymentIntentsInput): Promise<Page<PaymentIntent>> {
    return this.#list('payment_intent', { limit: input.limit, customer: input.customerId }, input.cursor);
  }

  searchPaymentIntents(input: SearchInput): Promise<Page<PaymentIntent>> {
    return this.#search('payment_intent', input);
  }

  async createRefund(input: CreateRefundInput, key: string | undefined): Promise<Refund> {
    const params = {
      payment_intent: input.paymentIntentId,
      amount: input.amount,
      reason: input.reason,
      metadata: input.metadata,
    };
    return toRefund(await this.#post('/refunds', RefundAnswer, params, key));
  }

  listRefunds(input: ListRefundsInput): Promise<Page<Refund>> {
    return this.#list('refund', { limit: input.limit, payment_intent: input.paymentIntentId }, input.cursor);
  }

  async createInvoice(input: CreateInvoiceInput, key: string | undefined): Promise<Invoice> {
    const params = {
      customer: input.customerId,
      collection_method: input.collectionMethod,
      days_until_due: input.daysUntilDue,
      description: input.description,
      auto_advance: input.autoAdvance,
      currency: input.currency,
      metadata: input.metadata,
    };
    return toInvoice(await this.#post('/invoices', InvoiceAnswer, params, key));
  }

  getInvoice(invoiceId: string): Promise<Invoice> {
    return this.fetch('invoice', invoiceId) as Promise<Invoice>;
  }

  async finalizeInvoice(invoiceId: string, key: string | undefined): Promise<Invoice> {
    const path = `/invoices/${encodeURIComponent(invoiceId)}/finalize`;
    return toInvoice(await this.#post(path, InvoiceAnswer, {}, key));
  }

  listInvoices(input: ListInvoicesInput): Promise<Page<Invoice>> {
    const query = { limit: input.limit, customer: input.customerId, status: input.status };
    return this.#list('invoice', query, input.cursor);
  }

  searchInvoices(input: SearchInput): Promise<Page<Invoice>> {
    return this.#search('invoice', input);
  }

  /** The cheapest authenticated call: proves the key and the URL for `health`. */
  async ping(): Promise<void> {
    await this.#rest.get('/customers', listAnswer(CustomerAnswer), { query: { limit: 1 } });
  }

  /** Closes the connection pool. */
  close(): void {
    this.#rest.close();
  }
}
