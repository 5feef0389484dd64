/**
 * The Stripe connector: customers, payment intents (create, confirm, capture, cancel), refunds and
 * invoices over Stripe's REST API, list operations paged with `starting_after` and search where Stripe
 * offers it, on every trigger (HTTP, SQS, Step Functions, direct invoke, library use), and a webhook
 * receiver (`Stripe-Signature`) that hands each event on once with the object's current state.
 */
import { defineConnector, eventReceivingFromConfig } from '@circle-core/core';
import { StripeApi, stripeApi } from './client.ts';
import { StripeConfig } from './config.ts';
import {
  CancelPaymentIntentInput,
  CapturePaymentIntentInput,
  ConfirmPaymentIntentInput,
  CreateCustomerInput,
  CreateInvoiceInput,
  CreatePaymentIntentInput,
  CreateRefundInput,
  Customer,
  CustomerPage,
  GetCustomerInput,
  GetPaymentIntentInput,
  Invoice,
  InvoicePage,
  InvoiceRef,
  ListCustomersInput,
  ListInvoicesInput,
  ListPaymentIntentsInput,
  ListRefundsInput,
  PaymentIntent,
  PaymentIntentPage,
  Refund,
  RefundPage,
  SearchInput,
} from './models.ts';
import { receiveStripeWebhook, type StripeWebhookReceiver } from './webhook.ts';

const SEARCH = "Stripe's search query language; results may lag writes by a minute";

/**
 * @example
 * ```ts
 * const intent = await connector.run('create-payment-intent', { amount: 1000, currency: 'usd' }, { idempotencyKey: 'order-1001' });
 * ```
 */
