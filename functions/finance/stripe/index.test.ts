/**
 * The Stripe connector against the Stripe contract fake (`scripts/local/sandboxes/stripe.ts`), the local
 * stack's Secrets Manager and dynalite (the webhook ledger): each operation on each trigger, Stripe's
 * form encoding, pagination, search, idempotency keys and card errors, signed webhooks (signed by the
 * `stripe` package's own test-header helper), and the failure paths every connector must survive.
 */
import { randomUUID } from 'node:crypto';
import { configureSecrets, resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import Stripe from 'stripe';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FakeServer, json } from '../../../scripts/local/sandboxes/kit/index.ts';
import {
  STRIPE_SANDBOX_READ_ONLY_KEY,
  STRIPE_SANDBOX_TOKEN,
  type StripeFakeState,
  signStripeWebhook,
  startStripeFake,
} from '../../../scripts/local/sandboxes/stripe.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { STRIPE_API_VERSION } from './client.ts';

const suffix = randomUUID().slice(0, 8);
const TOKEN_SECRET = `test/stripe/api-key-${suffix}`;
const WEBHOOK_SECRET = `test/stripe/webhook-${suffix}`;
const WEBHOOK_KEY = 'whsec_stripeUnitWebhookKey';
const STATE_TABLE = `stripe-state-${suffix}`;
const ROTATED_TOKEN = 'sk_test_rotatedKey';
const stripe = new Stripe('sk_test_unused', { maxNetworkRetries: 0 });

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<StripeFakeState>;
let secrets: SecretsManagerPeer;
let dynamo: DynalitePeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown, key: string = randomUUID()): Promise<HttpResult> {
  const event = httpEvent({ path: `/stripe/${operation}`, body, headers: { 'idempotency-key': key } });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

/** Stripe's 409 while another request with the same idempotency key is still being processed. */
const keyInUse = {
  error: {
    type: 'invalid_request_error',
    code: 'idempotency_key_in_use',
    message:
      'There is currently another in-progress request using this Stripe-Idempotent-Key (that probably means you submitted twice, and the other request is still going through): circle-x. Please try again later.',
  },
};

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

type Json = Record<string, unknown>;
interface Page {
  items: Json[];
  nextCursor?: string;
}
/** A library call (`connector.run`), its answer typed for the assertions. */
const run = async <T = Json>(operation: string, input: unknown): Promise<T> =>
  (await connector.run(operation as 'health', input)) as T;
const ids = (page: Page, field = 'id'): unknown[] => page.items.map((item) => item[field]);
const statuses = (route: string) => fake.logFor(route).map((entry) => entry.status);

beforeAll(async () => {
  [fake, secrets, dynamo] = await Promise.all([
    startStripeFake(),
    startSecretsManager({ [TOKEN_SECRET]: STRIPE_SANDBOX_TOKEN, [WEBHOOK_SECRET]: WEBHOOK_KEY }),
    startDynalite(),
  ]);
  await createTable(dynamo.endpoint, STATE_TABLE);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    STRIPE_API_URL: `${fake.url}/v1`,
    STRIPE_TOKEN_SECRET: TOKEN_SECRET,
    STRIPE_WEBHOOK_SECRET_SECRET: WEBHOOK_SECRET,
    STRIPE_STATE_TABLE: STATE_TABLE,
    STRIPE_TIMEOUT_MS: '1000',
    STRIPE_MAX_RETRY_AFTER_MS: '5000',
    STRIPE_RATE_LIMIT: '0',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([fake.close(), secrets.close(), dynamo.close()]);
});

beforeEach(async () => {
  fake.reset();
  await secrets.set(TOKEN_SECRET, STRIPE_SANDBOX_TOKEN);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: stripe', () => {
  describe('Customers', () => {
    it('creates a customer form-encoded, with nested metadata, the pinned version and an idempotency key', async () => {
      // Act
      const response = await call('create-customer', {
        email: 'grace@example.com',
        name: 'Grace Hopper',
        metadata: { crm_id: 'C-7', 'plan tier': 'gold' },
      });

      // Assess
      expect(response.statusCode).toBe(200);
      const customer = parsed(response);
      expect(customer).toMatchObject({
        id: expect.stringMatching(/^cus_/),
        email: 'grace@example.com',
        metadata: { crm_id: 'C-7', 'plan tier': 'gold' },
      });
      const [sent] = fake.logFor('create-customer');
      expect(sent?.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(sent?.body).toMatchObject({ 'metadata[crm_id]': 'C-7', 'metadata[plan tier]': 'gold' });
      expect(sent?.headers['stripe-version']).toBe(STRIPE_API_VERSION);
      expect(sent?.headers['idempotency-key']).toMatch(/^circle-[0-9a-f]{48}$/);
    });

    it('reads a customer, and answers 404 naming one that does not exist', async () => {
      // Act
      const found = await call('get-customer', { customerId: 'cus_SandboxJenny' });
      const missing = await call('get-customer', { customerId: 'cus_Nobody' });

      // Assess
      expect(parsed(found)).toMatchObject({ name: 'Jenny Rosen', metadata: { order_id: '1001' } });
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('customer cus_Nobody was not found');
    });

    it('pages with starting_after until has_more is false', async () => {
      // Prepare
      for (const name of ['C1', 'C2', 'C3']) await connector.run('create-customer', { name });

      // Act
      const pages: unknown[][] = [];
      let cursor: string | undefined;
      do {
        const page = await run<Page>(
          'list-customers',
          cursor === undefined ? { limit: 2 } : { limit: 2, cursor },
        );
        pages.push(ids(page, 'name'));
        cursor = page.nextCursor;
      } while (cursor !== undefined);

      // Assess
      expect(pages).toEqual([['C3', 'C2'], ['C1', 'Jenny Rosen'], ['Ada Lovelace']]);
      expect(fake.logFor('list-customers').map((entry) => entry.query['starting_after'])).toEqual([
        undefined,
        expect.stringMatching(/^cus_/),
        'cus_SandboxJenny',
      ]);
    });

    it('refuses a cursor it did not issue before calling Stripe', async () => {
      const response = await call('list-customers', { cursor: 'limit=100&x' });
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([{ pointer: '/cursor', message: expect.any(String) }]);
      expect(fake.logFor('list-customers')).toEqual([]);
    });

    it('searches by metadata and pages search results with next_page', async () => {
      // Prepare
      for (const name of ['S1', 'S2'])
        await connector.run('create-customer', { name, metadata: { order_id: '1001' } });

      // Act
      const first = await run<Page>('search-customers', {
        query: "metadata['order_id']:'1001'",
        limit: 2,
      });
      const second = await run<Page>('search-customers', {
        query: "metadata['order_id']:'1001'",
        limit: 2,
        ...(first.nextCursor === undefined ? {} : { cursor: first.nextCursor }),
      });
      const invalid = await call('search-customers', { query: 'email~jenny' });

      // Assess
      expect(ids(first, 'name')).toEqual(['S2', 'S1']);
      expect(second).toEqual({ items: [expect.objectContaining({ id: 'cus_SandboxJenny' })] });
      expect(fake.logFor('search-customers')[1]?.query['page']).toBe(first.nextCursor);
      expect(invalid.statusCode).toBe(400);
    });

    it('refuses an unknown field with a 400 naming it, before calling Stripe', async () => {
      const response = await call('create-customer', { email: 'a@example.com', emial: 'x' });
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([{ pointer: '/emial', message: 'unknown field' }]);
      expect(fake.log).toEqual([]);
    });
  });

  describe('Payment intents', () => {
    it('creates, confirms and reads a payment', async () => {
      // Act
      const created = await call('create-payment-intent', {
        amount: 1999,
        currency: 'usd',
        customerId: 'cus_SandboxJenny',
        paymentMethodTypes: ['card'],
        metadata: { order_id: '2001' },
      });
      const id = parsed(created)['id'] as string;
      const confirmed = await call('confirm-payment-intent', {
        paymentIntentId: id,
        paymentMethod: 'pm_card_visa',
      });
      const read = await call('get-payment-intent', { paymentIntentId: id });

      // Assess
      expect(parsed(created)).toMatchObject({ status: 'requires_payment_method', amount: 1999 });
      expect(fake.logFor('create-payment-intent')[0]?.body).toMatchObject({
        'payment_method_types[0]': 'card',
      });
      expect(parsed(confirmed)).toMatchObject({ status: 'succeeded', amountReceived: 1999 });
      expect(parsed(read)).toMatchObject({
        status: 'succeeded',
        latestCharge: expect.stringMatching(/^ch_/),
      });
    });

    it('captures part of an authorization and cancels another; cancelling a succeeded one is 409', async () => {
      // Act
      const captured = await call('capture-payment-intent', {
        paymentIntentId: 'pi_SandboxCapture',
        amountToCapture: 4000,
      });
      const again = await call('cancel-payment-intent', { paymentIntentId: 'pi_SandboxCapture' });
      const canceled = await call('cancel-payment-intent', {
        paymentIntentId: 'pi_SandboxOpen',
        cancellationReason: 'abandoned',
      });

      // Assess
      expect(parsed(captured)).toMatchObject({
        status: 'succeeded',
        amountReceived: 4000,
        amountCapturable: 0,
      });
      expect(again.statusCode).toBe(409);
      expect(parsed(again)['detail']).toContain('payment_intent_unexpected_state');
      expect(parsed(canceled)).toMatchObject({ status: 'canceled', cancellationReason: 'abandoned' });
    });

    it('answers a declined card (402) as a 400 with the decline code, and keeps the intent payable', async () => {
      // Act
      const response = await call('create-payment-intent', {
        amount: 1000,
        currency: 'usd',
        paymentMethod: 'pm_card_chargeDeclinedInsufficientFunds',
        confirm: true,
      });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain('the card was declined');
      expect(parsed(response)['detail']).toContain('insufficient_funds');
      expect(statuses('create-payment-intent')).toEqual([402]);
      const [intent] = [...fake.state.paymentIntents.values()].slice(-1);
      expect(intent?.['status']).toBe('requires_payment_method');
      const read = parsed(await call('get-payment-intent', { paymentIntentId: intent?.['id'] }));
      expect(read['lastPaymentError']).toMatchObject({
        code: 'card_declined',
        declineCode: 'insufficient_funds',
        message: expect.any(String),
      });
    });

    it.each([
      ['incorrect_zip', "The card's postal code is incorrect."],
      ['invalid_expiry_year', "Your card's expiration year is invalid."],
      ['card_decline_rate_limit_exceeded', 'This card has been declined too many times.'],
      ['a_card_code_stripe_added_later', 'Your card was refused.'],
    ])(
      'answers a 402 card_error with the code %s as a 400 naming the code, not retried',
      async (code, message) => {
        // Prepare
        fake.inject(
          {
            kind: 'answer',
            answer: json(402, { error: { type: 'card_error', code, message, param: 'payment_method' } }),
          },
          { route: 'create-payment-intent' },
        );

        // Act
        const response = await call('create-payment-intent', {
          amount: 1000,
          currency: 'usd',
          paymentMethod: 'pm_card_visa',
          confirm: true,
        });

        // Assess
        expect(response.statusCode).toBe(400);
        expect(parsed(response)['detail']).toContain(code);
        expect(statuses('create-payment-intent')).toEqual([402]);
      },
    );

    it('leaves out what Stripe answers as null (no name, capture method, refund intent, invoice customer)', async () => {
      // Prepare: Stripe answers every absent field as null
      const created = 1_767_225_600;
      const answer = (value: unknown, route: string) =>
        fake.inject({ kind: 'answer', answer: json(200, value) }, { route });
      answer(
        {
          id: 'cus_Null',
          object: 'customer',
          email: null,
          name: null,
          description: null,
          phone: null,
          created,
        },
        'get-customer',
      );
      answer(
        {
          id: 'pi_Null',
          object: 'payment_intent',
          amount: 100,
          currency: 'usd',
          status: 'requires_payment_method',
          customer: null,
          capture_method: null,
          last_payment_error: { code: null, decline_code: null, message: null },
          created,
        },
        'get-payment-intent',
      );
      answer(
        {
          object: 'list',
          has_more: false,
          data: [
            {
              id: 're_Null',
              object: 'refund',
              amount: 5,
              currency: 'usd',
              status: null,
              payment_intent: null,
              created,
            },
          ],
        },
        'list-refunds',
      );
      answer(
        {
          id: 'in_Null',
          object: 'invoice',
          customer: null,
          status: null,
          collection_method: null,
          currency: 'usd',
          amount_due: 0,
          amount_paid: 0,
          total: 0,
          created,
        },
        'get-invoice',
      );

      // Act
      const customer = parsed(await call('get-customer', { customerId: 'cus_Null' }));
      const intent = parsed(await call('get-payment-intent', { paymentIntentId: 'pi_Null' }));
      const refunds = parsed(await call('list-refunds', {}));
      const invoice = parsed(await call('get-invoice', { invoiceId: 'in_Null' }));

      // Assess
      const createdAt = new Date(created * 1000).toISOString();
      expect(customer).toEqual({ id: 'cus_Null', metadata: {}, createdAt });
      expect(intent).toEqual({
        id: 'pi_Null',
        amount: 100,
        amountCapturable: 0,
        amountReceived: 0,
        currency: 'usd',
        status: 'requires_payment_method',
        lastPaymentError: {},
        metadata: {},
        createdAt,
      });
      expect(refunds['items']).toEqual([
        { id: 're_Null', amount: 5, currency: 'usd', metadata: {}, createdAt },
      ]);
      expect(invoice).toEqual({
        id: 'in_Null',
        currency: 'usd',
        amountDue: 0,
        amountPaid: 0,
        total: 0,
        metadata: {},
        createdAt,
      });
    });

    it('lists a customer’s payments and searches by status', async () => {
      const listed = await run<Page>('list-payment-intents', { customerId: 'cus_SandboxJenny' });
      const searched = await run<Page>('search-payment-intents', {
        query: "status:'succeeded' AND amount>1000",
      });
      expect(ids(listed, 'id')).toEqual(['pi_SandboxCapture', 'pi_SandboxSucceeded']);
      expect(ids(searched, 'id')).toEqual(['pi_SandboxSucceeded']);
    });
  });

  describe('Refunds', () => {
    it('refunds part, then the rest, then answers 409 when nothing is left', async () => {
      // Act
      const part = await call('create-refund', {
        paymentIntentId: 'pi_SandboxSucceeded',
        amount: 500,
        reason: 'requested_by_customer',
      });
      const rest = await call('create-refund', { paymentIntentId: 'pi_SandboxSucceeded' });
      const more = await call('create-refund', { paymentIntentId: 'pi_SandboxSucceeded' });
      const listed = await run<Page>('list-refunds', { paymentIntentId: 'pi_SandboxSucceeded' });

      // Assess
      expect(parsed(part)).toMatchObject({
        amount: 500,
        status: 'succeeded',
        reason: 'requested_by_customer',
      });
      expect(parsed(rest)).toMatchObject({ amount: 1500 });
      expect(more.statusCode).toBe(409);
      expect(parsed(more)['detail']).toContain('charge_already_refunded');
      expect(ids(listed, 'amount')).toEqual([1500, 500]);
    });
  });

  describe('Invoices', () => {
    it('creates, finalizes, reads, lists and searches invoices', async () => {
      // Act
      const created = await call('create-invoice', {
        customerId: 'cus_SandboxAda',
        collectionMethod: 'send_invoice',
        daysUntilDue: 30,
      });
      const finalized = await call('finalize-invoice', { invoiceId: 'in_SandboxDraft' });
      const twice = await call('finalize-invoice', { invoiceId: 'in_SandboxDraft' });
      const read = await run('get-invoice', { invoiceId: parsed(created)['id'] as string });
      const open = await run<Page>('list-invoices', { status: 'open' });
      const searched = await run<Page>('search-invoices', { query: "customer:'cus_SandboxJenny'" });

      // Assess
      expect(parsed(created)).toMatchObject({
        status: 'draft',
        collectionMethod: 'send_invoice',
        dueDate: expect.any(String),
      });
      expect(parsed(finalized)).toMatchObject({ status: 'open', number: expect.stringMatching(/^SANDBOX-/) });
      expect(twice.statusCode).toBe(409);
      expect(read['status']).toBe('draft');
      expect(ids(open, 'id')).toEqual(['in_SandboxDraft']);
      expect(ids(searched, 'id')).toEqual(['in_SandboxDraft']);
    });
  });

  describe('Idempotency', () => {
    it('derives one Stripe key from the call’s key: a retried request replays Stripe’s first answer', async () => {
      // Act
      const first = await call('create-customer', { name: 'Once' }, 'order-77');
      const again = await call('create-customer', { name: 'Once' }, 'order-77');
      const other = await call('create-customer', { name: 'Other' }, 'order-77');

      // Assess
      expect(parsed(again)['id']).toBe(parsed(first)['id']);
      expect([...fake.state.customers.values()].filter((c) => c['name'] === 'Once')).toHaveLength(1);
      const keys = fake.logFor('create-customer').map((entry) => entry.headers['idempotency-key']);
      expect(new Set(keys).size).toBe(1);
      expect(other.statusCode).toBe(409);
      expect(statuses('create-customer')).toEqual([200, 200, 409]);
    });

    it('answers a key reused with other parameters as a 409 conflict naming the reuse, never retried', async () => {
      // Prepare: Stripe documents 409 for a reused key, and has answered 400 with the same error type.
      const reuse = {
        error: {
          type: 'idempotency_error',
          message:
            'Keys for idempotent requests can only be used with the same parameters they were first used with.',
        },
      };
      fake.inject({ kind: 'answer', answer: json(400, reuse) }, { route: 'create-payment-intent' });

      // Act
      await call('create-customer', { name: 'First' }, 'order-88');
      const reused = await call('create-customer', { name: 'Second' }, 'order-88');
      const as400 = await call('create-payment-intent', { amount: 900, currency: 'eur' });

      // Assess
      for (const response of [reused, as400]) {
        expect(response.statusCode).toBe(409);
        expect(parsed(response)).toMatchObject({ code: 'conflict' });
        expect(parsed(response)['detail']).toContain(
          'idempotency key was already used with other parameters',
        );
      }
      expect(statuses('create-customer')).toEqual([200, 409]);
      expect(statuses('create-payment-intent')).toEqual([400]);
    });

    it('(the sandbox) marks a reused key Stripe-Should-Retry: false, as retrying it has no other effect', async () => {
      // Act
      const post = (name: string) =>
        fetch(`${fake.url}/v1/customers`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${STRIPE_SANDBOX_TOKEN}`,
            'content-type': 'application/x-www-form-urlencoded',
            'idempotency-key': 'sandbox-should-retry',
          },
          body: new URLSearchParams({ name }).toString(),
        });
      const first = await post('Kept');
      const reused = await post('Changed');

      // Assess
      expect(first.status).toBe(200);
      expect(reused.status).toBe(409);
      expect(reused.headers.get('stripe-should-retry')).toBe('false');
      expect(await reused.json()).toMatchObject({ error: { type: 'idempotency_error' } });
    });

    it('does not retry a 5xx Stripe marks Stripe-Should-Retry: false, and answers it as not retryable', async () => {
      // Prepare
      const failed = { error: { type: 'api_error', message: 'An unknown error occurred' } };
      fake.inject(
        { kind: 'answer', answer: json(500, failed, { 'stripe-should-retry': 'false' }) },
        { route: 'create-payment-intent' },
      );

      // Act
      const response = await call('create-payment-intent', { amount: 800, currency: 'eur' });

      // Assess
      expect(statuses('create-payment-intent')).toEqual([500]);
      expect(response.statusCode).toBe(502);
      expect(parsed(response)).toMatchObject({ code: 'unexpected_response' });
      expect(parsed(response)['detail']).toContain('Stripe-Should-Retry: false');
    });

    it('retries a write Stripe marks Stripe-Should-Retry: true, with the same key, whatever the status', async () => {
      // Prepare
      const busy = { error: { type: 'invalid_request_error', message: 'Try again in a moment.' } };
      fake.inject(
        { kind: 'answer', answer: json(400, busy, { 'stripe-should-retry': 'true' }) },
        { route: 'create-customer' },
      );

      // Act
      const response = await call('create-customer', { name: 'ShouldRetry' }, 'order-89');

      // Assess
      expect(response.statusCode).toBe(200);
      expect(statuses('create-customer')).toEqual([400, 200]);
      const keys = fake.logFor('create-customer').map((entry) => entry.headers['idempotency-key']);
      expect(new Set(keys).size).toBe(1);
    });

    it('retries a write after a 5xx with the same key, so it happens once', async () => {
      // Prepare
      fake.inject({ kind: 'server-error' }, { route: 'create-payment-intent' });

      // Act
      const response = await call('create-payment-intent', { amount: 700, currency: 'eur' });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(statuses('create-payment-intent')).toEqual([500, 200]);
      const [a, b] = fake.logFor('create-payment-intent').map((entry) => entry.headers['idempotency-key']);
      expect(a).toBe(b);
      expect([...fake.state.paymentIntents.values()].filter((pi) => pi['amount'] === 700)).toHaveLength(1);
    });

    it('retries a write Stripe answers 409 idempotency_key_in_use (the first request still running), with the same key', async () => {
      // Prepare
      fake.inject({ kind: 'answer', answer: json(409, keyInUse) }, { route: 'create-customer' });

      // Act
      const response = await call('create-customer', { name: 'InFlight' }, 'order-409');

      // Assess
      expect(response.statusCode).toBe(200);
      expect(statuses('create-customer')).toEqual([409, 200]);
      const keys = fake.logFor('create-customer').map((entry) => entry.headers['idempotency-key']);
      expect(new Set(keys).size).toBe(1);
    });

    it('answers 429, retryable, and leaves a queued record for a retry when the key stays in use', async () => {
      // Prepare
      fake.inject(
        { kind: 'answer', answer: json(409, keyInUse) },
        { route: 'create-customer', times: Number.POSITIVE_INFINITY },
      );

      // Act
      const response = await call('create-customer', { name: 'StillInFlight' }, 'order-410');
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'create-customer', input: { name: 'StillInFlight' } } }]),
        lambdaContext(),
      );

      // Assess
      expect(response.statusCode).toBe(429);
      expect(parsed(response)).toMatchObject({ code: 'rate_limited' });
      expect(response.body).toContain('idempotency_key_in_use');
      expect((queued as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(1);
      expect(logs.records()).toContainEqual(
        expect.objectContaining({ message: 'Record failed, will be retried', errorName: 'RateLimitedError' }),
      );
    });

    it('sends a fresh key per call when the call has none (library use)', async () => {
      await connector.run('create-customer', { name: 'K1' });
      await connector.run('create-customer', { name: 'K1' });
      const keys = fake.logFor('create-customer').map((entry) => entry.headers['idempotency-key']);
      expect(keys).toHaveLength(2);
      expect(keys[0]).not.toBe(keys[1]);
    });
  });

  describe('Failure paths', () => {
    it('waits as Retry-After says on 429 rate_limit, then answers', async () => {
      fake.inject({ kind: 'throttled', retryAfterSeconds: 0 }, { route: 'list-invoices' });
      const response = await call('list-invoices', {});
      expect(response.statusCode).toBe(200);
      expect(statuses('list-invoices')).toEqual([429, 200]);
    });

    it('answers 429 when Stripe keeps throttling', async () => {
      fake.inject(
        { kind: 'throttled', retryAfterSeconds: 0 },
        { route: 'list-invoices', times: Number.POSITIVE_INFINITY },
      );
      const response = await call('list-invoices', {});
      expect(response.statusCode).toBe(429);
    });

    it('retries a 5xx, and answers 503 when Stripe keeps failing', async () => {
      fake.inject({ kind: 'server-error' }, { route: 'get-invoice' });
      const recovered = await call('get-invoice', { invoiceId: 'in_SandboxDraft' });
      fake.inject(
        { kind: 'server-error', status: 503 },
        { route: 'get-invoice', times: Number.POSITIVE_INFINITY },
      );
      const failed = await call('get-invoice', { invoiceId: 'in_SandboxDraft' });
      expect(recovered.statusCode).toBe(200);
      expect(failed.statusCode).toBe(503);
    });

    it('retries a read that timed out', async () => {
      fake.inject({ kind: 'slow', delayMs: 1500 }, { route: 'get-customer' });
      const response = await call('get-customer', { customerId: 'cus_SandboxAda' });
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('get-customer')).toHaveLength(2);
    });

    it('answers 502 for a malformed, a wrong-shaped and an oversized answer', async () => {
      fake.inject({ kind: 'malformed' }, { route: 'get-customer', times: 3 });
      const malformed = await call('get-customer', { customerId: 'cus_SandboxAda' });
      fake.inject({ kind: 'wrong-shape' }, { route: 'get-customer', times: 3 });
      const shape = await call('get-customer', { customerId: 'cus_SandboxAda' });
      fake.inject({ kind: 'oversized', bytes: 6 * 1024 * 1024 }, { route: 'get-customer', times: 3 });
      const oversized = await call('get-customer', { customerId: 'cus_SandboxAda' });
      expect([malformed.statusCode, shape.statusCode, oversized.statusCode]).toEqual([502, 502, 502]);
    });

    it('reads the key again after a 401 (rotation) and succeeds with the new one', async () => {
      // Prepare
      await run<Page>('list-customers', {});
      fake.state.tokens.clear();
      fake.state.tokens.add(ROTATED_TOKEN);
      await secrets.set(TOKEN_SECRET, ROTATED_TOKEN);

      // Act
      const response = await call('list-customers', {});

      // Assess
      expect(response.statusCode).toBe(200);
      expect(statuses('list-customers')).toEqual([200, 401, 200]);
    });

    it('answers 403 for a restricted key without the write permission; it still reads', async () => {
      await secrets.set(TOKEN_SECRET, STRIPE_SANDBOX_READ_ONLY_KEY);
      configureSecrets({});
      const write = await call('create-customer', { name: 'No' });
      const read = await call('get-customer', { customerId: 'cus_SandboxAda' });
      expect(write.statusCode).toBe(403);
      expect(read.statusCode).toBe(200);
    });
  });

  describe('Secrets', () => {
    it('never shows the API key or the webhook secret in answers or logs, on success or failure', async () => {
      // Prepare
      const marker = `sk_test_MARKER${suffix}`;
      fake.state.tokens.add(marker);
      await secrets.set(TOKEN_SECRET, marker);
      configureSecrets({});

      // Act
      const ok = await call('list-customers', {});
      fake.state.tokens.delete(marker);
      const refused = await call('create-customer', { name: 'x' });
      const body = '{"id":"evt_Marker","type":"customer.created","data":{"object":{}}}';
      const hook = (await connector.handler(
        httpEvent({
          path: '/stripe/webhook',
          body,
          headers: { 'stripe-signature': 't=1,v1=00' },
          authorizer: 'none',
        }),
        lambdaContext(),
      )) as HttpResult;

      // Assess
      expect([ok.statusCode, refused.statusCode, hook.statusCode]).toEqual([200, 401, 401]);
      const seen = `${ok.body}${refused.body}${hook.body}${logs.text()}`;
      expect(seen).not.toContain(marker);
      expect(seen).not.toContain(WEBHOOK_KEY);
      expect(fake.logFor('list-customers')[0]?.token).toBe(marker);
    });
  });

  describe('Triggers', () => {
    it('runs a queued request, a Step Functions task, a library call and health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'create-customer', input: { name: 'Queued' } } }]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { trigger: 'task', operation: 'get-payment-intent', input: { paymentIntentId: 'pi_SandboxOpen' } },
        lambdaContext(),
      );
      const library = await run('get-customer', { customerId: 'cus_SandboxAda' });
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/stripe/health' }),
        lambdaContext(),
      );

      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect([...fake.state.customers.values()].map((c) => c['name'])).toContain('Queued');
      expect(fake.logFor('create-customer')[0]?.headers['idempotency-key']).toMatch(/^circle-/);
      expect(task).toMatchObject({ status: 'requires_payment_method', amount: 1500 });
      expect(library['email']).toBe('ada@example.com');
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });

  describe('Contract fake', () => {
    it('refuses prototype keys in a form body instead of setting them', async () => {
      const response = await fetch(`${fake.url}/v1/customers`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${STRIPE_SANDBOX_TOKEN}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'metadata[__proto__][polluted]=1&name=x',
      });
      expect(response.status).toBe(400);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    });
  });

  describe('Route: POST /stripe/webhook', () => {
    const deliver = async (body: string, signature?: string) =>
      (await connector.handler(
        httpEvent({
          path: '/stripe/webhook',
          body,
          headers: signature === undefined ? {} : { 'stripe-signature': signature },
          authorizer: 'none',
        }),
        lambdaContext(),
      )) as HttpResult;
    const event = (id: string) =>
      JSON.stringify({
        id,
        object: 'event',
        type: 'payment_intent.succeeded',
        created: Math.floor(Date.now() / 1000),
        data: { object: { id: 'pi_SandboxSucceeded', object: 'payment_intent', status: 'succeeded' } },
      });

    it('accepts an event signed by the stripe package once, then answers a redelivery as a duplicate', async () => {
      // Prepare
      const id = `evt_${suffix}Once`;
      const body = event(id);
      const header = stripe.webhooks.generateTestHeaderString({ payload: body, secret: WEBHOOK_KEY });

      // Act
      const first = await deliver(body, header);
      const again = await deliver(
        body,
        stripe.webhooks.generateTestHeaderString({ payload: body, secret: WEBHOOK_KEY }),
      );

      // Assess
      expect(first.statusCode).toBe(202);
      expect(parsed(first)).toMatchObject({
        accepted: true,
        event: 'payment-intent-succeeded',
        deliveryId: id,
      });
      expect(parsed(again)).toEqual({ duplicate: true, deliveryId: id });
      // The object was read again for its current state.
      expect(fake.logFor('get-payment-intent').length).toBeGreaterThanOrEqual(1);
    });

    it('accepts one of several v1 signatures (a secret being rolled)', async () => {
      const body = event(`evt_${suffix}Rolled`);
      const response = await deliver(body, signStripeWebhook(body, ['whsec_theOldOne', WEBHOOK_KEY]));
      expect(response.statusCode).toBe(202);
    });

    it('answers 401 for tampered, unsigned, wrongly keyed, stale and malformed signatures', async () => {
      const body = event(`evt_${suffix}Bad`);
      const stale = Math.floor(Date.now() / 1000) - 301;
      const answers = await Promise.all([
        deliver(body.replace('succeeded', 'canceled'), signStripeWebhook(body, WEBHOOK_KEY)),
        deliver(body),
        deliver(body, signStripeWebhook(body, 'whsec_someoneElse')),
        deliver(
          body,
          stripe.webhooks.generateTestHeaderString({ payload: body, secret: WEBHOOK_KEY, timestamp: stale }),
        ),
        deliver(body, 'v0=abc,sha256=def'),
      ]);
      expect(answers.map((answer) => answer.statusCode)).toEqual([401, 401, 401, 401, 401]);
    });

    it('answers 400 for a signed payload that is not a Stripe event', async () => {
      const body = JSON.stringify({ hello: 'world' });
      const response = await deliver(body, signStripeWebhook(body, WEBHOOK_KEY));
      expect(response.statusCode).toBe(400);
    });
  });
});
