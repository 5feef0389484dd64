/**
 * The Stripe webhook receiver on its own: its verdicts side by side with `stripe.webhooks.constructEvent`
 * (the official verifier) over valid, tampered, stale, rolled and malformed headers; out-of-order events
 * handed on with the object as Stripe has it now; and failures that leave the delivery unrecorded.
 */
import {
  createLogger,
  type EventReceiving,
  MemoryDeliveryLedger,
  type Secret,
  type WebhookEvent,
} from '@circle-core/core';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import {
  STRIPE_SANDBOX_TOKEN,
  type StripeFakeState,
  signStripeWebhook,
  startStripeFake,
} from '../../../scripts/local/sandboxes/stripe.ts';
import { StripeApi, stripeApi } from './client.ts';
import { receiveStripeWebhook, verifyStripeSignature } from './webhook.ts';

const KEY = 'whsec_webhookUnitKey';
const stripe = new Stripe('sk_test_unused', { maxNetworkRetries: 0 });
const logger = createLogger('stripe', '0.1.0');
const secret = { name: 'test', text: async () => KEY } as unknown as Secret;

let fake: FakeServer<StripeFakeState>;
let api: StripeApi;
let published: WebhookEvent[];
let failPublish: boolean;
let ledger: MemoryDeliveryLedger;

function receiving(): EventReceiving {
  return {
    ledger,
    sink: undefined,
    documents: undefined,
    table: 'memory',
    requireLedger: () => ledger,
    sinkOr: () => ({
      name: 'memory',
      durable: true,
      publish: async (event: WebhookEvent) => {
        if (failPublish) throw new Error('queue down');
        published.push(event);
      },
    }),
  };
}

async function deliver(body: string, header: string | undefined) {
  const request = {
    method: 'POST',
    path: '/stripe/webhook',
    headers: header === undefined ? {} : { 'stripe-signature': header },
    rawBody: Buffer.from(body),
    correlationId: 'c-1',
  };
  return receiveStripeWebhook(
    request as never,
    { secret, receiving: receiving(), toleranceSeconds: 300 },
    api,
    logger,
  );
}

beforeAll(async () => {
  fake = await startStripeFake();
  api = new StripeApi(
    stripeApi.client({ baseUrl: `${fake.url}/v1`, credential: STRIPE_SANDBOX_TOKEN, coordination: false }),
  );
});

afterAll(async () => {
  api.close();
  await fake.close();
});

beforeEach(() => {
  fake.reset();
  published = [];
  failPublish = false;
  ledger = new MemoryDeliveryLedger();
});

describe('Function: verifyStripeSignature', () => {
  const body = '{"id":"evt_1","type":"customer.created"}';
  const now = Math.floor(Date.now() / 1000);
  const verdict = (check: () => unknown): boolean => {
    try {
      check();
      return true;
    } catch {
      return false;
    }
  };
  const cases: Array<[string, string, string]> = [
    ['valid', body, stripe.webhooks.generateTestHeaderString({ payload: body, secret: KEY })],
    ['tampered', `${body} `, stripe.webhooks.generateTestHeaderString({ payload: body, secret: KEY })],
    ['other secret', body, stripe.webhooks.generateTestHeaderString({ payload: body, secret: 'whsec_x' })],
    [
      'stale',
      body,
      stripe.webhooks.generateTestHeaderString({ payload: body, secret: KEY, timestamp: now - 301 }),
    ],
    [
      'at the edge',
      body,
      stripe.webhooks.generateTestHeaderString({ payload: body, secret: KEY, timestamp: now - 290 }),
    ],
    ['rolled', body, signStripeWebhook(body, ['whsec_old', KEY], now)],
    ['v0 only', body, signStripeWebhook(body, KEY, now).replace('v1=', 'v0=')],
    ['no timestamp', body, signStripeWebhook(body, KEY, now).replace(/^t=\d+,/, '')],
    ['garbage', body, 'nonsense'],
  ];

  it.each(cases)('agrees with stripe.webhooks.constructEvent: %s', (_name, payload, header) => {
    const ours = verdict(() => verifyStripeSignature(Buffer.from(payload), header, KEY, 300));
    const theirs = verdict(() => stripe.webhooks.constructEvent(payload, header, KEY, 300));
    expect(ours).toBe(theirs);
  });

  it('refuses a timestamp further ahead than the tolerance (the SDK lets it through)', () => {
    const header = signStripeWebhook(body, KEY, now + 600);
    expect(() => verifyStripeSignature(Buffer.from(body), header, KEY, 300)).toThrow('in the future');
  });

  it('refuses an empty secret as a configuration error', () => {
    expect(() => verifyStripeSignature(Buffer.from(body), signStripeWebhook(body, KEY), '', 300)).toThrow(
      'secret is empty',
    );
  });
});

