/**
 * The Stripe connector on the running local stack (`npm start -- --only stripe`), against its sandbox: the
 * README's examples as a newcomer runs them, and webhooks signed with the `stripe` package's own
 * test-header helper (valid, tampered, stale, replayed, out of order), sent from outside as Stripe does.
 */
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STRIPE_SANDBOX_WEBHOOK_SECRET } from '../../scripts/local/sandboxes/stripe.ts';
import { type StackProcess, startStackProcess } from './stack-process.ts';

let stack: StackProcess;
const stripe = new Stripe('sk_test_unused', { maxNetworkRetries: 0 });

async function post(path: string, input: unknown, key: string = randomUUID()) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': key,
    },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function webhook(body: string, signature: string | undefined) {
  const response = await fetch(`${stack.apiUrl}/stripe/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(signature === undefined ? {} : { 'stripe-signature': signature }),
    },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const sign = (payload: string, timestamp?: number): string =>
  stripe.webhooks.generateTestHeaderString({
    payload,
    secret: STRIPE_SANDBOX_WEBHOOK_SECRET,
    ...(timestamp === undefined ? {} : { timestamp }),
  });

beforeAll(async () => {
  for (const name of ['STRIPE_API_URL', 'CIRCLE_LOCAL_REAL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  stack = await startStackProcess({}, ['--only', 'stripe']);
}, 240_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

describe('Local stack: Stripe sandbox', () => {
  it('says Stripe talks to its sandbox', async () => {
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      connectors: { connector: string; kind: string }[];
    };
    expect(health.connectors.find((reach) => reach.connector === 'stripe')?.kind).toBe('sandbox');
  });

  it('runs the README examples as written', async () => {
    // Act
    const found = await post('/stripe/search-customers', { query: "email:'jenny.rosen@example.com'" });
    const paid = await post(
      '/stripe/create-payment-intent',
      {
        amount: 2500,
        currency: 'usd',
        customerId: 'cus_SandboxJenny',
        paymentMethod: 'pm_card_visa',
        confirm: true,
        metadata: { order_id: '1003' },
      },
      'order-1003',
    );
    const replayed = await post(
      '/stripe/create-payment-intent',
      {
        amount: 2500,
        currency: 'usd',
        customerId: 'cus_SandboxJenny',
        paymentMethod: 'pm_card_visa',
        confirm: true,
        metadata: { order_id: '1003' },
      },
      'order-1003',
    );
    const captured = await post('/stripe/capture-payment-intent', {
      paymentIntentId: 'pi_SandboxCapture',
      amountToCapture: 4000,
    });
    const listed = await post('/stripe/list-payment-intents', { customerId: 'cus_SandboxJenny', limit: 2 });
    const refunded = await post('/stripe/create-refund', {
      paymentIntentId: 'pi_SandboxSucceeded',
      amount: 500,
    });
    const invoice = await post('/stripe/get-invoice', { invoiceId: 'in_SandboxDraft' });
    const declined = await post('/stripe/create-payment-intent', {
      amount: 1000,
      currency: 'usd',
      paymentMethod: 'pm_card_chargeDeclined',
      confirm: true,
    });

    // Assess
    expect(found.body['items']).toEqual([expect.objectContaining({ id: 'cus_SandboxJenny' })]);
    expect(paid).toMatchObject({ status: 200, body: { status: 'succeeded', amountReceived: 2500 } });
    expect(replayed.body['id']).toBe(paid.body['id']);
    expect(captured.body).toMatchObject({ status: 'succeeded', amountReceived: 4000 });
    expect(listed.body['items']).toHaveLength(2);
    expect(listed.body['nextCursor']).toEqual(expect.stringMatching(/^pi_/));
    expect(refunded.body).toMatchObject({ amount: 500, status: 'succeeded' });
    expect(invoice.body).toMatchObject({ status: 'draft', amountDue: 2500 });
    expect(declined.status).toBe(400);
  });

  it('accepts a webhook signed by the stripe package once, and refuses tampered, stale and unsigned ones', async () => {
    // Prepare
    const id = `evt_${randomUUID().replaceAll('-', '')}`;
    const body = JSON.stringify({
      id,
      object: 'event',
      type: 'payment_intent.succeeded',
      data: { object: { id: 'pi_SandboxSucceeded', object: 'payment_intent', status: 'succeeded' } },
    });
    const stale = Math.floor(Date.now() / 1000) - 301;

    // Act
    const accepted = await webhook(body, sign(body));
    const redelivered = await webhook(body, sign(body));
    const tampered = await webhook(body.replace('succeeded', 'canceled'), sign(body));
    const old = await webhook(body, sign(body, stale));
    const unsigned = await webhook(body, undefined);

    // Assess
    expect(accepted).toMatchObject({
      status: 202,
      body: { accepted: true, event: 'payment-intent-succeeded', deliveryId: id },
    });
    expect(redelivered).toMatchObject({ status: 200, body: { duplicate: true } });
    expect([tampered.status, old.status, unsigned.status]).toEqual([401, 401, 401]);
  });

  it('accepts an event that arrives after a later change (out of order) as a new delivery', async () => {
    // Prepare: the intent is canceled first; its "created" event arrives afterwards.
    const canceled = await post('/stripe/cancel-payment-intent', { paymentIntentId: 'pi_SandboxOpen' });
    const id = `evt_${randomUUID().replaceAll('-', '')}`;
    const late = JSON.stringify({
      id,
      object: 'event',
      type: 'payment_intent.created',
      data: { object: { id: 'pi_SandboxOpen', object: 'payment_intent', status: 'requires_payment_method' } },
    });

    // Act
    const accepted = await webhook(late, sign(late));

    // Assess (the handed-on `current` is checked in webhook.test.ts, where the sink can be read)
    expect(canceled.body['status']).toBe('canceled');
    expect(accepted).toMatchObject({ status: 202, body: { deliveryId: id } });
  });
});
