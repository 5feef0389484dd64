/**
 * The `order-fulfilment` workflow end to end on the local stack (as `npm start` runs it): a payment made in
 * the Stripe contract fake, its `payment_intent.succeeded` event signed with the `stripe` package's own
 * test-header helper and sent to the Stripe connector's webhook route, which starts the workflow
 * (`stripe-<evt id>`); the Shopify order (in the Shopify contract fake) marked paid and fulfilled, the
 * receipt captured by the stack's SES, the message in the Slack fake. Redelivered, late and out-of-order
 * events change nothing twice; a full refund cancels the order and its fulfilment. The two fakes are
 * started here (not by the stack) so each test seeds orders of its own and reads their state directly.
 */
import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../../scripts/local/sandboxes/kit/index.ts';
import {
  addShopifyOrder,
  SHOPIFY_SANDBOX_TOKEN,
  type ShopifyFakeState,
  startShopifyFake,
} from '../../scripts/local/sandboxes/shopify.ts';
import {
  STRIPE_SANDBOX_TOKEN,
  type StripeFakeState,
  startStripeFake,
} from '../../scripts/local/sandboxes/stripe.ts';
import { executionArn, finished, runWorkflow, startWorkflowWorld, type WorkflowWorld } from './harness.ts';

const WEBHOOK_SECRET = `whsec_${randomUUID().replaceAll('-', '')}`;
const stripe = new Stripe('sk_test_unused');

let world: WorkflowWorld;
let stripeFake: FakeServer<StripeFakeState>;
let shopifyFake: FakeServer<ShopifyFakeState>;

type Json = Record<string, unknown>;

/** A payment for `orderId` in the Stripe fake, confirmed at once (it succeeds): the payment intent. */
async function pay(orderId: string, amount: number): Promise<Json> {
  return stripeCall('/v1/payment_intents', {
    amount: String(amount),
    currency: 'usd',
    confirm: 'true',
    payment_method: 'pm_card_visa',
    'metadata[shopify_order_id]': orderId,
  });
}

async function stripeCall(path: string, form: Record<string, string>): Promise<Json> {
  const response = await fetch(`${stripeFake.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${STRIPE_SANDBOX_TOKEN}`,
      'content-type': 'application/x-www-form-urlencoded',
      'idempotency-key': randomUUID(),
    },
    body: new URLSearchParams(form).toString(),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Json;
}

/** The event the Stripe fake recorded for `objectId` of `type` (as Stripe would send it). */
function recordedEvent(type: string, objectId: string): Json {
  const found = [...stripeFake.state.events.values()].find(
    (event) => event['type'] === type && (event['data'] as { object: { id: string } }).object.id === objectId,
  );
  if (found === undefined) throw new Error(`the Stripe fake recorded no ${type} for ${objectId}`);
  return found;
}

/** The same event under another id: what a late or repeated notification of the same change looks like. */
function sameChangeNewEvent(event: Json): Json {
  return { ...structuredClone(event), id: `evt_${randomUUID().replaceAll('-', '')}` };
}