describe('Function: receiveStripeWebhook', () => {
  const eventFor = (id: string, object: Record<string, unknown>, type = 'payment_intent.succeeded') =>
    JSON.stringify({ id, object: 'event', type, created: 1, data: { object } });

  it('hands an out-of-order event on with the object as Stripe has it now', async () => {
    // Prepare: the intent was canceled after it was created; the "created" event arrives last.
    await api.changePaymentIntent('cancel', { paymentIntentId: 'pi_SandboxOpen' }, undefined);
    const late = eventFor(
      'evt_LateCreated',
      { id: 'pi_SandboxOpen', object: 'payment_intent', status: 'requires_payment_method' },
      'payment_intent.created',
    );

    // Act
    const answer = await deliver(late, signStripeWebhook(late, KEY));

    // Assess
    expect(answer.status).toBe(202);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      provider: 'stripe',
      name: 'payment-intent-created',
      deliveryId: 'evt_LateCreated',
      source: 'pi_SandboxOpen',
      payload: {
        data: { object: { status: 'requires_payment_method' } },
        current: { id: 'pi_SandboxOpen', status: 'canceled' },
      },
    });
  });

  it('hands on current: null for an object that no longer exists, and the snapshot alone for other types', async () => {
    const gone = eventFor('evt_Gone', { id: 'cus_Deleted', object: 'customer' }, 'customer.deleted');
    const other = eventFor('evt_Other', { id: 'prod_1', object: 'product' }, 'product.created');
    await deliver(gone, signStripeWebhook(gone, KEY));
    await deliver(other, signStripeWebhook(other, KEY));
    expect(published.map((event) => (event.payload as { current?: unknown }).current)).toEqual([
      null,
      undefined,
    ]);
  });

  it('hands on the snapshot alone when the object id is not an id Stripe issues, or the event has no data', async () => {
    // Prepare: nothing is read back for an id outside Stripe's shape, or with no object at all
    const odd = eventFor('evt_OddId', { id: '../v1/customers', object: 'customer' }, 'customer.updated');
    const bare = JSON.stringify({
      id: 'evt_NoData',
      object: 'event',
      type: 'customer.updated',
      created: 1,
      data: null,
    });

    // Act
    const answers = [
      await deliver(odd, signStripeWebhook(odd, KEY)),
      await deliver(bare, signStripeWebhook(bare, KEY)),
    ];

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([202, 202]);
    expect(published.map((event) => (event.payload as { current?: unknown }).current)).toEqual([
      undefined,
      undefined,
    ]);
    expect(published.map((event) => event.deliveryId)).toEqual(['evt_OddId', 'evt_NoData']);
  });

  it('answers a redelivery of an accepted event 200 duplicate without re-reading the object, even while Stripe’s API fails', async () => {
    // Prepare: the event was accepted; Stripe redelivers it (its first answer was lost) while the API is down
    const body = eventFor('evt_Redelivered', { id: 'pi_SandboxSucceeded', object: 'payment_intent' });
    const first = await deliver(body, signStripeWebhook(body, KEY));
    fake.inject({ kind: 'server-error', status: 503 }, { route: 'get-payment-intent', times: 3 });

    // Act
    const again = await deliver(body, signStripeWebhook(body, KEY)).catch((error: Error) => error);

    // Assess
    expect(first.status).toBe(202);
    expect(again).toMatchObject({ status: 200, body: { duplicate: true, deliveryId: 'evt_Redelivered' } });
    expect(published).toHaveLength(1);
  });

  it('records nothing when re-reading the object or handing on fails, so Stripe’s retry gets through', async () => {
    // Prepare
    const body = eventFor('evt_Retry', { id: 'pi_SandboxSucceeded', object: 'payment_intent' });
    fake.inject({ kind: 'server-error', status: 503 }, { route: 'get-payment-intent', times: 3 });

    // Act
    const unreadable = await deliver(body, signStripeWebhook(body, KEY)).catch((error: Error) => error);
    failPublish = true;
    const unpublished = await deliver(body, signStripeWebhook(body, KEY)).catch((error: Error) => error);
    failPublish = false;
    const retried = await deliver(body, signStripeWebhook(body, KEY));

    // Assess
    expect(unreadable).toMatchObject({ status: 503 });
    expect((unpublished as { status: number }).status).toBeGreaterThanOrEqual(500);
    expect(retried.status).toBe(202);
    expect(published).toHaveLength(1);
  });
});