export const connector = defineConnector({
  name: 'stripe',
  version: '0.1.4',
  config: StripeConfig,
  capabilities: ['customers', 'payments', 'refunds', 'invoices', 'search', 'webhooks'],
  setup: {
    secrets: (config) => ({
      apiKey: config.STRIPE_TOKEN_SECRET,
      webhook: config.STRIPE_WEBHOOK_SECRET_SECRET,
    }),
    secretMaxAgeSeconds: (config) => config.STRIPE_SECRET_MAX_AGE_SECONDS,
    client: ({ config, secrets }) =>
      new StripeApi(stripeApi.clientFromSettings(config, { credential: secrets.apiKey })),
    services: async ({ config, secrets }) => ({
      webhooks: {
        secret: secrets.webhook,
        receiving: await eventReceivingFromConfig('STRIPE', config, 'stripe'),
        toleranceSeconds: config.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
      } satisfies StripeWebhookReceiver,
    }),
  },
  operations: (op) => ({
    'create-customer': op({
      effect: 'write',
      description: 'Creates a customer',
      input: CreateCustomerInput,
      output: Customer,
      run: (input, { client, idempotencyKey }) => client.createCustomer(input, idempotencyKey),
    }),
    'get-customer': op({
      description: 'Reads one customer',
      input: GetCustomerInput,
      output: Customer,
      run: (input, { client }) => client.getCustomer(input.customerId),
    }),
    'list-customers': op({
      description: 'Lists one page of customers, newest first, by email; nextCursor reads on',
      input: ListCustomersInput,
      output: CustomerPage,
      run: (input, { client }) => client.listCustomers(input),
    }),
    'search-customers': op({
      description: `Searches customers (${SEARCH})`,
      input: SearchInput,
      output: CustomerPage,
      run: (input, { client }) => client.searchCustomers(input),
    }),
    'create-payment-intent': op({
      effect: 'write',
      description: 'Creates a payment intent; confirm: true charges at once (402 when the card is declined)',
      input: CreatePaymentIntentInput,
      output: PaymentIntent,
      run: (input, { client, idempotencyKey }) => client.createPaymentIntent(input, idempotencyKey),
    }),
    'get-payment-intent': op({
      description: 'Reads one payment intent',
      input: GetPaymentIntentInput,
      output: PaymentIntent,
      run: (input, { client }) => client.getPaymentIntent(input.paymentIntentId),
    }),
    'confirm-payment-intent': op({
      effect: 'write',
      description: 'Confirms a payment intent: the customer pays (402 when the card is declined)',
      input: ConfirmPaymentIntentInput,
      output: PaymentIntent,
      run: (input, { client, idempotencyKey }) =>
        client.changePaymentIntent('confirm', input, idempotencyKey),
    }),
    'capture-payment-intent': op({
      effect: 'write',
      description: 'Captures an authorized payment intent (captureMethod manual), all or part of it',
      input: CapturePaymentIntentInput,
      output: PaymentIntent,
      run: (input, { client, idempotencyKey }) =>
        client.changePaymentIntent('capture', input, idempotencyKey),
    }),
    'cancel-payment-intent': op({
      effect: 'write',
      description: 'Cancels a payment intent that has not succeeded; an authorization is released',
      input: CancelPaymentIntentInput,
      output: PaymentIntent,
      run: (input, { client, idempotencyKey }) => client.changePaymentIntent('cancel', input, idempotencyKey),
    }),
    'list-payment-intents': op({
      description: 'Lists one page of payment intents, newest first, by customer; nextCursor reads on',
      input: ListPaymentIntentsInput,
      output: PaymentIntentPage,
      run: (input, { client }) => client.listPaymentIntents(input),
    }),
    'search-payment-intents': op({
      description: `Searches payment intents (${SEARCH})`,
      input: SearchInput,
      output: PaymentIntentPage,
      run: (input, { client }) => client.searchPaymentIntents(input),
    }),
    'create-refund': op({
      effect: 'write',
      description: 'Refunds a payment intent, all of it or part',
      input: CreateRefundInput,
      output: Refund,
      run: (input, { client, idempotencyKey }) => client.createRefund(input, idempotencyKey),
    }),
    'list-refunds': op({
      description: 'Lists one page of refunds, newest first, by payment intent; nextCursor reads on',
      input: ListRefundsInput,
      output: RefundPage,
      run: (input, { client }) => client.listRefunds(input),
    }),
    'create-invoice': op({
      effect: 'write',
      description: 'Creates a draft invoice for a customer (its pending invoice items)',
      input: CreateInvoiceInput,
      output: Invoice,
      run: (input, { client, idempotencyKey }) => client.createInvoice(input, idempotencyKey),
    }),
    'get-invoice': op({
      description: 'Reads one invoice',
      input: InvoiceRef,
      output: Invoice,
      run: (input, { client }) => client.getInvoice(input.invoiceId),
    }),
    'finalize-invoice': op({
      effect: 'write',
      description: 'Finalizes a draft invoice: it gets its number and becomes open for payment',
      input: InvoiceRef,
      output: Invoice,
      run: (input, { client, idempotencyKey }) => client.finalizeInvoice(input.invoiceId, idempotencyKey),
    }),
    'list-invoices': op({
      description: 'Lists one page of invoices, newest first, by customer and status; nextCursor reads on',
      input: ListInvoicesInput,
      output: InvoicePage,
      run: (input, { client }) => client.listInvoices(input),
    }),
    'search-invoices': op({
      description: `Searches invoices (${SEARCH})`,
      input: SearchInput,
      output: InvoicePage,
      run: (input, { client }) => client.searchInvoices(input),
    }),
  }),
  routes: (route) => [
    route({
      method: 'POST',
      path: '/stripe/webhook',
      auth: 'signature',
      description:
        'Receives Stripe webhooks (Stripe-Signature) and hands each event on once, with the current object',
      handle: (request, { client, services, logger }) =>
        receiveStripeWebhook(request, services.webhooks, client, logger),
    }),
  ],
  healthCheck: ({ client }) => client.ping(),
});

/** The Lambda entry point for every trigger. */
export const handler = connector.handler;