/** Sends `event` to the Stripe connector's webhook route, signed with the stripe package's test helper. */
async function deliver(event: Json): Promise<{ status: number; body: Json }> {
  const payload = JSON.stringify(event);
  const header = stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
  const response = await fetch(`${world.stack.apiUrl}/stripe/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'stripe-signature': header },
    body: payload,
  });
  return { status: response.status, body: (await response.json()) as Json };
}

/** Delivers `event` and waits for the execution it starts; answers its status and output. */
async function deliverAndRun(event: Json): Promise<{ status: string | undefined; output: Json }> {
  const delivered = await deliver(event);
  expect(delivered).toMatchObject({ status: 202, body: { accepted: true, deliveryId: event['id'] } });
  const done = await finished(
    world,
    executionArn('order-fulfilment', `stripe-${String(event['id'])}`),
    120_000,
  );
  return { status: done.status, output: done.output === undefined ? {} : (JSON.parse(done.output) as Json) };
}

function order(id: string): Json {
  const row = shopifyFake.state.orders.find((candidate) => candidate.id === id);
  if (row === undefined) throw new Error(`no order ${id}`);
  return row;
}

const activeFulfilments = (id: string) =>
  (order(id)['fulfillments'] as Json[]).filter((fulfilment) => fulfilment['status'] === 'SUCCESS');

/** Shopify mutations the fake ran on `orderId` (by the mutation's name). */
function mutations(name: string, orderId: string): number {
  return shopifyFake.logFor('graphql').filter((entry) => {
    const body = entry.body as { query?: string; variables?: unknown } | undefined;
    return (
      entry.status === 200 &&
      String(body?.query).includes(`${name}(`) &&
      JSON.stringify(body?.variables).includes(orderId)
    );
  }).length;
}

/** The mail the stack's SES captured for `to`. */
async function mailTo(to: string): Promise<{ subject: string; to: string[] }[]> {
  const response = await fetch(`${world.stack.awsUrl}/_local/ses/messages`);
  const { messages } = (await response.json()) as { messages: { subject: string; to: string[] }[] };
  return messages.filter((message) => message.to.includes(to));
}

function slackPostsNaming(text: string): string[] {
  return world.slack
    .requestsFor('chat.postMessage')
    .map((request) => String(request.args['text'] ?? ''))
    .filter((posted) => posted.includes(text));
}

beforeAll(async () => {
  for (const name of ['STRIPE_API_URL', 'SHOPIFY_API_URL', 'CIRCLE_LOCAL_REAL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  [stripeFake, shopifyFake] = await Promise.all([startStripeFake(), startShopifyFake()]);
  world = await startWorkflowWorld({
    env: { STRIPE_API_URL: `${stripeFake.url}/v1`, SHOPIFY_API_URL: `${shopifyFake.url}/admin/api` },
    secrets: {
      'stripe/api-key': STRIPE_SANDBOX_TOKEN,
      'stripe/webhook-secret': WEBHOOK_SECRET,
      'shopify/access-token': SHOPIFY_SANDBOX_TOKEN,
      'shopify/webhook-secret': 'shopify-unused',
    },
  });
}, 300_000);

afterAll(async () => {
  await world?.close();
  await Promise.all([stripeFake?.close(), shopifyFake?.close()]);
});

describe('Workflow order-fulfilment on the local stack', () => {
  it('marks the order paid, fulfils it, emails one receipt and posts once; a redelivery and a late copy change nothing', async () => {
    // Prepare
    const email = `buyer-${randomUUID()}@example.com`;
    const orderId = addShopifyOrder(shopifyFake.state, { email, total: '20.00' });
    const name = String(order(orderId)['name']);
    const intent = await pay(orderId, 2000);
    const event = recordedEvent('payment_intent.succeeded', String(intent['id']));

    // Act
    const first = await deliverAndRun(event);
    const redelivered = await deliver(event);
    const late = await deliverAndRun(sameChangeNewEvent(event));

    // Assess: the first run did everything, once
    expect(first).toMatchObject({
      status: 'SUCCEEDED',
      output: {
        outcome: 'fulfilled',
        paymentIntentId: intent['id'],
        orderId,
        report: { paid: 'marked paid', fulfilment: expect.stringMatching(/^fulfilled \(gid:/) },
        slack: { delivered: true },
      },
    });
    // Stripe's redelivery of the same event is answered as a duplicate and starts nothing.
    expect(redelivered).toMatchObject({ status: 200, body: { duplicate: true } });
    // The same change under a new event id runs, sees the order paid and fulfilled, and does nothing.
    expect(late).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'unchanged', orderId } });
    expect(order(orderId)).toMatchObject({
      displayFinancialStatus: 'PAID',
      displayFulfillmentStatus: 'FULFILLED',
    });
    expect(activeFulfilments(orderId)).toHaveLength(1);
    expect(mutations('orderMarkAsPaid', orderId)).toBe(1);
    const mail = await mailTo(email);
    expect(mail).toEqual([expect.objectContaining({ subject: `Your receipt for order ${name}` })]);
    expect(slackPostsNaming(`Order ${name} `)).toEqual([
      expect.stringContaining(
        `paid with Stripe payment ${String(intent['id'])} (20.00 USD): marked paid, fulfilled`,
      ),
    ]);
  }, 300_000);

  it('cancels the order on a full refund (its fulfilment too) and posts once; a second refund event changes nothing', async () => {
    // Prepare: a fulfilled order
    const email = `buyer-${randomUUID()}@example.com`;
    const orderId = addShopifyOrder(shopifyFake.state, { email, total: '35.00' });
    const name = String(order(orderId)['name']);
    const intent = await pay(orderId, 3500);
    await deliverAndRun(recordedEvent('payment_intent.succeeded', String(intent['id'])));
    const refund = await stripeCall('/v1/refunds', { payment_intent: String(intent['id']) });
    const refundEvent = recordedEvent('refund.created', String(refund['id']));

    // Act
    const reversed = await deliverAndRun(refundEvent);
    const again = await deliverAndRun(sameChangeNewEvent({ ...refundEvent, type: 'charge.refunded' }));

    // Assess
    expect(reversed).toMatchObject({
      status: 'SUCCEEDED',
      output: { outcome: 'reversed', orderId, reversal: { cancelledFulfillments: [expect.any(String)] } },
    });
    expect(again).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'unchanged' } });
    expect(order(orderId)).toMatchObject({ cancelledAt: expect.any(String), cancelReason: 'CUSTOMER' });
    expect(activeFulfilments(orderId)).toHaveLength(0);
    expect(mutations('orderCancel', orderId)).toBe(1);
    expect(slackPostsNaming(`Order ${name} refunded`)).toHaveLength(1);
    expect(await mailTo(email)).toHaveLength(1);
  }, 300_000);

  it('out of order: a refund before the payment event cancels the unpaid order, and the late payment event fulfils nothing', async () => {
    // Prepare: paid and fully refunded in Stripe before any event arrives
    const email = `buyer-${randomUUID()}@example.com`;
    const orderId = addShopifyOrder(shopifyFake.state, { email, total: '15.00' });
    const name = String(order(orderId)['name']);
    const intent = await pay(orderId, 1500);
    const refund = await stripeCall('/v1/refunds', { payment_intent: String(intent['id']) });
    const succeeded = recordedEvent('payment_intent.succeeded', String(intent['id']));
    const refunded = recordedEvent('refund.created', String(refund['id']));

    // Act: the refund first, then the (older) payment event
    const first = await deliverAndRun(refunded);
    const late = await deliverAndRun(succeeded);

    // Assess: cancelled, never paid, fulfilled or emailed; one Slack message (the reversal)
    expect(first).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'reversed', orderId } });
    expect(late).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'unchanged', orderId } });
    expect(order(orderId)).toMatchObject({
      displayFinancialStatus: 'PENDING',
      displayFulfillmentStatus: 'UNFULFILLED',
      cancelledAt: expect.any(String),
    });
    expect(order(orderId)['fulfillments']).toEqual([]);
    expect(mutations('orderMarkAsPaid', orderId)).toBe(0);
    expect(await mailTo(email)).toEqual([]);
    expect(slackPostsNaming(`Order ${name} `)).toEqual([expect.stringContaining('refunded in Stripe')]);
  }, 300_000);

  it('out of order: an old payment event for a payment now refunded cancels instead of fulfilling', async () => {
    // Prepare
    const email = `buyer-${randomUUID()}@example.com`;
    const orderId = addShopifyOrder(shopifyFake.state, { email, total: '50.00' });
    const intent = await pay(orderId, 5000);
    await stripeCall('/v1/refunds', { payment_intent: String(intent['id']) });

    // Act: only the payment event arrives (the refund's is still on its way)
    const result = await deliverAndRun(recordedEvent('payment_intent.succeeded', String(intent['id'])));

    // Assess
    expect(result).toMatchObject({ status: 'SUCCEEDED', output: { outcome: 'reversed', orderId } });
    expect(order(orderId)).toMatchObject({
      displayFinancialStatus: 'PENDING',
      cancelledAt: expect.any(String),
    });
    expect(order(orderId)['fulfillments']).toEqual([]);
    expect(await mailTo(email)).toEqual([]);
  }, 300_000);

  it('keeps going when SES refuses the receipt: paid, fulfilled, and Slack says the receipt was not sent', async () => {
    // Prepare: an address outside the verified identities (the local account is in the SES sandbox)
    const email = `buyer-${randomUUID()}@unverified.invalid`;
    const orderId = addShopifyOrder(shopifyFake.state, { email, total: '20.00' });
    const name = String(order(orderId)['name']);
    const intent = await pay(orderId, 2000);

    // Act
    const result = await deliverAndRun(recordedEvent('payment_intent.succeeded', String(intent['id'])));

    // Assess
    expect(result).toMatchObject({
      status: 'SUCCEEDED',
      output: {
        outcome: 'fulfilled',
        report: { receipt: expect.stringMatching(/^receipt NOT sent \(\w+Error\)$/) },
      },
    });
    expect(activeFulfilments(orderId)).toHaveLength(1);
    expect(slackPostsNaming(`Order ${name} `)).toEqual([expect.stringContaining('receipt NOT sent')]);
  }, 300_000);

  it('reports a Shopify failure in the alerts channel and fails with its error; nothing after it runs', async () => {
    // Prepare: a payment naming an order Shopify does not have
    const orderId = 'gid://shopify/Order/404404';
    const intent = await pay(orderId, 2000);
    const event = recordedEvent('payment_intent.succeeded', String(intent['id']));
    const alertsBefore = slackPostsNaming(String(event['id'])).length;

    // Act
    const delivered = await deliver(event);
    const done = await finished(
      world,
      executionArn('order-fulfilment', `stripe-${String(event['id'])}`),
      120_000,
    );

    // Assess
    expect(delivered.status).toBe(202);
    expect(done).toMatchObject({ status: 'FAILED', error: 'NotFoundError' });
    expect(slackPostsNaming(String(event['id'])).slice(alertsBefore)).toEqual([
      expect.stringContaining(`order-fulfilment failed for Stripe event ${String(event['id'])}`),
    ]);
    expect(mutations('orderMarkAsPaid', orderId)).toBe(0);
  }, 300_000);

  it('fails a bad input with ValidationError naming the field, before any task', async () => {
    // Act
    const result = await runWorkflow(world, 'order-fulfilment', {
      event: 'payment_intent.succeeded',
      deliveryId: 'evt_bad',
      correlationId: 'corr-bad',
      payload: { id: 'evt_bad', type: 'payment_intent.succeeded', data: { object: { id: 42 } } },
    });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.stderr).toContain('error: ValidationError');
    expect(result.stderr).toContain('cause: input.payload.data.object.id must be a non-empty string');
  }, 120_000);
});
