/**
 * The Shopify webhook receiver on its own: a client secret rotation, during which Shopify's guide asks
 * receivers to accept webhooks signed with the new and with the old client secret until the old one is
 * revoked (https://shopify.dev/docs/apps/build/authentication-authorization/client-secrets/rotate-revoke-client-credentials).
 */
import { createHmac, randomUUID } from 'node:crypto';
import {
  createLogger,
  type EventReceiving,
  MemoryDeliveryLedger,
  type Secret,
  type WebhookEvent,
} from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { receiveShopifyWebhook } from './webhook.ts';

const NEW_SECRET = 'shpss_newclientsecret0000000000000';
const OLD_SECRET = 'shpss_oldclientsecret0000000000000';
const logger = createLogger('shopify', 'test');
const body = JSON.stringify({ id: 5001, admin_graphql_api_id: 'gid://shopify/Order/5001' });

function receiverWith(secretText: string, published: WebhookEvent[]) {
  const ledger = new MemoryDeliveryLedger();
  const receiving = {
    ledger,
    requireLedger: () => ledger,
    sinkOr: () => ({
      name: 'memory',
      durable: true,
      publish: async (event: WebhookEvent) => void published.push(event),
    }),
  } as unknown as EventReceiving;
  return { secret: { name: 'test', text: async () => secretText } as unknown as Secret, receiving };
}

function signedBy(key: string) {
  return {
    method: 'POST',
    path: '/shopify/webhook',
    headers: {
      'content-type': 'application/json',
      'x-shopify-hmac-sha256': createHmac('sha256', key).update(body).digest('base64'),
      'x-shopify-event-id': randomUUID(),
      'x-shopify-topic': 'orders/paid',
    },
    query: {},
    rawBody: Buffer.from(body),
    correlationId: randomUUID(),
  };
}

describe('Function: receiveShopifyWebhook', () => {
  it('accepts webhooks signed with the new or the old client secret while the secret holds both (one per line)', async () => {
    // Prepare
    const published: WebhookEvent[] = [];
    const receiver = receiverWith(`${NEW_SECRET}\n${OLD_SECRET}\n`, published);

    // Act
    const answers = await Promise.all(
      [NEW_SECRET, OLD_SECRET, 'shpss_someoneelse'].map((key) =>
        receiveShopifyWebhook(signedBy(key), receiver, logger).catch((error: { status: number }) => error),
      ),
    );

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 401]);
    expect(published).toHaveLength(2);
  });

  it('accepts only the one client secret when the secret holds one', async () => {
    // Prepare
    const published: WebhookEvent[] = [];
    const receiver = receiverWith(NEW_SECRET, published);

    // Act
    const answers = await Promise.all(
      [NEW_SECRET, OLD_SECRET].map((key) =>
        receiveShopifyWebhook(signedBy(key), receiver, logger).catch((error: { status: number }) => error),
      ),
    );

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([202, 401]);
  });
});
